"""Centres for tests: `make_centre(session, **overrides)`."""

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from tests.helpers import unique


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
