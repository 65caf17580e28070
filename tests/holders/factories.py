"""Holders for tests: `make_holder(session, centre, **overrides)` writes one straight to the
database; `holder_payload(**overrides)` is a valid POST /holders body."""

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.holders.models import Holder
from tests.helpers import unique


async def make_holder(session: AsyncSession, centre: Centre, **overrides: Any) -> Holder:
    n = unique()
    values: dict[str, Any] = {
        "centre_id": centre.id,
        "first_name": "Fatima Zahra",
        "last_name": f"Alaoui{n}",
        "search_text": f"fatima zahra alaoui{n}",
        "national_id": f"BE{n:06d}"[-8:],
        "birth_date": date(2000, 5, 17),
        "gender": "female",
        "area": "urban",
        "region": centre.region,
        "status": "in_support",
        "enrolled_on": date(2024, 1, 15),
        "household_vulnerable": True,
        "version": 1,
    }
    values.update(overrides)
    holder = Holder(**values)
    session.add(holder)
    await session.flush()
    return holder


def holder_payload(**overrides: Any) -> dict[str, Any]:
    """A valid POST /holders body with a fresh CIN."""
    body: dict[str, Any] = {
        "first_name": "Hajar",
        "last_name": "Bennani",
        "national_id": f"HB{unique() % 1_000_000:06d}",
        "birth_date": "2000-05-17",
        "gender": "female",
        "area": "urban",
        "enrolled_on": "2024-01-15",
    }
    body.update(overrides)
    return body
