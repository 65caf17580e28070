"""The same statement imported twice at once is recorded once: the second import waits for
the first's loan locks, then finds its receipts and skips them. Runs on a scratch database of
its own, since both imports really commit."""

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import pytest
from alembic import command
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.db import create_engine, create_sessionmaker
from app.holders.service import YouthRange
from app.imports import reading
from app.imports.kinds import ImportKind
from app.imports.rows import ImportReport, ImportSettings
from app.imports.service import run_import
from app.loans.models import LoanTransaction
from app.users.service import actor_of
from tests.database import BACKENDS, PG_URL, alembic_config, drop_postgres_database, make_database
from tests.holders.factories import make_holder
from tests.imports.factories import ImportWorld, csv_file, make_import_world

SETTINGS = ImportSettings(
    today=date(2025, 6, 30),
    youth=YouthRange(18, 35),
    legal_ceiling=Decimal("150000.00"),
)
LOANS = 8


@pytest.fixture(params=BACKENDS)
async def scratch_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncEngine]:
    backend: str = request.param
    url = make_database(backend, tmp_path_factory.mktemp(f"imports-{backend}"))
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    yield engine
    await engine.dispose()
    if backend == "postgresql":
        assert PG_URL is not None
        drop_postgres_database(PG_URL, url)


def loans_file(national_ids: list[str]) -> bytes:
    columns = [
        "holder_national_id",
        "lender_code",
        "product_name",
        "reference",
        "principal",
        "term",
        "purpose",
        "applied_on",
        "disbursed_on",
    ]
    rows = [
        {
            "holder_national_id": cin,
            "lender_code": "AMC-ATT",
            "product_name": "Crédit TPE mensuel",
            "reference": f"C-{n}",
            "principal": "12000",
            "term": "12",
            "purpose": "Stock",
            "applied_on": "2025-01-02",
            "disbursed_on": "2025-01-10",
        }
        for n, cin in enumerate(national_ids)
    ]
    return csv_file(columns, rows)


def statement_file() -> bytes:
    rows = [
        {
            "lender_code": "AMC-ATT",
            "reference": f"C-{n}",
            "paid_on": f"2025-0{month}-10",
            "amount": "1100,00",
            "receipt": f"R-{n}-{month}",
        }
        for n in range(LOANS)
        for month in (2, 3, 4)
    ]
    return csv_file(["lender_code", "reference", "paid_on", "amount", "receipt"], rows)


async def test_the_same_statement_imported_twice_at_once_is_recorded_once(
    scratch_engine: AsyncEngine,
) -> None:
    maker = create_sessionmaker(scratch_engine)
    async with maker() as session:
        world: ImportWorld = await make_import_world(session)
        holders = [await make_holder(session, world.centre) for _ in range(LOANS)]
        manager = actor_of(world.manager)
        await run_import(
            session,
            manager,
            ImportKind.loans,
            reading.open_table(io.BytesIO(loans_file([h.national_id or "" for h in holders]))),
            SETTINGS,
        )
        await session.commit()

    first_done = asyncio.Event()
    release_first = asyncio.Event()

    async def first() -> ImportReport:
        async with maker() as session:
            table = reading.open_table(io.BytesIO(statement_file()))
            report = await run_import(session, manager, ImportKind.repayments, table, SETTINGS)
            first_done.set()
            await release_first.wait()  # hold the loans' locks while the second one starts
            await session.commit()
            return report

    async def second() -> ImportReport:
        await first_done.wait()
        async with maker() as session:
            table = reading.open_table(io.BytesIO(statement_file()))
            report = await run_import(session, manager, ImportKind.repayments, table, SETTINGS)
            await session.commit()
            return report

    async def release_later() -> None:
        await first_done.wait()
        await asyncio.sleep(0.5)
        release_first.set()

    reports = await asyncio.gather(first(), second(), release_later())
    one, two = reports[0], reports[1]
    assert one is not None and two is not None
    assert (one.created, one.skipped) == (LOANS * 3, 0)
    assert (two.created, two.skipped) == (0, LOANS * 3)
    async with maker() as session:
        count = (
            select(func.count())
            .select_from(LoanTransaction)
            .where(LoanTransaction.kind == "repayment")
        )
        assert (await session.execute(count)).scalar_one() == LOANS * 3
