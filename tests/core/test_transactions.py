"""A request's transaction is committed before its response is sent."""

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.core.config import Settings
from tests.helpers import auth
from tests.users.factories import make_user

BODY = {
    "code": "TNG-01",
    "name": "Tanger",
    "kind": "other",
    "region": "tanger_tetouan_al_hoceima",
    "city": "Tanger",
}


async def test_failed_commit_gives_an_error_response_not_201(
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = await make_user(session, role="admin")
    await session.commit()

    async def failing_commit(self: AsyncSession) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk full"))

    monkeypatch.setattr(AsyncSession, "commit", failing_commit)
    response = await client.post("/api/v1/centres", headers=auth(admin, settings), json=BODY)
    monkeypatch.undo()

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    count = (
        await session.execute(select(func.count(Centre.id)).where(Centre.code == "TNG-01"))
    ).scalar_one()
    assert count == 0


async def test_error_after_a_write_rolls_the_write_back(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await make_user(session, role="admin")
    await session.commit()
    created = await client.post("/api/v1/centres", headers=auth(admin, settings), json=BODY)
    assert created.status_code == 201
    # Renaming to a code that exists fails after the row was loaded: nothing is half-saved.
    other = await client.post(
        "/api/v1/centres", headers=auth(admin, settings), json=BODY | {"code": "TNG-02"}
    )
    conflict = await client.patch(
        f"/api/v1/centres/{other.json()['id']}",
        headers=auth(admin, settings),
        json={"code": "TNG-01", "city": "Assilah"},
    )
    assert conflict.status_code == 409
    reread = await client.get(
        f"/api/v1/centres/{other.json()['id']}", headers=auth(admin, settings)
    )
    assert reread.json()["city"] == "Tanger"
    assert reread.json()["version"] == 1
