"""Enterprises for tests: `make_enterprise(session, centre, owners, **overrides)` writes one
straight to the database; `enterprise_payload(owner_ids, **overrides)` is a valid POST body."""

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.enterprises.models import Enterprise, EnterpriseOwner
from app.holders.models import Holder
from tests.helpers import unique


async def make_enterprise(
    session: AsyncSession, centre: Centre, owners: list[Holder], **overrides: Any
) -> Enterprise:
    n = unique()
    values: dict[str, Any] = {
        "centre_id": centre.id,
        "name": f"Atelier {n}",
        "search_text": f"atelier {n}",
        "legal_form": "auto_entrepreneur",
        "sector": "handicrafts",
        "area": "urban",
        "region": centre.region,
        "created_on": date(2024, 6, 1),
        "status": "active",
        "jobs_at_creation": 1,
        "version": 1,
    }
    values.update(overrides)
    enterprise = Enterprise(**values)
    session.add(enterprise)
    await session.flush()
    for owner in owners:
        session.add(EnterpriseOwner(enterprise_id=enterprise.id, holder_id=owner.id))
    await session.flush()
    return enterprise


def enterprise_payload(owner_ids: list[int], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Coopérative Tifawin",
        "legal_form": "cooperative",
        "sector": "agri_food",
        "area": "rural",
        "created_on": "2024-03-01",
        "owner_ids": owner_ids,
    }
    body.update(overrides)
    return body
