"""Loan API tests run with "today" frozen, so that every as-of figure is exact."""

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.users.models import User
from tests.factories import auth
from tests.loans.factories import LoanWorld, make_world

TODAY = date(2025, 6, 30)


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: pytest.MonkeyPatch) -> Iterator[date]:
    monkeypatch.setattr(Settings, "today", lambda _self: TODAY)
    yield TODAY


@pytest.fixture
async def world(session: AsyncSession) -> LoanWorld:
    created = await make_world(session)
    await session.commit()
    return created


class Api:
    """The test client with one user's bearer token."""

    def __init__(self, client: AsyncClient, user: User, settings: Settings) -> None:
        self.client = client
        self.headers = auth(user, settings)

    async def get(self, url: str, **params: Any) -> Any:
        return await self.client.get(url, params=params, headers=self.headers)

    async def post(self, url: str, body: Any = None, **headers: str) -> Any:
        return await self.client.post(url, json=body, headers={**self.headers, **headers})

    async def patch(self, url: str, body: Any, **headers: str) -> Any:
        return await self.client.patch(url, json=body, headers={**self.headers, **headers})


@pytest.fixture
def as_admin(client: AsyncClient, world: LoanWorld, settings: Settings) -> Api:
    return Api(client, world.admin, settings)


@pytest.fixture
def as_manager(client: AsyncClient, world: LoanWorld, settings: Settings) -> Api:
    return Api(client, world.manager, settings)


@pytest.fixture
def as_adviser(client: AsyncClient, world: LoanWorld, settings: Settings) -> Api:
    return Api(client, world.adviser, settings)


@pytest.fixture
def as_viewer(client: AsyncClient, world: LoanWorld, settings: Settings) -> Api:
    return Api(client, world.viewer, settings)


def error_fields(body: dict[str, Any]) -> list[str]:
    return [error["field"] for error in body.get("errors", [])]
