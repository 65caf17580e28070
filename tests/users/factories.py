"""Users for tests: `make_user(session, role, centre, **overrides)`, all with `PASSWORD`."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.core.security import hash_password_sync
from app.users.models import User
from tests.helpers import unique

PASSWORD = "correct-horse-battery"
PASSWORD_HASH = hash_password_sync(PASSWORD)
"""Hashed once: argon2 is slow on purpose."""


async def make_user(
    session: AsyncSession, role: str = "adviser", centre: Centre | None = None, **overrides: Any
) -> User:
    n = unique()
    values: dict[str, Any] = {
        "email": f"user{n}@centre.ma",
        "full_name": f"User {n}",
        "password_hash": PASSWORD_HASH,
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
