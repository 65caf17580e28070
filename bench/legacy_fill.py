"""Fill a migrated, empty PostgreSQL database with the tests' portfolio generator
(tests/reports/generator.py), for the harness to run before `tracker demo-data --loans`
exists. One transaction of bulk inserts: fine for thousands of loans, not for a million.

    .venv/bin/python bench/legacy_fill.py --url postgresql://postgres@127.0.0.1/bench_5000 \\
        --loans 5000
"""

import argparse
import asyncio
import random
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.db import create_engine, create_sessionmaker  # noqa: E402
from bench.reports_bench import size_for  # noqa: E402
from tests.reports.generator import generate_portfolio  # noqa: E402


async def fill(url: str, loans: int, seed: int) -> None:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        await generate_portfolio(
            session, random.Random(seed), today=date.today(), size=size_for(loans), tag="B"
        )
        await session.commit()
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--loans", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(fill(args.url, args.loans, args.seed))


if __name__ == "__main__":
    main()
