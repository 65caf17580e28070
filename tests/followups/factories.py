"""Follow-ups written straight to the database:
`make_follow_up(session, enterprise, adviser, visited_on=..., **overrides)`."""

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.enterprises.models import Enterprise
from app.followups.models import FollowUp
from app.users.models import User


async def make_follow_up(
    session: AsyncSession,
    enterprise: Enterprise,
    adviser: User,
    *,
    visited_on: date = date(2024, 9, 1),
    **overrides: Any,
) -> FollowUp:
    values: dict[str, Any] = {
        "enterprise_id": enterprise.id,
        "centre_id": enterprise.centre_id,
        "adviser_id": adviser.id,
        "visited_on": visited_on,
        "mode": "field_visit",
        "enterprise_status": "active",
        "needs": [],
        "version": 1,
    }
    values.update(overrides)
    record = FollowUp(**values)
    session.add(record)
    await session.flush()
    return record
