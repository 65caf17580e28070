"""Migrations upgrade, downgrade and upgrade again, and never drift from the models."""

from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from app.core.db import sync_url
from app.db_models import Base
from tests.database import BACKENDS, PG_URL, alembic_config, drop_postgres_database, make_database


@pytest.fixture(params=BACKENDS)
def scratch_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    backend: str = request.param
    url = make_database(backend, tmp_path_factory.mktemp(f"migrations-{backend}"))
    yield url
    if backend == "postgresql":
        assert PG_URL is not None
        drop_postgres_database(PG_URL, url)


def sync_engine(url: str) -> Engine:
    return create_engine(sync_url(url), poolclass=NullPool)


def test_upgrade_downgrade_upgrade(scratch_url: str) -> None:
    config = alembic_config(scratch_url)
    command.upgrade(config, "head")
    engine = sync_engine(scratch_url)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables

    command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

    command.upgrade(config, "head")
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_models_and_migrations_do_not_drift(scratch_url: str) -> None:
    command.upgrade(alembic_config(scratch_url), "head")
    engine = sync_engine(scratch_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == [], f"models differ from migrations; add a migration: {differences}"
