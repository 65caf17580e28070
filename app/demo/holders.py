"""Demo data: project holders, through the holders service.

About 40 holders per centre and per unit of `scale`: Moroccan names in Latin and Arabic
script (and a few mixed), every one of the 12 regions, towns and villages, ages within the
youth range, all statuses, spread over each centre's advisers.
"""

import random
import string
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.core.config import get_settings
from app.core.enums import Region
from app.core.scope import Actor
from app.core.text import fold
from app.demo.common import random_day
from app.holders import service as holders
from app.holders.models import Holder
from app.holders.schemas import HolderCreate
from app.users.models import User
from app.users.service import actor_of

HOLDERS_PER_CENTRE = 40

FEMALE_NAMES = [
    ("Fatima Zahra", "فاطمة الزهراء"),
    ("Khadija", "خديجة"),
    ("Aïcha", "عائشة"),
    ("Salma", "سلمى"),
    ("Meryem", "مريم"),
    ("Hajar", "هاجر"),
    ("Zineb", "زينب"),
    ("Loubna", "لبنى"),
    ("Ikram", "إكرام"),
    ("Ghita", "غيثة"),
    ("Nisrine", "نسرين"),
    ("Houda", "هدى"),
    ("Imane", "إيمان"),
    ("Soukaina", "سكينة"),
    ("Rachida", "رشيدة"),
    ("Hanane", "حنان"),
]
MALE_NAMES = [
    ("Mohamed", "محمد"),
    ("Youssef", "يوسف"),
    ("Saïd", "سعيد"),
    ("Hamza", "حمزة"),
    ("Omar", "عمر"),
    ("Ayoub", "أيوب"),
    ("Mehdi", "مهدي"),
    ("Anas", "أنس"),
    ("Ismaïl", "إسماعيل"),
    ("Abdelilah", "عبد الإله"),
    ("Reda", "رضا"),
    ("Soufiane", "سفيان"),
    ("Brahim", "إبراهيم"),
    ("Hicham", "هشام"),
    ("Yassine", "ياسين"),
    ("Khalid", "خالد"),
]
FAMILY_NAMES = [
    ("El Fassi", "الفاسي"),
    ("Benjelloun", "بنجلون"),
    ("Tazi", "التازي"),
    ("Alaoui", "العلوي"),
    ("El Idrissi", "الإدريسي"),
    ("Berrada", "برادة"),
    ("Amrani", "العمراني"),
    ("Ouazzani", "الوزاني"),
    ("Chraïbi", "الشرايبي"),
    ("Bennani", "بناني"),
    ("Lahlou", "لحلو"),
    ("Kettani", "الكتاني"),
    ("Aït Benhaddou", "آيت بنحدو"),
    ("Oubella", "أوبلا"),
    ("Boukhriss", "بوخريص"),
    ("Zerouali", "الزروالي"),
    ("El Khattabi", "الخطابي"),
    ("Naciri", "الناصري"),
    ("Aït Ouahmane", "آيت واحمان"),
    ("Hajji", "الحجي"),
]

PROVINCES: dict[Region, list[str]] = {
    Region.tanger_tetouan_al_hoceima: ["Tanger-Assilah", "Tétouan", "Al Hoceïma", "Chefchaouen"],
    Region.oriental: ["Oujda-Angad", "Nador", "Berkane", "Figuig"],
    Region.fes_meknes: ["Fès", "Meknès", "Taza", "Ifrane", "Sefrou"],
    Region.rabat_sale_kenitra: ["Rabat", "Salé", "Kénitra", "Khémisset", "Sidi Kacem"],
    Region.beni_mellal_khenifra: ["Béni Mellal", "Khénifra", "Azilal", "Khouribga"],
    Region.casablanca_settat: ["Casablanca", "Mohammédia", "Settat", "El Jadida", "Berrechid"],
    Region.marrakech_safi: ["Marrakech", "Safi", "Essaouira", "Al Haouz", "El Kelâa des Sraghna"],
    Region.draa_tafilalet: ["Errachidia", "Ouarzazate", "Tinghir", "Zagora", "Midelt"],
    Region.souss_massa: ["Agadir Ida-Outanane", "Inezgane-Aït Melloul", "Taroudant", "Tiznit"],
    Region.guelmim_oued_noun: ["Guelmim", "Tan-Tan", "Sidi Ifni", "Assa-Zag"],
    Region.laayoune_sakia_el_hamra: ["Laâyoune", "Boujdour", "Tarfaya", "Es-Semara"],
    Region.dakhla_oued_ed_dahab: ["Oued Ed-Dahab", "Aousserd"],
}

