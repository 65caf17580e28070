from datetime import UTC, datetime, timedelta

import jwt
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import AuditEvent
from app.core.config import Settings
from tests.centres.factories import make_centre
from tests.helpers import auth
from tests.users.factories import PASSWORD, make_user


async def login(client: AsyncClient, email: str, password: str) -> int:
    response = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": password}
    )
    return response.status_code


async def test_login_returns_bearer_token_that_identifies_the_caller(
    client: AsyncClient, session: AsyncSession
) -> None:
    centre = await make_centre(session)
    user = await make_user(session, role="manager", centre=centre, email="nadia@centre.ma")
    await session.commit()

    response = await client.post(
        "/api/v1/auth/token", data={"username": "NADIA@centre.ma", "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600

    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json() == {
        "id": user.id,
        "email": "nadia@centre.ma",
        "full_name": user.full_name,
        "role": "manager",
        "centre_id": centre.id,
        "is_active": True,
    }


async def test_wrong_password_is_401_problem(client: AsyncClient, session: AsyncSession) -> None:
    await make_user(session, role="admin", email="a@centre.ma")
    await session.commit()
    response = await client.post(
        "/api/v1/auth/token", data={"username": "a@centre.ma", "password": "wrong-password"}
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401


async def test_inactive_user_cannot_log_in(client: AsyncClient, session: AsyncSession) -> None:
    await make_user(session, role="admin", email="gone@centre.ma", is_active=False)
    await session.commit()
    assert await login(client, "gone@centre.ma", PASSWORD) == 401


async def test_sixth_failed_login_within_window_is_throttled(
    client: AsyncClient, session: AsyncSession
) -> None:
    await make_user(session, role="admin", email="target@centre.ma")
    await session.commit()
    statuses = [await login(client, "target@centre.ma", "bad-password") for _ in range(5)]
    assert statuses == [401] * 5
    # Even the right password is refused while the window lasts.
    response = await client.post(
        "/api/v1/auth/token", data={"username": "target@centre.ma", "password": PASSWORD}
    )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "900"


async def test_missing_malformed_and_expired_tokens_are_401(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await make_user(session, role="admin")
    await session.commit()
    assert (await client.get("/api/v1/auth/me")).status_code == 401
    bad = await client.get("/api/v1/auth/me", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    expired = jwt.encode(
        {"sub": str(user.id), "exp": datetime.now(UTC) - timedelta(minutes=1)},
        settings.signing_key,
        algorithm="HS256",
    )
    response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    forged = jwt.encode(
        {"sub": str(user.id), "exp": datetime.now(UTC) + timedelta(hours=1)},
        "another-secret-of-sufficient-length-0123456789",
        algorithm="HS256",
    )
    response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


async def test_users_are_admin_only_and_passwords_never_returned(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    admin = await make_user(session, role="admin")
    manager = await make_user(session, role="manager", centre=centre)
    await session.commit()

    forbidden = await client.get("/api/v1/users", headers=auth(manager, settings))
    assert forbidden.status_code == 403

    created = await client.post(
        "/api/v1/users",
        headers=auth(admin, settings),
        json={
            "email": "Salma@Centre.ma",
            "full_name": "Salma Bennani",
            "password": "a-long-passphrase",
            "role": "adviser",
            "centre_id": centre.id,
        },
    )
    assert created.status_code == 201
    body = created.json()
    assert body["email"] == "salma@centre.ma"
    assert "password" not in body and "password_hash" not in body
    assert created.headers["location"] == f"/api/v1/users/{body['id']}"
    assert await login(client, "salma@centre.ma", "a-long-passphrase") == 200

    duplicate = await client.post(
        "/api/v1/users",
        headers=auth(admin, settings),
        json={
            "email": "salma@centre.ma",
            "full_name": "Other",
            "password": "a-long-passphrase",
            "role": "viewer",
        },
    )
    assert duplicate.status_code == 409

    events = (
        (
            await session.execute(
                select(AuditEvent).where(
                    AuditEvent.entity == "user", AuditEvent.entity_id == body["id"]
                )
            )
        )
        .scalars()
        .all()
    )
    assert [e.action for e in events] == ["create"]
    assert "password" not in str(events[0].changes)
    assert "a-long-passphrase" not in str(events[0].changes)


async def test_adviser_must_belong_to_an_existing_centre(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await make_user(session, role="admin")
    await session.commit()
    body = {
        "email": "x@centre.ma",
        "full_name": "X",
        "password": "a-long-passphrase",
        "role": "adviser",
    }
    response = await client.post("/api/v1/users", headers=auth(admin, settings), json=body)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "centre_id", "message": "an adviser belongs to a centre"}
    ]
    response = await client.post(
        "/api/v1/users", headers=auth(admin, settings), json=body | {"centre_id": 999999}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "centre_id"
