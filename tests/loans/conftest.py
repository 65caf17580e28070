"""Loan API tests run with "today" frozen, so that every as-of figure is exact."""

from collections.abc import Callable, Iterator
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.users.models import User
from tests.helpers import Api
from tests.loans.factories import TODAY, LoanWorld, make_world


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: pytest.MonkeyPatch) -> Iterator[date]:
    monkeypatch.setattr(Settings, "today", lambda _self: TODAY)
    yield TODAY


@pytest.fixture
async def world(session: AsyncSession) -> LoanWorld:
    created = await make_world(session)
    await session.commit()
    return created


# The loan tests' usual callers, one per role of `world` (built on the shared `as_user`).
@pytest.fixture
def as_admin(as_user: Callable[[User], Api], world: LoanWorld) -> Api:
    return as_user(world.admin)


@pytest.fixture
def as_manager(as_user: Callable[[User], Api], world: LoanWorld) -> Api:
    return as_user(world.manager)


@pytest.fixture
def as_adviser(as_user: Callable[[User], Api], world: LoanWorld) -> Api:
    return as_user(world.adviser)


@pytest.fixture
def as_viewer(as_user: Callable[[User], Api], world: LoanWorld) -> Api:
    return as_user(world.viewer)
