"""Demo data: follow-up visits of the created enterprises, through the follow-ups service.

For each created enterprise, visits from its creation: revenue that grows for most, a few
that struggle or go dormant, some that close through a `closed` visit (an enterprise
already closed closes on its `closed_on`); some visits are left overdue.
"""

import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.money import round_money
from app.core.scope import Actor
from app.demo.coaching import CentreStaff, adviser_of, load_staff
from app.enterprises.models import Enterprise, EnterpriseOwner
from app.followups import service as followups
from app.followups.schemas import FollowUpCreate
from app.users.service import actor_of

NEEDS = (
    "financing",
    "marketing",
    "accounting",
    "supply",
    "training",
    "equipment",
    "legal",
    "premises",
    "other",
)


def visit_dates(rng: random.Random, created_on: date, until: date) -> list[date]:
    days: list[date] = []
    day = created_on + timedelta(days=rng.randint(20, 60))
    while day <= until:
        days.append(day)
        day += timedelta(days=rng.randint(60, 120))
    return days


def visit_values(
    rng: random.Random,
    enterprise: Enterprise,
    visited_on: date,
    found: str,
    revenue: Decimal,
    employees: int,
) -> dict[str, Any]:
    risk = {"active": "low", "struggling": "medium", "dormant": "high", "closed": "high"}[found]
    next_on = visited_on + timedelta(days=rng.choice((60, 90, 90, 120)))
    return {
        "enterprise_id": enterprise.id,
        "visited_on": visited_on,
        "mode": rng.choice(("field_visit", "field_visit", "at_centre", "phone")),
        "enterprise_status": found,
        "monthly_revenue": round_money(revenue) if found != "closed" else Decimal("0.00"),
        "employees_count": employees if found != "closed" else 0,
        "risk_level": risk if rng.random() < 0.85 else "medium",
        "needs": sorted(rng.sample(NEEDS, rng.randint(0, 3))),
        "notes": None,
        "next_follow_up_on": next_on if found != "closed" and rng.random() < 0.5 else None,
    }


async def seed_follow_ups(
    session: AsyncSession,
    rng: random.Random,
    today: date,
    staff: dict[int, CentreStaff],
) -> None:
    enterprises = (
        (
            await session.execute(
                select(Enterprise)
                .where(
                    Enterprise.status != "project",
                    Enterprise.created_on.is_not(None),
                    Enterprise.created_on <= today,
                    Enterprise.centre_id.in_(list(staff)),
                )
                .order_by(Enterprise.id)
            )
        )
        .scalars()
        .all()
    )
    owners: dict[int, list[int]] = defaultdict(list)
    for enterprise_id, holder_id in await session.execute(
        select(EnterpriseOwner.enterprise_id, EnterpriseOwner.holder_id).where(
            EnterpriseOwner.enterprise_id.in_([e.id for e in enterprises])
        )
    ):
        owners[enterprise_id].append(holder_id)

    for enterprise in enterprises:
        assert enterprise.created_on is not None
        team = staff[enterprise.centre_id]
        owner = next((h for h in team.holders if h.id in owners[enterprise.id]), None)
        adviser: Actor = actor_of(
            adviser_of(owner, team, rng) if owner else rng.choice(team.advisers)
        )
        closed_on = enterprise.closed_on if enterprise.status == "closed" else None
        if closed_on is not None and not enterprise.created_on <= closed_on <= today:
            continue
        already_closed = closed_on is not None
        if closed_on is not None:
            until = closed_on
        elif rng.random() < 0.3:
            # Visits stopped a while ago: the enterprise is now due.
            until = today - timedelta(days=rng.randint(100, 200))
        else:
            until = today
        days = visit_dates(rng, enterprise.created_on, until)
        if closed_on is not None:
            days = [d for d in days if d < closed_on] + [closed_on]
        if not days:
            continue
        trajectory = rng.choices(("grows", "struggles", "closes"), weights=(75, 15, 10))[0]
        if already_closed:
            trajectory = "closes"
        revenue = Decimal(rng.randrange(1500, 9000, 50))
        employees = max(1, enterprise.jobs_at_creation)
        for index, visited_on in enumerate(days):
            last = index == len(days) - 1
            if trajectory == "grows":
                revenue *= Decimal(str(round(rng.uniform(1.02, 1.12), 3)))
                found = "active" if rng.random() < 0.93 else "struggling"
                if rng.random() < 0.25:
                    employees = min(500, employees + 1)
            elif trajectory == "struggles":
                revenue *= Decimal(str(round(rng.uniform(0.80, 1.03), 3)))
                found = (
                    "active" if index < len(days) // 2 else rng.choice(("struggling", "dormant"))
                )
            else:
                revenue *= Decimal(str(round(rng.uniform(0.75, 1.05), 3)))
                found = "closed" if last else ("active" if index < len(days) // 2 else "struggling")
            await followups.create_follow_up(
                session,
                adviser,
                FollowUpCreate.model_validate(
                    visit_values(rng, enterprise, visited_on, found, revenue, employees)
                ),
                today,
            )


async def seed(session: AsyncSession, rng: random.Random, today: date, scale: int) -> None:
    """Visits of every created enterprise of the centres that have advisers; `scale` is
    unused, the volume follows the enterprises."""
    del scale
    staff = await load_staff(session)
    staff = {centre_id: team for centre_id, team in staff.items() if team.advisers}
    await seed_follow_ups(session, rng, today, staff)
    await session.flush()
