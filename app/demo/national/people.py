"""Generated holders, their enterprises, follow-up visits and coaching sessions, as rows.

Names come from the small demo's pools (Latin and Arabic script); about 45 % of holders
are women; the area follows the region's rural share; ages lie in the youth range.
"""

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from app.core.enums import Region
from app.core.money import round_money
from app.demo.coaching import INDIVIDUAL_KINDS, MODES, TOPICS
from app.demo.common import pick
from app.demo.enterprises import (
    ARABIC_ENTERPRISE_NAMES,
    COOPERATIVE_WORDS,
    ENTERPRISE_NAMES,
    LEGAL_FORM_WEIGHTS,
    LEGAL_FORMS,
)
from app.demo.followups import NEEDS
from app.demo.holders import (
    CIN_PREFIXES,
    EDUCATION,
    EDUCATION_WEIGHTS,
    FAMILY_NAMES,
    FEMALE_NAMES,
    MALE_NAMES,
    PROJECTS,
    PROVINCES,
    RURAL_SECTORS,
    URBAN_SECTORS,
)
from app.demo.national.calendar import at_office_hours
from app.demo.national.tables import Row
from app.enterprises.service import enterprise_search_text
from app.holders.service import holder_search_text

FEMALE_SHARE = 0.45
FARMING = ("agriculture", "livestock")
STATUS_FROM_VISIT = {"active": "active", "struggling": "struggling", "dormant": "struggling"}
STATUS_FROM_VISIT["closed"] = "closed"


@dataclass
class HolderDraft:
    """A holder being generated: what later rows need to know about them."""

    id: int
    centre_id: int
    adviser_id: int
    region: Region
    area: str
    sector: str
    gender: str
    first_name: str
    last_name: str
    arabic: bool
    enrolled_on: date
    birth_date: date


def national_id(number: int) -> str:
    """A unique CIN for holder number `number` (< 29 million): a prefix, then up to six
    digits scrambled by a bijection of 0..999,999 so that neighbours do not look alike."""
    prefix = CIN_PREFIXES[number % len(CIN_PREFIXES)]
    return f"{prefix}{(number // len(CIN_PREFIXES) * 7_777 + 123_457) % 1_000_000}"


def draft_holder(
    rng: random.Random,
    holder_id: int,
    number: int,
    centre_id: int,
    centre_region: Region,
    adviser_id: int,
    enrolled_on: date,
    rural_share: dict[Region, float],
    regions: Sequence[Region],
    region_weights: Sequence[float],
    youth: tuple[int, int],
) -> HolderDraft:
    del number
    region = centre_region if rng.random() < 0.85 else rng.choices(regions, region_weights)[0]
    area = "rural" if rng.random() < rural_share[region] else "urban"
    sector = rng.choice(RURAL_SECTORS if area == "rural" else URBAN_SECTORS)
    gender = "female" if rng.random() < FEMALE_SHARE else "male"
    first = rng.choice(FEMALE_NAMES if gender == "female" else MALE_NAMES)
    family = rng.choice(FAMILY_NAMES)
    script = rng.random()
    if script < 0.65:
        first_name, last_name = first[0], family[0]
    elif script < 0.90:
        first_name, last_name = first[1], family[1]
    else:
        first_name, last_name = first[0], family[1]
    age = min(youth[1], max(youth[0], round(rng.triangular(youth[0], youth[1], 25))))
    # Born `age` years and up to 360 days before enrolment: the age at enrolment is `age`.
    birth_date = _years_before(enrolled_on, age) - timedelta(days=rng.randint(0, 360))
    return HolderDraft(
        id=holder_id,
        centre_id=centre_id,
        adviser_id=adviser_id,
        region=region,
        area=area,
        sector=sector,
        gender=gender,
        first_name=first_name,
        last_name=last_name,
        arabic=0.65 <= script < 0.90,
        enrolled_on=enrolled_on,
        birth_date=birth_date,
    )


def _years_before(day: date, years: int) -> date:
    return date(day.year - years, day.month, min(day.day, 28))