RURAL_SECTORS = ["agriculture", "livestock", "agri_food", "handicrafts", "commerce", "tourism"]
URBAN_SECTORS = [
    "commerce",
    "services",
    "handicrafts",
    "ict",
    "manufacturing",
    "construction",
    "agri_food",
    "tourism",
    "other",
]

PROJECTS = {
    "agriculture": "Culture maraîchère sous serre et vente au souk hebdomadaire",
    "livestock": "Élevage ovin et caprin, vente de lait et d'agneaux",
    "agri_food": "Transformation d'huile d'argan et d'amlou",
    "handicrafts": "Atelier de tissage de tapis et de couture de caftans",
    "commerce": "Épicerie de quartier (hanout) avec recharge téléphonique",
    "services": "Salon de coiffure et d'esthétique",
    "manufacturing": "Menuiserie aluminium et fabrication de meubles",
    "construction": "Petits travaux de plomberie et d'électricité",
    "tourism": "Maison d'hôtes et excursions dans la vallée",
    "ict": "Réparation de téléphones et services informatiques",
    "other": "Service de livraison à domicile",
}
CIN_PREFIXES = ["A", "B", "BE", "BH", "BJ", "BK", "C", "CD", "D", "EE", "G", "H", "J", "JA"]
CIN_PREFIXES += ["JB", "JC", "K", "L", "M", "N", "P", "Q", "S", "T", "U", "W", "X", "Y", "Z"]
EDUCATION = ["none", "primary", "lower_secondary", "upper_secondary", "vocational", "university"]
EDUCATION_WEIGHTS = [5, 15, 25, 25, 20, 10]


@dataclass
class Identity:
    gender: str
    first_name: str
    last_name: str
    latin_first: str
    latin_last: str


def pick_identity(rng: random.Random) -> Identity:
    """About 65 % of names typed in Latin script, 25 % in Arabic, 10 % mixed."""
    gender = "female" if rng.random() < 0.55 else "male"
    first = rng.choice(FEMALE_NAMES if gender == "female" else MALE_NAMES)
    family = rng.choice(FAMILY_NAMES)
    script = rng.random()
    if script < 0.65:
        first_name, last_name = first[0], family[0]
    elif script < 0.90:
        first_name, last_name = first[1], family[1]
    else:
        first_name, last_name = first[0], family[1]
    return Identity(gender, first_name, last_name, first[0], family[0])


def birth_date_for(rng: random.Random, enrolled_on: date, youth: holders.YouthRange) -> date:
    """A birth date that gives an age at enrolment inside the youth range."""
    age = rng.randint(youth.min_age, youth.max_age)
    anniversary = date(enrolled_on.year - age, enrolled_on.month, min(enrolled_on.day, 28))
    birth = anniversary - timedelta(days=rng.randint(0, 360))
    while holders.age_on(birth, enrolled_on) > youth.max_age:
        birth += timedelta(days=1)
    while holders.age_on(birth, enrolled_on) < youth.min_age:
        birth -= timedelta(days=1)
    return birth


