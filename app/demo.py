"""Demo data: centres and users here, then each domain's own `seed`."""

import random
import secrets
from collections.abc import Awaitable, Callable
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.coaching.demo import seed as seed_coaching
from app.core.config import get_settings
from app.core.db import create_engine, create_sessionmaker
from app.core.errors import DomainError
from app.core.scope import Role
from app.holders.demo import seed as seed_holders
from app.loans.demo import seed as seed_loans
from app.users import service as users
from app.users.models import User
from app.users.passwords import MIN_PASSWORD_LENGTH

CENTRES = [
    ("CAS-01", "Centre d'entreprises solidaires de Casablanca", "casablanca_settat", "Casablanca"),
    ("FES-01", "Centre d'entreprises solidaires de Fès", "fes_meknes", "Fès"),
    ("AGA-01", "Centre d'entreprises solidaires d'Agadir", "souss_massa", "Agadir"),
]

ADVISERS = [
    ("Salma Bennani", "سلمى بناني"),
    ("Youssef El Idrissi", "يوسف الإدريسي"),
    ("Khadija Ouazzani", "خديجة الوزاني"),
    ("Hamza Tazi", "حمزة التازي"),
    ("Meryem Chraibi", "مريم الشرايبي"),
    ("Omar Benjelloun", "عمر بنجلون"),
]


async def create_user_account(
    email: str, password: str, role: Role, centre_id: int | None, full_name: str
) -> int:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    settings = get_settings()
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            try:
                user = await users.create_user(
                    session,
                    None,
                    email=email,
                    full_name=full_name,
                    password=password,
                    role=role,
                    centre_id=centre_id,
                )
            except DomainError as exc:
                raise ValueError(exc.detail) from exc
            await session.commit()
            return user.id
    finally:
        await engine.dispose()


async def seed_centres_and_users(session: AsyncSession, scale: int) -> list[tuple[str, str, str]]:
    """Centres, one account per role, and advisers; returns (email, password, role)."""
    credentials: list[tuple[str, str, str]] = []
    centres: list[Centre] = []
    for code, name, region, city in CENTRES:
        centre = Centre(
            code=code,
            name=name,
            kind="enterprise_centre",
            region=region,
            city=city,
            opened_on=date(2018, 9, 1),
            version=1,
        )
        session.add(centre)
        centres.append(centre)
    await session.flush()

    async def account(email: str, role: Role, centre_id: int | None, full_name: str) -> None:
        password = secrets.token_urlsafe(9)
        await users.create_user(
            session,
            None,
            email=email,
            full_name=full_name,
            password=password,
            role=role,
            centre_id=centre_id,
        )
        credentials.append((email, password, role.value))

    await account("admin@demo.ma", Role.admin, None, "Administrateur")
    await account("manager@demo.ma", Role.manager, None, "Nadia Berrada")
    await account("manager.cas@demo.ma", Role.manager, centres[0].id, "Rachid Alami")
    await account("adviser@demo.ma", Role.adviser, centres[0].id, ADVISERS[0][0])
    await account("viewer@demo.ma", Role.viewer, None, "Observatoire régional")
    advisers_per_centre = max(1, scale)
    names = iter(ADVISERS[1:] * (advisers_per_centre * len(centres)))
    for index, centre in enumerate(centres):
        for n in range(advisers_per_centre if index else advisers_per_centre - 1):
            full_name = next(names)[0]
            email = f"adviser{index + 1}{n + 1}@demo.ma"
            password = secrets.token_urlsafe(9)
            await users.create_user(
                session,
                None,
                email=email,
                full_name=full_name,
                password=password,
                role=Role.adviser,
                centre_id=centre.id,
            )
    return credentials


async def load_demo_data(
    scale: int = 1, if_empty: bool = False, seed: int = 2026
) -> list[tuple[str, str, str]] | None:
    """Load the demo data set; None when `if_empty` and users already exist."""
    settings = get_settings()
    engine = create_engine(settings.database_url)
    rng = random.Random(seed)
    today = settings.today()
    try:
        async with create_sessionmaker(engine)() as session:
            existing = (await session.execute(select(func.count(User.id)))).scalar_one()
            if if_empty and existing:
                return None
            credentials = await seed_centres_and_users(session, scale)
            for seed_domain in DOMAIN_SEEDS:
                await seed_domain(session, rng, today, scale)
            await session.commit()
            return credentials
    finally:
        await engine.dispose()


DomainSeed = Callable[[AsyncSession, random.Random, date, int], Awaitable[None]]

DOMAIN_SEEDS: tuple[DomainSeed, ...] = (seed_holders, seed_loans, seed_coaching)
"""Each domain's `seed(session, rng, today, scale)`, in dependency order."""
