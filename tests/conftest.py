"""Test databases: SQLite always, PostgreSQL too when TEST_DATABASE_URL is set.

Each backend gets a database of its own, built by `alembic upgrade head` once per run;
each test runs inside a transaction that is rolled back, the app's requests joining it
through savepoints.
"""

from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from alembic import command
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.core.config import Settings
from app.core.db import create_engine as create_async_db_engine
from app.core.db import create_sessionmaker
from app.main import create_app
from app.users.models import User
from tests.database import BACKENDS, PG_URL, alembic_config, drop_postgres_database, make_database
from tests.helpers import Api


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
    # The test database was built by `alembic upgrade head`: its schema check is settled,
    # so that no request pays for it at a moment that depends on the clock (tests that
    # count a request's statements would otherwise see it on the first request only).
    # tests/faults/ builds its own applications to test the guard itself.
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


@pytest.fixture
def as_user(client: AsyncClient, settings: Settings) -> Callable[[User], Api]:
    """The client acting as one user: `api = as_user(adviser)`, then `await api.get(url)`;
    every request carries that user's bearer token."""

    def acting_as(user: User) -> Api:
        return Api(client, user, settings)

    return acting_as