def holder_row(
    rng: random.Random, holder: HolderDraft, number: int, status: str, has_project: bool
) -> Row:
    cin = national_id(number)
    created_at = at_office_hours(rng, holder.enrolled_on)
    phone = (
        f"+212{rng.choice('67')}{rng.randint(0, 99_999_999):08d}" if rng.random() < 0.85 else None
    )
    email = None
    if rng.random() < 0.3 and not holder.arabic:
        local = holder_search_text(holder.first_name, holder.last_name, None).replace(" ", ".")
        email = f"{''.join(c for c in local if c.isascii() and (c.isalnum() or c == '.'))}{number}@example.ma"
    return (
        holder.id, holder.centre_id, holder.adviser_id, holder.first_name, holder.last_name,
        holder_search_text(holder.first_name, holder.last_name, cin), cin, holder.birth_date,
        holder.gender, phone, email, None, holder.region.value,
        rng.choice(PROVINCES[holder.region]), holder.area,
        rng.choices(EDUCATION, EDUCATION_WEIGHTS)[0], rng.random() < 0.7, status,
        holder.enrolled_on, holder.sector if has_project else None,
        PROJECTS[holder.sector] if has_project else None, None, created_at, created_at, 1,
    )  # fmt: skip


def enterprise_name(rng: random.Random, owner: HolderDraft) -> str:
    """Names in the script the owner's name was typed in (and a few Arabic ones besides)."""
    if owner.arabic or rng.random() < 0.1:
        template = rng.choice(ARABIC_ENTERPRISE_NAMES)
        if not owner.arabic and "{" in template:
            template = ARABIC_ENTERPRISE_NAMES[0]
    else:
        template = rng.choice(ENTERPRISE_NAMES[owner.sector])
    return template.format(first=owner.first_name, family=owner.last_name)


@dataclass
class EnterpriseRows:
    enterprise: Row
    follow_ups: list[Row]
    status: str


def enterprise_rows(
    rng: random.Random,
    enterprise_id: int,
    owners: Sequence[HolderDraft],
    created_on: date | None,
    today: date,
    trajectory: str,
    next_follow_up_id: int,
) -> EnterpriseRows:
    """An enterprise (a `project` when `created_on` is None) and its follow-up visits,
    its status and `closed_on` being those the latest visit gives it, as the follow-ups
    service sets them. `trajectory` is `grows`, `struggles` or `closes`."""
    lead = owners[0]
    name = enterprise_name(rng, lead)
    legal_form = rng.choices(LEGAL_FORMS, LEGAL_FORM_WEIGHTS)[0]
    if name.startswith(COOPERATIVE_WORDS):
        legal_form = "cooperative"
    elif len(owners) > 1 and legal_form in ("informal", "auto_entrepreneur", "sarl_au"):
        legal_form = rng.choice(["cooperative", "sarl"])
    needs_ice = legal_form in ("sarl", "sarl_au", "cooperative") or (
        legal_form == "auto_entrepreneur" and rng.random() < 0.5
    )
    ice = f"{rng.randrange(10**15):015d}" if needs_ice else None
    jobs = rng.choices([1, 2, 3, 4, 6], [40, 30, 15, 10, 5])[0]
    status = "project" if created_on is None else "active"
    closed_on: date | None = None
    version = 1
    created_at = at_office_hours(rng, created_on or lead.enrolled_on)
    updated_at = created_at
    visits: list[Row] = []
    if created_on is not None:
        days = _visit_days(rng, created_on, today, trajectory)
        revenue = Decimal(rng.randrange(1500, 9000, 50))
        employees = jobs
        for index, visited_on in enumerate(days):
            found = _found(rng, trajectory, index, len(days))
            revenue *= Decimal(
                str(round(rng.uniform(*{"grows": (1.0, 1.1)}.get(trajectory, (0.8, 1.03))), 3))
            )
            if found == "active" and rng.random() < 0.2:
                employees = min(500, employees + 1)
            risk = {"active": "low", "struggling": "medium", "dormant": "high", "closed": "high"}
            next_on = visited_on + timedelta(days=rng.choice((60, 90, 90, 120)))
            visited_at = at_office_hours(rng, visited_on)
            visits.append(
                (next_follow_up_id + index, enterprise_id, lead.centre_id, lead.adviser_id,
                 visited_on, rng.choice(("field_visit", "field_visit", "at_centre", "phone")),
                 found, round_money(revenue) if found != "closed" else Decimal("0.00"),
                 employees if found != "closed" else 0,
                 risk[found] if rng.random() < 0.85 else "medium",
                 json.dumps(sorted(rng.sample(NEEDS, rng.randint(0, 3)))), None,
                 next_on if found != "closed" and rng.random() < 0.5 else None,
                 visited_at, visited_at, 1)
            )  # fmt: skip
            # Each visit is the latest when it is recorded: it sets the enterprise's status.
            new_status = STATUS_FROM_VISIT[found]
            new_closed_on = visited_on if new_status == "closed" else None
            if (new_status, new_closed_on) != (status, closed_on):
                status, closed_on = new_status, new_closed_on
                version += 1
                updated_at = visited_at
    enterprise = (
        enterprise_id, lead.centre_id, name, enterprise_search_text(name), legal_form,
        lead.sector, PROJECTS.get(lead.sector), ice, lead.area, lead.region.value, created_on,
        status, closed_on, jobs, created_at, updated_at, version,
    )  # fmt: skip
    return EnterpriseRows(enterprise, visits, status)


