"""Helpers every test area shares: bearer headers, a client acting as one user, the
fields a problem response names, and a loan's live repayments as the API lists them. Factories live in each domain's `factories.py`."""

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.core.security import create_access_token
from app.users.models import User

_counter = itertools.count(1)


def unique() -> int:
    """A number never returned before in this run: unique codes, names and CINs."""
    return next(_counter)


def auth(user: User, settings: Settings) -> dict[str, str]:
    """The `Authorization` header of a valid bearer token for `user`."""
    token, _ = create_access_token(user.id, settings.signing_key, settings.access_token_minutes)
    return {"Authorization": f"Bearer {token}"}


def error_fields(response: Response) -> list[str]:
    """The fields a problem response names, in order; fails when it names none."""
    body = response.json()
    errors = body.get("errors")
    assert isinstance(errors, list), body
    return [error["field"] for error in errors]


class Api:
    """The test client acting as one user (its bearer token on every request)."""

    def __init__(self, client: AsyncClient, user: User, settings: Settings) -> None:
        self.client = client
        self.user = user
        self.headers = auth(user, settings)

    async def get(self, url: str, **params: Any) -> Response:
        return await self.client.get(url, params=params, headers=self.headers)

    async def post(self, url: str, body: Any = None, **headers: str) -> Response:
        return await self.client.post(url, json=body, headers={**self.headers, **headers})

    async def patch(self, url: str, body: Any, **headers: str) -> Response:
        return await self.client.patch(url, json=body, headers={**self.headers, **headers})


@contextmanager
def recorded_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement sent to the database while the block runs."""
    statements: list[str] = []

    def record(
        _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def selects(statements: list[str]) -> list[str]:
    """The SELECT statements (leaving out BEGIN, SAVEPOINT and RELEASE)."""
    return [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]


async def live_repayments(
    client: AsyncClient, loan_id: int, headers: dict[str, str]
) -> list[dict[str, Any]]:
    """The loan's repayments that are not reversed, as `GET /loans/{id}/transactions`
    lists them (its first 500 transactions)."""
    history = await client.get(
        f"/api/v1/loans/{loan_id}/transactions", params={"limit": 500}, headers=headers
    )
    assert history.status_code == 200, history.text
    return [
        item
        for item in history.json()["items"]
        if item["kind"] == "repayment" and not item["reversed"]
    ]
