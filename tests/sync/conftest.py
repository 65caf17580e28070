import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.main import create_app
from tests.helpers import Api
from tests.sync.factories import (
    SECRET_KEY,
    FieldWorld,
    LiveApp,
    drop_database,
    make_field_world,
    migrated_database,
)


@pytest.fixture
async def world(session: AsyncSession) -> FieldWorld:
    created = await make_field_world(session)
    await session.commit()
    return created


@pytest.fixture
def as_adviser(client: AsyncClient, world: FieldWorld, settings: Settings) -> Api:
    return Api(client, world.adviser, settings)


@pytest.fixture
def as_manager(client: AsyncClient, world: FieldWorld, settings: Settings) -> Api:
    return Api(client, world.manager, settings)


@pytest.fixture(scope="module")
async def live_postgres(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveApp]:
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL); SQLite serialises every write")
    url = await asyncio.to_thread(migrated_database, "postgresql", tmp_path_factory.mktemp("pg"))
    try:
        settings = Settings(environment="development", database_url=url, secret_key=SECRET_KEY)
        app = create_app(settings)
        yield LiveApp(app, app.state.sessionmaker, settings)
        await app.state.engine.dispose()
    finally:
        drop_database(url)
