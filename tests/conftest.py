"""Test databases: SQLite always, PostgreSQL too when TEST_DATABASE_URL is set.

Each backend gets a database of its own, built by `alembic upgrade head` once per run;
each test runs inside a transaction that is rolled back, the app's requests joining it
through savepoints.
"""

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.pool import NullPool

from app.core.config import Settings
from app.core.db import create_engine as create_async_db_engine
from app.core.db import create_sessionmaker, sync_url
from app.main import create_app

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


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    backend: str = request.param
    url = make_database(backend, tmp_path_factory.mktemp(backend))
    command.upgrade(alembic_config(url), "head")
    yield url
    if backend == "postgresql":
        assert PG_URL is not None
        drop_postgres_database(PG_URL, url)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        environment="development",
        database_url=database_url,
        secret_key="test-secret-key-that-is-long-enough-for-hs256",
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_async_db_engine(settings.database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        if transaction.is_active:
            await transaction.rollback()


@pytest.fixture
async def session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """A session for arranging data and checking results, inside the test's transaction."""
    maker = create_sessionmaker(connection, join_transaction_mode="create_savepoint")
    async with maker() as session:
        yield session


@pytest.fixture
def app(settings: Settings, connection: AsyncConnection) -> FastAPI:
    application = create_app(settings)
    application.state.sessionmaker = create_sessionmaker(
        connection, join_transaction_mode="create_savepoint"
    )
    # The database was migrated to head above; the per-period schema check would add
    # statements to whichever request comes first (tests/faults covers the check).
    application.state.schema_check.good_until = float("inf")
    return application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=app)
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def backend(database_url: str) -> str:
    return make_url(database_url).get_backend_name()
