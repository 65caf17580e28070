"""With REPORTS_DATABASE_URL set, reports read the replica; everything else the primary."""

from pathlib import Path

from alembic import command
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.config import Settings
from app.core.db import create_sessionmaker
from app.main import create_app
from tests.database import alembic_config
from tests.helpers import auth
from tests.loans.factories import make_active_loan, make_world


async def test_reports_read_the_replica_when_one_is_configured(
    settings: Settings, connection: AsyncConnection, session: AsyncSession, tmp_path: Path
) -> None:
    world = await make_world(session)
    await make_active_loan(session, world.admin_actor, world.holder, world.product)
    await session.commit()

    replica_url = f"sqlite:///{tmp_path / 'replica.db'}"
    command.upgrade(alembic_config(replica_url), "head")
    app = create_app(settings.model_copy(update={"reports_database_url": replica_url}))
    app.state.sessionmaker = create_sessionmaker(
        connection, join_transaction_mode="create_savepoint"
    )
    headers = auth(world.manager, settings)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
        loans = await http.get("/api/v1/loans", headers=headers)
        portfolio = await http.get("/api/v1/reports/portfolio", headers=headers)
    await app.state.reports_engine.dispose()
    await app.state.engine.dispose()

    assert loans.json()["total"] == 1
    # The replica is empty (nothing replicated in this test), so the report is too.
    assert portfolio.status_code == 200
    assert portfolio.json()["rows"] == []
    assert portfolio.json()["total"]["active_loans"] == 0


async def test_without_a_replica_reports_read_the_primary(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    world = await make_world(session)
    await make_active_loan(session, world.admin_actor, world.holder, world.product)
    await session.commit()
    portfolio = await client.get("/api/v1/reports/portfolio", headers=auth(world.manager, settings))
    assert portfolio.json()["total"]["active_loans"] == 1
