"""Coaching sessions written straight to the database, for tests that read them:
`make_coaching_session(session, adviser, holders, held_on=..., absent=[...], **overrides)`;
every holder attends unless listed in `absent`."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.coaching.models import CoachingSession, SessionParticipant
from app.holders.models import Holder
from app.users.models import User


async def make_coaching_session(
    session: AsyncSession,
    adviser: User,
    holders: Sequence[Holder],
    *,
    held_on: date = date(2024, 2, 1),
    absent: Sequence[Holder] = (),
    **overrides: Any,
) -> CoachingSession:
    values: dict[str, Any] = {
        "centre_id": holders[0].centre_id,
        "adviser_id": adviser.id,
        "kind": "advice",
        "format": "individual" if len(holders) == 1 else "group",
        "mode": "in_person",
        "held_on": held_on,
        "duration_minutes": 60,
        "topic": "Plan d'affaires",
        "version": 1,
    }
    values.update(overrides)
    record = CoachingSession(**values)
    session.add(record)
    await session.flush()
    absent_ids = {h.id for h in absent}
    session.add_all(
        SessionParticipant(
            session_id=record.id,
            holder_id=h.id,
            attendance="absent" if h.id in absent_ids else "present",
        )
        for h in holders
    )
    await session.flush()
    return record