def status_for(rng: random.Random, enrolled_on: date, today: date) -> str:
    """Recent enrolments are mostly still applicants; older ones have moved on."""
    months = (today - enrolled_on).days / 30.4
    if months < 3:
        options, weights = ["applicant", "eligible", "in_support"], [50, 35, 15]
    elif months < 12:
        options = ["eligible", "in_support", "enterprise_created", "dropped"]
        weights = [15, 50, 25, 10]
    else:
        options = ["in_support", "enterprise_created", "graduated", "dropped"]
        weights = [25, 40, 25, 10]
    return rng.choices(options, weights)[0]


def national_id(rng: random.Random, taken: set[str]) -> str:
    while True:
        prefix = rng.choice(CIN_PREFIXES)
        candidate = f"{prefix}{rng.randint(10_000, 999_999)}"
        if candidate not in taken:
            taken.add(candidate)
            return candidate


def email_for(identity: Identity, n: int) -> str:
    allowed = set(string.ascii_lowercase + string.digits)
    local = ".".join(
        "".join(c for c in fold(part) if c in allowed)
        for part in (identity.latin_first, identity.latin_last)
    )
    return f"{local}{n}@example.ma"


def holder_values(
    rng: random.Random,
    centre: Centre,
    adviser_id: int | None,
    region: Region,
    taken: set[str],
    today: date,
    youth: holders.YouthRange,
    n: int,
) -> dict[str, Any]:
    identity = pick_identity(rng)
    area = "rural" if rng.random() < 0.4 else "urban"
    sector = rng.choice(RURAL_SECTORS if area == "rural" else URBAN_SECTORS)
    enrolled_on = random_day(rng, today - timedelta(days=3 * 365), today)
    status = status_for(rng, enrolled_on, today)
    has_project = status != "applicant" or rng.random() < 0.5
    return {
        "centre_id": centre.id,
        "adviser_id": adviser_id,
        "first_name": identity.first_name,
        "last_name": identity.last_name,
        "national_id": national_id(rng, taken),
        "birth_date": birth_date_for(rng, enrolled_on, youth),
        "gender": identity.gender,
        "phone": (
            f"+212{rng.choice('67')}{rng.randint(0, 99_999_999):08d}"
            if rng.random() < 0.85
            else None
        ),
        "email": email_for(identity, n) if rng.random() < 0.35 else None,
        "address": None,
        "region": region.value,
        "province": rng.choice(PROVINCES[region]),
        "area": area,
        "education_level": rng.choices(EDUCATION, EDUCATION_WEIGHTS)[0],
        "household_vulnerable": rng.random() < 0.7,
        "status": status,
        "enrolled_on": enrolled_on,
        "sector": sector if has_project else None,
        "project_summary": PROJECTS[sector] if has_project else None,
    }


async def seed(session: AsyncSession, rng: random.Random, today: date, scale: int) -> None:
    settings = get_settings()
    youth = holders.YouthRange(settings.youth_min_age, settings.youth_max_age)
    centres = (await session.execute(select(Centre).order_by(Centre.id))).scalars().all()
    users = (
        (await session.execute(select(User).where(User.is_active.is_(True)).order_by(User.id)))
        .scalars()
        .all()
    )
    admins = [u for u in users if u.role == "admin"]
    taken = {cin for cin in (await session.execute(select(Holder.national_id))).scalars() if cin}
    regions = list(Region)
    other_region = 0
    for centre in centres:
        advisers = [u for u in users if u.role == "adviser" and u.centre_id == centre.id]
        staff = advisers or [u for u in users if u.role == "manager" and u.centre_id == centre.id]
        if not staff and not admins:
            continue
        for n in range(HOLDERS_PER_CENTRE * scale):
            adviser = staff[n % len(staff)] if staff else None
            actor: Actor = actor_of(adviser if adviser else admins[0])
            # Most holders live in their centre's region; the others cycle through all 12.
            if n % 10 < 7:
                region = Region(centre.region)
            else:
                region = regions[other_region % len(regions)]
                other_region += 1
            values = holder_values(
                rng, centre, adviser.id if adviser else None, region, taken, today, youth, n
            )
            await holders.create_holder(
                session, actor, HolderCreate.model_validate(values), today=today, youth=youth
            )
