"""The small demo data set behind `make run`: everything goes through the services, so every
rule and audit event applies, and the volume follows `scale`."""

import random
from collections.abc import Awaitable, Callable
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import get_settings
from app.core.db import create_engine, create_sessionmaker
from app.demo import centres, coaching, enterprises, followups, holders, loans, users
from app.demo.users import Credential
from app.users.models import User

DomainSeed = Callable[[AsyncSession, random.Random, date, int], Awaitable[None]]

DOMAIN_SEEDS: tuple[DomainSeed, ...] = (
    holders.seed,
    enterprises.seed,
    loans.seed,
    coaching.seed,
    followups.seed,
)
"""Each domain's `seed(session, rng, today, scale)`, in dependency order."""


async def load_demo_data(
    scale: int = 1, if_empty: bool = False, seed: int = 2026
) -> list[Credential] | None:
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
            credentials = await users.seed(session, await centres.seed(session), scale)
            for seed_domain in DOMAIN_SEEDS:
                await seed_domain(session, rng, today, scale)
            await session.commit()
            return credentials
    finally:
        await engine.dispose()
