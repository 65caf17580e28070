import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from tests.followups.world import World, build_world


@pytest.fixture
async def world(session: AsyncSession, settings: Settings) -> World:
    return await build_world(session, settings)
