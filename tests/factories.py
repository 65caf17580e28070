"""Plain functions that create test records: `make_x(session, **overrides)`."""

import itertools
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.core.config import Settings
from app.core.security import create_access_token, hash_password_sync
from app.users.models import User

PASSWORD = "correct-horse-battery"
_PASSWORD_HASH = hash_password_sync(PASSWORD)
_counter = itertools.count(1)


def unique() -> int:
    return next(_counter)


async def make_centre(session: AsyncSession, **overrides: Any) -> Centre:
    n = unique()
    values: dict[str, Any] = {
        "code": f"C{n:04d}",
        "name": f"Centre {n}",
        "kind": "enterprise_centre",
        "region": "casablanca_settat",
        "city": "Casablanca",
        "opened_on": date(2020, 1, 1),
        "version": 1,
    }
    values.update(overrides)
    centre = Centre(**values)
    session.add(centre)
    await session.flush()
    return centre


async def make_user(
    session: AsyncSession, role: str = "adviser", centre: Centre | None = None, **overrides: Any
) -> User:
    n = unique()
    values: dict[str, Any] = {
        "email": f"user{n}@centre.ma",
        "full_name": f"User {n}",
        "password_hash": _PASSWORD_HASH,
        "role": role,
        "centre_id": centre.id if centre else None,
        "is_active": True,
        "version": 1,
    }
    values.update(overrides)
    user = User(**values)
    session.add(user)
    await session.flush()
    return user


def auth(user: User, settings: Settings) -> dict[str, str]:
    token, _ = create_access_token(user.id, settings.signing_key, settings.access_token_minutes)
    return {"Authorization": f"Bearer {token}"}
