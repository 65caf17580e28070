"""Demo data: the holders' enterprises, through the enterprises service.

An enterprise for each holder whose status says one was created (about 15 % co-owned by two
such holders; some of them closed), and a few enterprises still in `project` status for
holders in support.
"""

import random
import re
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.demo.common import random_day
from app.demo.holders import PROJECTS, RURAL_SECTORS, URBAN_SECTORS
from app.enterprises import service as enterprises
from app.enterprises.schemas import EnterpriseCreate
from app.holders.models import Holder
from app.users.models import User
from app.users.service import actor_of

ENTERPRISE_NAMES = {
    "agriculture": ["Ferme {family}", "Coopérative agricole Al Baraka"],
    "livestock": ["Élevage {family}", "Coopérative laitière Al Khair"],
    "agri_food": ["Coopérative Tifawin d'argan", "Amlou {first}"],
    "handicrafts": ["Atelier {first} Couture", "Coopérative de tissage Nour"],
    "commerce": ["Hanout {first}", "Épicerie {family}"],
    "services": ["Salon {first}", "Pressing {family}"],
    "manufacturing": ["Menuiserie {family}", "Alu {first}"],
    "construction": ["{family} Travaux", "Bricodar {first}"],
    "tourism": ["Dar {family}", "Gîte {first}"],
    "ict": ["{first} Digital", "Cyber {family}"],
    "other": ["{first} Express", "Livraison {family}"],
}
ARABIC_ENTERPRISE_NAMES = [
    "تعاونية الأمل",
    "تعاونية النور للخياطة",
    "مخبزة البركة",
    "ورشة الفتح",
    "متجر {first}",
    "ورشة {family}",
]
ARABIC_LETTERS = re.compile(r"[\u0600-\u06FF]")
COOPERATIVE_WORDS = ("Coopérative", "تعاونية")
LEGAL_FORMS = ["informal", "auto_entrepreneur", "cooperative", "sarl_au", "sarl"]
LEGAL_FORM_WEIGHTS = [30, 38, 15, 12, 5]


def enterprise_name(rng: random.Random, owner: Holder, sector: str) -> str:
    """Names in the script the owner's name was typed in (and a few Arabic ones besides)."""
    arabic_owner = bool(ARABIC_LETTERS.search(owner.first_name + owner.last_name))
    if arabic_owner or rng.random() < 0.1:
        template = rng.choice(ARABIC_ENTERPRISE_NAMES)
        if not arabic_owner and "{" in template:
            template = ARABIC_ENTERPRISE_NAMES[0]
    else:
        template = rng.choice(ENTERPRISE_NAMES[sector])
    return template.format(first=owner.first_name, family=owner.last_name)


def enterprise_values(
    rng: random.Random, owners: list[Holder], today: date, status_hint: str
) -> dict[str, Any]:
    lead = owners[0]
    sector = lead.sector or rng.choice(URBAN_SECTORS if lead.area == "urban" else RURAL_SECTORS)
    name = enterprise_name(rng, lead, sector)
    legal_form = rng.choices(LEGAL_FORMS, LEGAL_FORM_WEIGHTS)[0]
    if name.startswith(COOPERATIVE_WORDS):
        legal_form = "cooperative"
    elif len(owners) > 1 and legal_form in ("informal", "auto_entrepreneur", "sarl_au"):
        legal_form = rng.choice(["cooperative", "sarl"])
    needs_ice = legal_form in ("sarl", "sarl_au", "cooperative") or (
        legal_form == "auto_entrepreneur" and rng.random() < 0.5
    )
    values: dict[str, Any] = {
        "centre_id": lead.centre_id,
        "name": name,
        "legal_form": legal_form,
        "sector": sector,
        "activity": PROJECTS.get(sector),
        "ice": "".join(str(rng.randint(0, 9)) for _ in range(15)) if needs_ice else None,
        "area": lead.area,
        "region": lead.region,
        "jobs_at_creation": rng.choices([1, 2, 3, 4, 6], [40, 30, 15, 10, 5])[0],
        "owner_ids": [o.id for o in owners],
        "created_on": None,
        "closed_on": None,
    }
    if status_hint == "project":
        values["status"] = "project"
        return values
    earliest = min(max(o.enrolled_on for o in owners) + timedelta(days=60), today)
    created_on = random_day(rng, earliest, today)
    values["created_on"] = created_on
    roll = rng.random()
    if roll < 0.12 and created_on < today:
        values["status"] = "closed"
        values["closed_on"] = random_day(rng, created_on + timedelta(days=1), today)
    elif roll < 0.27:
        values["status"] = "struggling"
    else:
        values["status"] = "active"
    return values


async def seed_centre(
    session: AsyncSession,
    rng: random.Random,
    today: date,
    centre_holders: list[Holder],
    staff: list[User],
    admins: list[User],
) -> None:
    """One enterprise per holder who created one (about 15 % co-owned by two such
    holders), and a project for about 10 % of the holders in support."""
    founders = [h for h in centre_holders if h.status in ("enterprise_created", "graduated")]
    rng.shuffle(founders)
    groups: list[tuple[list[Holder], str]] = []
    while founders:
        owners = [founders.pop()]
        if founders and rng.random() < 0.15:
            owners.append(founders.pop())
        groups.append((owners, "created"))
    groups.extend(
        ([h], "project")
        for h in centre_holders
        if h.status == "in_support" and h.sector and rng.random() < 0.10
    )
    for owners, hint in groups:
        adviser = next((u for u in staff if u.id == owners[0].adviser_id), None)
        actor = actor_of(adviser or (staff[0] if staff else admins[0]))
        await enterprises.create_enterprise(
            session,
            actor,
            EnterpriseCreate.model_validate(enterprise_values(rng, owners, today, hint)),
            today=today,
        )


async def seed(session: AsyncSession, rng: random.Random, today: date, scale: int) -> None:
    """Enterprises for each centre's holders (see the module docstring); `scale` is unused,
    the volume follows the holders."""
    del scale
    centres = (await session.execute(select(Centre).order_by(Centre.id))).scalars().all()
    users = (
        (await session.execute(select(User).where(User.is_active.is_(True)).order_by(User.id)))
        .scalars()
        .all()
    )
    admins = [u for u in users if u.role == "admin"]
    for centre in centres:
        advisers = [u for u in users if u.role == "adviser" and u.centre_id == centre.id]
        staff = advisers or [u for u in users if u.role == "manager" and u.centre_id == centre.id]
        if not staff and not admins:
            continue
        centre_holders = list(
            (
                await session.execute(
                    select(Holder).where(Holder.centre_id == centre.id).order_by(Holder.id)
                )
            )
            .scalars()
            .all()
        )
        await seed_centre(session, rng, today, centre_holders, staff, admins)
