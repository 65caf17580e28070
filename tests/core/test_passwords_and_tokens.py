"""Password policy (NIST SP 800-63B), no trimming, tokens that end with the password, and
logins refused up front when their input is too long to be real."""

from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.users.models import LoginAttempt
from app.users.passwords import common_passwords, password_problem
from tests.centres.factories import make_centre
from tests.helpers import auth
from tests.users.factories import PASSWORD, make_user

NEW_PASSWORD = "tagine au citron 2026"


@pytest.mark.parametrize(
    "password",
    [
        "1234567890",
        "password12",
        "PASSWORD12",
        "qwertyuiop",
        "dragon2026!",
        "aaaaaaaaaaaa",
        "salma.bennani@centre.ma",
        "SALMA.BENNANI",
        "Salma Bennani",
        "short",
        "x" * 129,
    ],
)
def test_weak_passwords_are_refused(password: str) -> None:
    assert password_problem(password, email="salma.bennani@centre.ma", full_name="Salma Bennani")


@pytest.mark.parametrize(
    "password", ["correct-horse-battery", NEW_PASSWORD, "  spaces around  ", "مرحبا بكم في المركز"]
)
def test_long_uncommon_passwords_are_accepted(password: str) -> None:
    assert password_problem(password, email="salma@centre.ma", full_name="Salma Bennani") is None


def test_the_shipped_list_holds_the_top_ten_thousand() -> None:
    common = common_passwords()
    assert len(common) == 10_000
    assert {"123456", "password", "1234567890", "iloveyou"} <= common


async def test_creating_a_user_with_a_weak_password_is_422_naming_it(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await make_user(session, role="admin")
    await session.commit()
    for password in ("1234567890", "password12", "nour@centre.ma"):
        response = await client.post(
            "/api/v1/users",
            json={
                "email": "nour@centre.ma",
                "full_name": "Nour",
                "password": password,
                "role": "viewer",
            },
            headers=auth(admin, settings),
        )
        assert response.status_code == 422, password
        assert response.json()["errors"][0]["field"] == "password"


async def login(client: AsyncClient, email: str, password: str) -> Any:
    return await client.post("/api/v1/auth/token", data={"username": email, "password": password})


async def test_passwords_are_never_trimmed(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await make_user(session, role="admin")
    await session.commit()
    created = await client.post(
        "/api/v1/users",
        json={
            "email": "imane@centre.ma",
            "full_name": "Imane",
            "password": "  spaces around  ",
            "role": "viewer",
        },
        headers=auth(admin, settings),
    )
    assert created.status_code == 201, created.text
    assert (await login(client, "imane@centre.ma", "spaces around")).status_code == 401
    assert (await login(client, "imane@centre.ma", "  spaces around  ")).status_code == 200


async def test_changing_ones_password_ends_the_tokens_issued_before(
    client: AsyncClient, session: AsyncSession
) -> None:
    centre = await make_centre(session)
    user = await make_user(session, role="adviser", centre=centre, email="hamza@centre.ma")
    await session.commit()
    old = (await login(client, "hamza@centre.ma", PASSWORD)).json()["access_token"]
    old_headers = {"Authorization": f"Bearer {old}"}

    weak = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "password12"},
        headers=old_headers,
    )
    assert weak.status_code == 422
    assert weak.json()["errors"][0]["field"] == "new_password"
    wrong = await client.post(
        "/api/v1/auth/password",
        json={"current_password": "not-the-password", "new_password": NEW_PASSWORD},
        headers=old_headers,
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "current_password"
    assert (await client.get("/api/v1/auth/me", headers=old_headers)).status_code == 200

    changed = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=old_headers,
    )
    assert changed.status_code == 200, changed.text
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert (await client.get("/api/v1/auth/me", headers=old_headers)).status_code == 401
    assert (await client.get("/api/v1/auth/me", headers=fresh)).json()["id"] == user.id
    assert (await login(client, "hamza@centre.ma", PASSWORD)).status_code == 401
    assert (await login(client, "hamza@centre.ma", NEW_PASSWORD)).status_code == 200
    # The wrong current password counted as a failed login, like the old one just now.
    failures = await session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.email == "hamza@centre.ma", LoginAttempt.succeeded.is_(False))
    )
    assert failures == 2


async def test_a_reset_or_a_deactivation_by_an_admin_ends_issued_tokens(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await make_user(session, role="admin")
    centre = await make_centre(session)
    first = await make_user(session, role="adviser", centre=centre)
    second = await make_user(session, role="adviser", centre=centre)
    await session.commit()
    first_token, second_token = auth(first, settings), auth(second, settings)
    renamed = await client.patch(
        f"/api/v1/users/{first.id}", json={"full_name": "Renamed"}, headers=auth(admin, settings)
    )
    assert renamed.status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=first_token)).status_code == 200

    reset = await client.patch(
        f"/api/v1/users/{first.id}", json={"password": NEW_PASSWORD}, headers=auth(admin, settings)
    )
    assert reset.status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=first_token)).status_code == 401

    for active in (False, True):
        toggled = await client.patch(
            f"/api/v1/users/{second.id}", json={"is_active": active}, headers=auth(admin, settings)
        )
        assert toggled.status_code == 200
    # Reactivated, but the token issued before the deactivation stays ended.
    assert (await client.get("/api/v1/auth/me", headers=second_token)).status_code == 401
    assert (await login(client, second.email, PASSWORD)).status_code == 200


async def test_over_long_usernames_and_addresses_are_422_counted_and_cost_no_hashing(
    app: FastAPI, client: AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_hashing(*_args: object) -> bool:
        raise AssertionError("no password check for refused input")

    monkeypatch.setattr("app.users.service.verify_password", no_hashing)
    long_name = "a" * 250 + "@centre.ma"
    for attempt in range(5):
        response = await login(client, long_name, "whatever-password")
        assert response.status_code == 422, attempt
        assert response.json()["errors"][0]["field"] == "username"
    assert (await login(client, long_name, "whatever-password")).status_code == 429

    forged = "f" * 65
    transport = ASGITransport(app=app, client=(forged, 5000))
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await login(http, "someone@centre.ma", "whatever-password")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "X-Forwarded-For"
    recorded = await session.scalar(
        select(func.count()).select_from(LoginAttempt).where(LoginAttempt.address == forged[:64])
    )
    assert recorded == 1
