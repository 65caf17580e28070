"""Import tests run with "today" frozen and the templates' example world in place."""

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from tests.imports.factories import ImportWorld, make_import_world

TODAY = date(2025, 6, 30)


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: pytest.MonkeyPatch) -> Iterator[date]:
    monkeypatch.setattr(Settings, "today", lambda _self: TODAY)
    yield TODAY


@pytest.fixture
async def world(session: AsyncSession) -> ImportWorld:
    created = await make_import_world(session)
    await session.commit()
    return created
