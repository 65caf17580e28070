"""Benchmark of the portfolio report on PostgreSQL (a script, not a test).

It migrates the database given by URL (creating it when missing), fills it once with a
generated portfolio of N loans when it holds none (bulk inserts; the same generator as
tests/reports), then times, warm, in the same run:

- the baseline `SELECT count(*) FROM installments`;
- the portfolio report (group_by centre) as of today: the loans' summary columns;
- the portfolio report as of past dates: the dated allocation history;
- the same past-date report grouped by age band (a parameterised group key);
- one centre's report by adviser, as of today and as of a past date (a centre manager's);

and prints each one's median time and its ratio to the baseline, so that figures from
different machines compare.

Run from the repository root (the database is created when missing, data kept between
runs; `--fresh` drops and recreates it):

    .venv/bin/python bench/reports_bench.py \\
        --url postgresql://postgres@127.0.0.1/reports_bench --loans 20000

Options: `--repeat` timings per query (median kept, default 7), `--seed`, `--fresh`,
`--explain` (prints EXPLAIN ANALYZE of the past-date statements).
"""

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402
from sqlalchemy import create_engine as create_sync_engine  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from app.core.db import create_engine, create_sessionmaker, sync_url  # noqa: E402
from app.loans.models import Loan  # noqa: E402
from app.reports.portfolio import portfolio_report, portfolio_statement  # noqa: E402
from app.reports.schemas import PortfolioGroup  # noqa: E402
from tests.database import alembic_config  # noqa: E402
from tests.reports.generator import PortfolioSize, generate_portfolio  # noqa: E402

LOANS_PER_CENTRE = 1000


def prepare_database(url: str, fresh: bool) -> None:
    name = make_url(url).database
    admin = create_sync_engine(
        sync_url(make_url(url).set(database="postgres").render_as_string(hide_password=False)),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )
    with admin.connect() as connection:
        if fresh:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    command.upgrade(alembic_config(url), "head")


def size_for(loans: int) -> PortfolioSize:
    centres = max(1, round(loans / LOANS_PER_CENTRE))
    per_centre = max(1, loans // centres)
    return PortfolioSize(
        centres=centres,
        advisers_per_centre=6,
        holders_per_centre=max(40, per_centre * 2 // 3),
        enterprises_per_centre=max(18, per_centre // 5),
        sessions_per_centre=max(35, per_centre // 3),
        loans_per_centre=per_centre,
        behaviour_weights=(82, 8, 4, 4, 2),
    )


async def timed(repeat: int, run: Callable[[], Awaitable[Any]]) -> float:
    await run()  # warm the cache and the statement
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="postgresql://user@host/database")
    parser.add_argument("--loans", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    if make_url(args.url).get_backend_name() != "postgresql":
        parser.error("the benchmark runs on PostgreSQL")

    prepare_database(args.url, args.fresh)
    engine = create_engine(args.url)
    sessionmaker = create_sessionmaker(engine)
    today = date.today()

    async with sessionmaker() as session:
        existing = (await session.execute(select(func.count()).select_from(Loan))).scalar_one()
    if existing == 0:
        started = time.perf_counter()
        async with sessionmaker() as session:
            await generate_portfolio(
                session, random.Random(args.seed), today=today, size=size_for(args.loans), tag="B"
            )
            await session.commit()
        vacuum = create_sync_engine(
            sync_url(args.url), isolation_level="AUTOCOMMIT", poolclass=NullPool
        )
        with vacuum.connect() as connection:
            connection.execute(text("VACUUM ANALYZE"))
        vacuum.dispose()
        print(f"generated {args.loans} loans in {time.perf_counter() - started:.1f} s")

    async with sessionmaker() as session:
        counts = {
            table: (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            for table in ("loans", "installments", "allocations", "loan_transactions")
        }
    print("rows: " + ", ".join(f"{table} {count:,}" for table, count in counts.items()))

    async def baseline(session: AsyncSession) -> None:
        await session.execute(text("SELECT count(*) FROM installments"))

    async with sessionmaker() as session:
        one_centre = (await session.execute(select(func.min(Loan.centre_id)))).scalar_one()

    def report(
        as_of: date, group_by: PortfolioGroup, centre_id: int | None = None
    ) -> Callable[[AsyncSession], Awaitable[Any]]:
        async def run(session: AsyncSession) -> None:
            await portfolio_report(
                session, as_of=as_of, today=today, group_by=group_by, centre_id=centre_id
            )

        return run

    cases: list[tuple[str, Callable[[AsyncSession], Awaitable[Any]]]] = [
        ("baseline: SELECT count(*) FROM installments", baseline),
        ("portfolio by centre as of today", report(today, PortfolioGroup.centre)),
        (
            "portfolio by centre as of today - 30 days",
            report(today - timedelta(days=30), PortfolioGroup.centre),
        ),
        (
            "portfolio by centre as of today - 365 days",
            report(today - timedelta(days=365), PortfolioGroup.centre),
        ),
        (
            "portfolio by age band as of today - 30 days",
            report(today - timedelta(days=30), PortfolioGroup.age_band),
        ),
        (
            "one centre by adviser as of today",
            report(today, PortfolioGroup.adviser, one_centre),
        ),
        (
            "one centre by adviser as of today - 30 days",
            report(today - timedelta(days=30), PortfolioGroup.adviser, one_centre),
        ),
    ]
    results = []
    async with sessionmaker() as session:
        for name, case in cases:

            def run(case: Callable[[AsyncSession], Awaitable[Any]] = case) -> Awaitable[Any]:
                return case(session)

            results.append((name, await timed(args.repeat, run)))
        if args.explain:
            for days in (30, 365):
                statement = portfolio_statement(
                    today - timedelta(days=days), today, PortfolioGroup.centre, None
                )
                compiled = statement.compile(
                    engine.sync_engine, compile_kwargs={"literal_binds": True}
                )
                plan = await session.execute(text(f"EXPLAIN ANALYZE {compiled}"))
                print(f"\nEXPLAIN ANALYZE, as of today - {days} days:")
                print("\n".join(row[0] for row in plan))
    await engine.dispose()

    base = results[0][1]
    print(f"\n{'query':50} {'median ms':>10} {'x baseline':>11}")
    for name, seconds in results:
        print(f"{name:50} {seconds * 1000:10.1f} {seconds / base:11.2f}")


if __name__ == "__main__":
    asyncio.run(main())
