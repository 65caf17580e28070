"""Test databases: SQLite always, PostgreSQL too when TEST_DATABASE_URL is set; each built
by `alembic upgrade head` (tests/conftest.py), or by a test that needs one of its own."""

import os
import uuid
from pathlib import Path

import pytest
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.core.db import sync_url

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    return config


def create_postgres_database(base_url: str) -> str:
    """A fresh database on the server of `base_url`; fails loudly when it is unreachable."""
    name = f"tracker_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(sync_url(base_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # a CI run must fail, never skip, without PostgreSQL
        pytest.exit(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {exc}", returncode=3)
    finally:
        admin.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(base_url: str, url: str) -> None:
    name = make_url(url).database
    admin = create_engine(sync_url(base_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def make_database(backend: str, tmp_dir: Path) -> str:
    if backend == "postgresql":
        assert PG_URL is not None
        return create_postgres_database(PG_URL)
    return f"sqlite:///{tmp_dir / 'tracker.db'}"