def _visit_days(rng: random.Random, created_on: date, today: date, trajectory: str) -> list[date]:
    """A visit every three to six months from a few weeks after creation; for one enterprise
    in four, visits stopped a while ago (it is now due)."""
    until = today
    if trajectory != "closes" and rng.random() < 0.25:
        until = today - timedelta(days=rng.randint(100, 200))
    days: list[date] = []
    day = created_on + timedelta(days=rng.randint(20, 60))
    while day <= until:
        days.append(day)
        day += timedelta(days=rng.randint(90, 180))
    return days


def _found(rng: random.Random, trajectory: str, index: int, count: int) -> str:
    if trajectory == "grows":
        return "active" if rng.random() < 0.93 else "struggling"
    if trajectory == "struggles":
        return "active" if index < count // 2 else rng.choice(("struggling", "dormant"))
    if index == count - 1:
        return "closed"
    return "active" if index < count // 2 else "struggling"


def individual_sessions(
    rng: random.Random,
    holder: HolderDraft,
    until: date,
    count: int,
    enterprise: tuple[int, date] | None,
    first_id: int,
) -> list[tuple[Row, Row]]:
    """`count` individual sessions between enrolment and `until`, clustered in the first
    months, each with its participant row."""
    span = max(0, (until - holder.enrolled_on).days)
    days = sorted(
        holder.enrolled_on + timedelta(days=int(span * rng.random() ** 1.6)) for _ in range(count)
    )
    rows: list[tuple[Row, Row]] = []
    for index, held_on in enumerate(days):
        kind = pick(rng, INDIVIDUAL_KINDS)
        enterprise_id = (
            enterprise[0]
            if enterprise is not None and held_on >= enterprise[1] and rng.random() < 0.5
            else None
        )
        created_at = at_office_hours(rng, held_on)
        session_id = first_id + index
        rows.append(
            (
                (session_id, holder.centre_id, holder.adviser_id, kind, "individual",
                 pick(rng, MODES), held_on, rng.choice((30, 45, 60, 60, 90, 120)),
                 rng.choice(TOPICS[kind]), None,
                 rng.choice((None, "Revoir le plan de financement", "Préparer le dossier de prêt")),
                 enterprise_id, created_at, created_at, 1),
                (session_id, holder.id, "present"),
            )
        )  # fmt: skip
    return rows


def group_session(
    rng: random.Random,
    session_id: int,
    centre_id: int,
    adviser_id: int,
    attendees: Sequence[HolderDraft],
    today: date,
) -> tuple[Row, list[Row]]:
    """A training or business-relations meeting of the centre, after every attendee's
    enrolment, with about 15 % absent."""
    kind = "training" if rng.random() < 0.8 else "business_relations"
    earliest = max(holder.enrolled_on for holder in attendees)
    held_on = earliest + timedelta(days=rng.randint(0, max(0, min(120, (today - earliest).days))))
    created_at: datetime = at_office_hours(rng, held_on)
    row: Row = (
        session_id, centre_id, adviser_id, kind, "group", "in_person", held_on,
        rng.choice((120, 180, 180, 240)), rng.choice(TOPICS[kind]), None, None, None,
        created_at, created_at, 1,
    )  # fmt: skip
    participants: list[Row] = [
        (session_id, holder.id, "absent" if rng.random() < 0.15 else "present")
        for holder in attendees
    ]
    return row, participants


def is_farming(sector: str) -> bool:
    return sector in FARMING
