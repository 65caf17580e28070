"""Benchmark of the managers' pages on PostgreSQL (a script, not a test).

It prepares the database like bench/reports_bench.py (migrated, filled once with a
generated portfolio of N loans), adds an admin and a manager of one centre when missing,
starts a real uvicorn server (one worker) on a free port, and times, warm, in the same
run, each over HTTP with a session cookie:

- the floors: `GET /health/live` (a bare endpoint) and the hand-written
  `SELECT count(*) FROM installments` (through the same driver, outside the server);
- `/dashboard?centre_id=` of one centre (target < 1 s) and `/dashboard` of all centres
  (target < 2 s): each is 13 as-of portfolio totals (the trend), today's portfolio, 12
  months of flows and this year's activity report;
- `/reports/activity/{year}` of all centres for last year and this year (target < 3 s);
- the API's `/reports/portfolio/trend` and `/reports/activity` of all centres, for
  comparison;

and prints each one's median time and its ratio to the floors.

Run from the repository root:

    .venv/bin/python bench/pages_bench.py \\
        --url postgresql://postgres@127.0.0.1/reports_bench --loans 20000

Options: `--repeat` timings per page (median kept, default 5), `--seed`, `--fresh`.
"""

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker  # noqa: E402

from app.centres.models import Centre  # noqa: E402
from app.core.db import create_engine, create_sessionmaker  # noqa: E402
from app.core.security import create_access_token  # noqa: E402
from app.loans.models import Loan  # noqa: E402
from app.users.models import User  # noqa: E402
from bench.reports_bench import prepare_database, size_for  # noqa: E402
from tests.pages.server import SECRET_KEY, serve  # noqa: E402
from tests.reports.generator import generate_portfolio  # noqa: E402
from tests.users.factories import make_user  # noqa: E402

ADMIN_EMAIL, MANAGER_EMAIL = "bench.admin@pages.ma", "bench.manager@pages.ma"


async def fill(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], loans: int, seed: int
) -> None:
    async with sessionmaker() as session:
        existing = (await session.execute(select(func.count()).select_from(Loan))).scalar_one()
    if existing:
        return
    started = time.perf_counter()
    async with sessionmaker() as session:
        await generate_portfolio(
            session, random.Random(seed), today=date.today(), size=size_for(loans), tag="B"
        )
        await session.commit()
    async with engine.connect() as connection:
        # autovacuum may be off: the planner needs the new tables' statistics.
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE"))
    print(f"generated {loans} loans in {time.perf_counter() - started:.1f} s")


async def accounts(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[int, int, int]:
    """(admin id, manager id, the manager's centre id), created when missing."""
    async with sessionmaker() as session:
        centre = await session.scalar(select(Centre).order_by(Centre.id).limit(1))
        assert centre is not None
        ids = []
        for email, role, home in ((ADMIN_EMAIL, "admin", None), (MANAGER_EMAIL, "manager", centre)):
            user = await session.scalar(select(User).where(User.email == email))
            if user is None:
                user = await make_user(session, role, home, email=email)
            ids.append(user.id)
        await session.commit()
        return ids[0], ids[1], centre.id


async def timed(client: httpx.AsyncClient, path: str, cookie: str, repeat: int) -> float:
    headers = {"Cookie": f"tracker_session={cookie}"} if cookie else {}
    if path.startswith("/api/"):
        headers = {"Authorization": f"Bearer {cookie}"}
    response = await client.get(path, headers=headers)  # warm
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = await client.get(path, headers=headers)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200
    return statistics.median(samples)


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", required=True, help="postgresql://user@host/database")
    parser.add_argument("--loans", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    if make_url(args.url).get_backend_name() != "postgresql":
        parser.error("the benchmark runs on PostgreSQL")

    prepare_database(args.url, args.fresh)
    engine = create_engine(args.url)
    sessionmaker = create_sessionmaker(engine)
    await fill(engine, sessionmaker, args.loans, args.seed)
    admin_id, manager_id, centre_id = await accounts(sessionmaker)
    async with sessionmaker() as session:
        counts = {
            table: (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            for table in ("centres", "loans", "installments", "allocations", "holders")
        }
        samples = []
        await session.execute(text("SELECT count(*) FROM installments"))
        for _ in range(args.repeat):
            started = time.perf_counter()
            await session.execute(text("SELECT count(*) FROM installments"))
            samples.append(time.perf_counter() - started)
        sql_floor = statistics.median(samples)
    await engine.dispose()
    print("rows: " + ", ".join(f"{table} {count:,}" for table, count in counts.items()))

    admin, _ = create_access_token(admin_id, SECRET_KEY, 120)
    manager, _ = create_access_token(manager_id, SECRET_KEY, 120)
    this_year = date.today().year
    cases = [
        ("floor: GET /health/live", "/health/live", ""),
        (
            f"/dashboard?centre_id={centre_id} (manager of one centre)",
            f"/dashboard?centre_id={centre_id}",
            manager,
        ),
        ("/dashboard (admin, all centres)", "/dashboard", admin),
        (
            f"/reports/activity/{this_year - 1} (all centres)",
            f"/reports/activity/{this_year - 1}",
            admin,
        ),
        (f"/reports/activity/{this_year} (all centres)", f"/reports/activity/{this_year}", admin),
        ("API /reports/portfolio/trend (all centres)", "/api/v1/reports/portfolio/trend", admin),
        (
            f"API /reports/activity?year={this_year - 1} (all centres)",
            f"/api/v1/reports/activity?year={this_year - 1}",
            admin,
        ),
    ]
    with (
        tempfile.TemporaryDirectory() as directory,
        serve(args.url, Path(directory) / "server.log") as server,
    ):
        async with httpx.AsyncClient(base_url=server.base_url, timeout=120) as client:
            results = [
                (name, await timed(client, path, cookie, args.repeat))
                for name, path, cookie in cases
            ]
    http_floor = results[0][1]
    print(f"\nSQL floor (SELECT count(*) FROM installments): {sql_floor * 1000:.1f} ms")
    print(f"{'case':<58} {'median':>9} {'x /health':>10} {'x SQL':>8}")
    for name, seconds in results:
        print(
            f"{name:<58} {seconds * 1000:>7.0f}ms {seconds / http_floor:>10.0f} "
            f"{seconds / sql_floor:>8.1f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
