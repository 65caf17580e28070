"""One generated portfolio per test module, inside a transaction rolled back at its end.

`portfolio` fills the module's connection once; `report_client` serves the app on that
same connection (requests join it through savepoints) with `today` fixed, so that the
as-of-today fast path and the history path are both exercised deterministically.
Modules that use these fixtures must not also use the per-test `session`/`client`
fixtures (another connection: SQLite would wait for this one's write lock).
"""

import random
from collections.abc import AsyncIterator
from datetime import date

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.core.config import Settings
from app.core.db import create_sessionmaker
from app.main import create_app
from app.users.models import User
from tests.helpers import auth
from tests.reports.generator import GeneratedPortfolio, PortfolioSize, generate_portfolio
from tests.reports.plan import EDGES, SEED, TODAY
from tests.reports.reference import Snapshot, load_snapshot
from tests.users.factories import make_user


class FixedTodaySettings(Settings):
    """Settings whose `today()` is pinned, so that generated dates and defaults agree."""

    def today(self) -> date:
        return TODAY


@pytest.fixture(scope="module")
async def portfolio_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        if transaction.is_active:
            await transaction.rollback()


@pytest.fixture(scope="module")
def portfolio_size() -> PortfolioSize:
    return PortfolioSize()


@pytest.fixture(scope="module")
async def portfolio_session(
    portfolio_connection: AsyncConnection,
) -> AsyncIterator[AsyncSession]:
    maker = create_sessionmaker(portfolio_connection, join_transaction_mode="create_savepoint")
    async with maker() as session:
        yield session


@pytest.fixture(scope="module")
async def portfolio(
    portfolio_session: AsyncSession, portfolio_size: PortfolioSize
) -> GeneratedPortfolio:
    generated = await generate_portfolio(
        portfolio_session, random.Random(SEED), today=TODAY, size=portfolio_size, edges=EDGES
    )
    await portfolio_session.commit()
    return generated


@pytest.fixture(scope="module")
async def snapshot(portfolio_session: AsyncSession, portfolio: GeneratedPortfolio) -> Snapshot:
    return await load_snapshot(portfolio_session)


@pytest.fixture(scope="module")
def report_settings(settings: Settings) -> Settings:
    return FixedTodaySettings(
        environment="development",
        database_url=settings.database_url,
        secret_key=settings.signing_key,
    )


@pytest.fixture(scope="module")
def report_app(report_settings: Settings, portfolio_connection: AsyncConnection) -> FastAPI:
    application = create_app(report_settings)
    application.state.sessionmaker = create_sessionmaker(
        portfolio_connection, join_transaction_mode="create_savepoint"
    )
    return application


@pytest.fixture(scope="module")
async def report_client(report_app: FastAPI) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=report_app)
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture(scope="module")
async def national_manager(portfolio_session: AsyncSession, portfolio: GeneratedPortfolio) -> User:
    user = await make_user(portfolio_session, "manager", None)
    await portfolio_session.commit()
    return user


@pytest.fixture(scope="module")
def national_headers(national_manager: User, report_settings: Settings) -> dict[str, str]:
    return auth(national_manager, report_settings)
