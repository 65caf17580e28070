import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from tests.sync.factories import Api, FieldWorld, make_field_world


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
