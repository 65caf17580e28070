"""Empty, migrated databases of their own for tests that bulk-load and commit (the shared
test database runs every test inside a rolled-back transaction, which a bulk load cannot)."""

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.core.db import sync_url

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


def migrate(url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def _admin(statement: str) -> None:
    assert PG_URL is not None
    engine = create_engine(sync_url(PG_URL), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


@contextmanager
def database_factory(backend: str, directory: Path) -> Iterator[Callable[[], str]]:
    """A function that makes a new empty migrated database on `backend` and returns its
    URL; every database it made is dropped on exit."""
    made: list[str] = []

    def new_database() -> str:
        name = f"tracker_gen_{uuid.uuid4().hex[:12]}"
        if backend == "postgresql":
            assert PG_URL is not None
            _admin(f'CREATE DATABASE "{name}"')
            url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        else:
            url = f"sqlite:///{directory / (name + '.db')}"
        made.append(url)
        migrate(url)
        return url

    try:
        yield new_database
    finally:
        if backend == "postgresql":
            for url in made:
                _admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
