"""The site the browser tests read: its accounts and generated portfolio."""

import random
from dataclasses import dataclass

from sqlalchemy import update

from app.centres.models import Centre
from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from tests.pages.server import Server
from tests.reports.generator import GeneratedPortfolio, PortfolioSize, generate_portfolio
from tests.users.factories import PASSWORD, make_user

ARABIC_CENTRE = "مركز أنفا للمقاولات"
ARABIC_MANAGER = "فاطمة الزهراء العلوي"


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    centre_id: int | None


@dataclass(frozen=True)
class Site:
    backend: str
    server: Server
    portfolio: GeneratedPortfolio
    admin: Account
    manager: Account  # of centre_ids[0], whose name is in Arabic
    viewer: Account  # of centre_ids[1]

    @property
    def base_url(self) -> str:
        return self.server.base_url


async def fill(database_url: str) -> tuple[GeneratedPortfolio, Account, Account, Account]:
    """A generated portfolio whose history ends today, and one account per role tested."""
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            today = Settings(secret_key="x" * 40).today()
            generated = await generate_portfolio(
                session,
                random.Random(20261202),
                today=today,
                size=PortfolioSize(centres=3, holders_per_centre=30, loans_per_centre=45),
            )
            first, second = generated.centre_ids[0], generated.centre_ids[1]
            await session.execute(
                update(Centre).where(Centre.id == first).values(name=ARABIC_CENTRE)
            )
            centres = {c: await session.get(Centre, c) for c in (first, second)}
            admin = await make_user(session, "admin", None)
            manager = await make_user(session, "manager", centres[first], full_name=ARABIC_MANAGER)
            viewer = await make_user(session, "viewer", centres[second])
            await session.commit()
            return (
                generated,
                Account(admin.email, PASSWORD, None),
                Account(manager.email, PASSWORD, first),
                Account(viewer.email, PASSWORD, second),
            )
    finally:
        await engine.dispose()
