"""Demo data: a realistic history of coaching sessions, through the coaching service.

Reads the centres' advisers and holders already in the database and records (so every rule
and audit event applies):
- for each holder, individual sessions of the five services from enrolment to today,
  more often in the first months, some holders left without a recent session;
- for each centre, group trainings and business-relations meetings with attendance.
"""

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.coaching import service as coaching
from app.coaching.schemas import SessionCreate
from app.core.scope import Role
from app.demo.common import pick, random_day
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
HISTORY_START = timedelta(days=3 * 365)


@dataclass
class CentreStaff:
    advisers: list[User]
    holders: list[Holder]


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
    session: AsyncSession, rng: random.Random, today: date, team: CentreStaff
) -> None:
    """Two to six sessions per holder (a number that does not grow with the scale, so the
    sessions grow linearly with the holders)."""
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
        count = rng.randint(2, 6)
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


async def seed(session: AsyncSession, rng: random.Random, today: date, scale: int) -> None:
    staff = await load_staff(session)
    staff = {centre_id: team for centre_id, team in staff.items() if team.advisers}
    for team in staff.values():
        await seed_individual_sessions(session, rng, today, team)
        await seed_group_sessions(session, rng, today, team, scale)
    await session.flush()
