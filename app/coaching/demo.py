"""Demo data: a realistic history of coaching sessions and enterprise follow-ups.

Reads the centres' advisers, holders and created enterprises already in the database and
records, through the services (so every rule and audit event applies):
- for each holder, individual sessions of the five services from enrolment to today,
  more often in the first months, some holders left without a recent session;
- for each centre, group trainings and business-relations meetings with attendance;
- for each created enterprise, follow-up visits from its creation: revenue that grows for
  most, a few that struggle or go dormant, some that close through a `closed` visit
  (an enterprise already closed closes on its `closed_on`); some visits are left overdue.
"""

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.coaching import service as coaching
from app.coaching.schemas import SessionCreate
from app.core.money import round_money
from app.core.scope import Actor, Role
from app.enterprises.models import Enterprise, EnterpriseOwner
from app.followups import service as followups
from app.followups.schemas import FollowUpCreate
from app.holders.models import Holder
from app.users.models import User
from app.users.service import actor_of

INDIVIDUAL_KINDS = (
    ("advice", 5),
    ("follow_up", 4),
    ("evaluation", 2),
    ("business_relations", 1),
)
MODES = (("in_person", 6), ("phone", 3), ("video", 1), ("field_visit", 2))
TOPICS = {
    "advice": [
        "Plan d'affaires et étude de marché",
        "Choix du statut juridique (auto-entrepreneur, SARL AU)",
        "Fixation des prix de vente",
        "دراسة السوق وتحديد الزبناء",
    ],
    "follow_up": [
        "Point sur l'avancement du projet",
        "Suivi du remboursement et de la trésorerie",
        "تتبع سير المشروع",
    ],
    "evaluation": ["Évaluation des compétences entrepreneuriales", "Bilan à six mois"],
    "training": [
        "Tenir une comptabilité simple",
        "Marketing digital et réseaux sociaux",
        "Gestion de stock",
        "التسويق الرقمي",
        "Hygiène et qualité des produits alimentaires",
    ],
    "business_relations": [
        "Mise en relation avec un fournisseur",
        "Préparation du salon régional de l'artisanat",
        "Rencontre avec l'association de microcrédit",
    ],
}
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
HISTORY_START = timedelta(days=3 * 365)


@dataclass
class CentreStaff:
    advisers: list[User]
    holders: list[Holder]


def pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    values = [value for value, _ in weighted]
    weights = [weight for _, weight in weighted]
    return rng.choices(values, weights=weights)[0]


def random_day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, max(0, (end - start).days)))


async def load_staff(session: AsyncSession) -> dict[int, CentreStaff]:
    advisers = (
        (
            await session.execute(
                select(User)
                .where(User.role == Role.adviser.value, User.is_active.is_(True))
                .where(User.centre_id.is_not(None))
                .order_by(User.id)
            )
        )
        .scalars()
        .all()
    )
    staff: dict[int, CentreStaff] = {}
    for adviser in advisers:
        assert adviser.centre_id is not None
        staff.setdefault(adviser.centre_id, CentreStaff([], [])).advisers.append(adviser)
    holders = (
        (
            await session.execute(
                select(Holder).where(Holder.centre_id.in_(list(staff))).order_by(Holder.id)
            )
        )
        .scalars()
        .all()
    )
    for holder in holders:
        staff[holder.centre_id].holders.append(holder)
    return staff


def adviser_of(holder: Holder, team: CentreStaff, rng: random.Random) -> User:
    for adviser in team.advisers:
        if adviser.id == holder.adviser_id:
            return adviser
    return rng.choice(team.advisers)


async def seed_individual_sessions(
    session: AsyncSession, rng: random.Random, today: date, team: CentreStaff, scale: int
) -> None:
    for holder in team.holders:
        adviser = actor_of(adviser_of(holder, team, rng))
        start = max(holder.enrolled_on, today - HISTORY_START)
        if start > today:
            continue
        if holder.status in ("graduated", "dropped"):
            # Coached for a while, then no longer.
            end = min(today, start + timedelta(days=rng.randint(120, 540)))
        elif rng.random() < 0.2:
            # Left without a recent session: the worklist will bring them up.
            end = max(start, today - timedelta(days=rng.randint(61, 150)))
        else:
            end = today
        count = rng.randint(2, 4 + 2 * scale)
        # Sessions cluster in the first months after enrolment.
        days = sorted(
            start + timedelta(days=int(((end - start).days) * rng.random() ** 1.6))
            for _ in range(count)
        )
        for held_on in days:
            kind = pick(rng, INDIVIDUAL_KINDS)
            await coaching.create_coaching_session(
                session,
                adviser,
                SessionCreate.model_validate(
                    {
                        "kind": kind,
                        "format": "individual",
                        "mode": pick(rng, MODES),
                        "held_on": held_on,
                        "duration_minutes": rng.choice((30, 45, 60, 60, 90, 120)),
                        "topic": rng.choice(TOPICS[kind]),
                        "notes": None,
                        "next_steps": rng.choice(
                            (None, "Revoir le plan de financement", "Préparer le dossier de prêt")
                        ),
                        "holder_ids": [holder.id],
                    }
                ),
                today,
            )


async def seed_group_sessions(
    session: AsyncSession, rng: random.Random, today: date, team: CentreStaff, scale: int
) -> None:
    for _ in range(6 * scale):
        kind = "training" if rng.random() < 0.8 else "business_relations"
        held_on = random_day(rng, today - timedelta(days=540), today)
        enrolled = [h for h in team.holders if h.enrolled_on <= held_on]
        if len(enrolled) < 3:
            continue
        group = rng.sample(enrolled, min(len(enrolled), rng.randint(5, 15)))
        participants = [
            {"holder_id": h.id, "attendance": "absent" if rng.random() < 0.15 else "present"}
            for h in group
        ]
        await coaching.create_coaching_session(
            session,
            actor_of(rng.choice(team.advisers)),
            SessionCreate.model_validate(
                {
                    "kind": kind,
                    "format": "group",
                    "mode": "in_person",
                    "held_on": held_on,
                    "duration_minutes": rng.choice((120, 180, 180, 240)),
                    "topic": rng.choice(TOPICS[kind]),
                    "notes": None,
                    "next_steps": None,
                    "participants": participants,
                }
            ),
            today,
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
    staff = await load_staff(session)
    staff = {centre_id: team for centre_id, team in staff.items() if team.advisers}
    for team in staff.values():
        await seed_individual_sessions(session, rng, today, team, scale)
        await seed_group_sessions(session, rng, today, team, scale)
    await seed_follow_ups(session, rng, today, staff)
    await session.flush()
