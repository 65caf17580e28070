"""The report cases of issue #9 on an existing database, beside their floors, in one run
(a script, not a test; it never creates or drops a database).

It serves the service with `tracker serve` on `--port` (1 worker) against `--url`, logs in
with an existing admin account, and times, each as the median of `--repeat` sequential
calls after one warm call, the service's call and its floors taking turns in each round:

- the portfolio report by centre and by gender as of today, the last month end,
  137 and 365 days ago (HTTP, JSON) beside the fastest of the hand-written variants of
  `bench/floors.py` (asyncpg), after asserting that both give the same figures (at a
  stored month end, reading the stored positions is one of the variants);
- as of today, the PAR30-only query over the loans' summary columns too (the "within 3x"
  reference);
- the trend of the busiest centre (13 dates) beside 13 runs of that centre's floor, after
  checking the trend's points against the portfolio report at every date;
- `GET /loans?limit=500` and `GET /loans?limit=500&centre_id=...`.

    .venv/bin/python bench/report_statements.py \\
        --url postgresql://postgres@127.0.0.1/reports_perf_100k --port 8160 \\
        --email admin@demo.ma --password "$(awk '$1=="admin@demo.ma"{print $2}' \\
        var/demo-credentials.txt)"

`--only NAME` keeps the cases whose name contains NAME (repeatable); `--serve-from DIR`
serves the `app/` found in DIR instead (e.g. `git archive main app | tar -x -C DIR`, to
time the code before a change on the same database).
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import floors  # noqa: E402
from bench.harness import (  # noqa: E402
    MONTH_END_VARIANTS,
    PAST_VARIANTS,
    STORED_MONTH_VARIANTS,
    month_end_before,
)

API = "/api/v1"
TRACKER = str(Path(sys.executable).parent / "tracker")


@contextmanager
def serving(url: str, port: int, serve_from: Path) -> Iterator[None]:
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    if serve_from != ROOT:
        # Another copy of `app/` (e.g. `git archive main app`), to time it on the same data.
        env["PYTHONPATH"] = str(serve_from)
    env.setdefault("SECRET_KEY", "report-statements-secret-0123456789-0123456789")
    server = subprocess.Popen(
        [TRACKER, "serve", "--port", str(port)],
        env=env,
        cwd=serve_from,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).is_success:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None:
                raise SystemExit(f"tracker serve exited with {server.returncode}")
            time.sleep(0.2)
        else:
            raise SystemExit("tracker serve did not become ready")
        yield
    finally:
        server.terminate()
        server.wait(timeout=30)


async def median_ms(repeat: int, call: Callable[[], Awaitable[Any]]) -> float:
    await call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return 1000 * statistics.median(samples)


async def interleaved_ms(
    repeat: int, calls: list[Callable[[], Awaitable[Any]]], always: int = 1
) -> list[float]:
    """Each call's median time, the calls taking turns in each round (after one warm round),
    so that a change in the machine's load weighs on all of them alike. As in the harness,
    a floor variant (every call after the first `always`) more than 3x slower than the
    fastest variant in the warm round is not the floor: it keeps its warm time and leaves
    the rounds."""
    warm = []
    for call in calls:
        started = time.perf_counter()
        await call()
        warm.append(time.perf_counter() - started)
    fastest = min(warm[always:], default=0.0)
    timed = [index for index in range(len(calls)) if index < always or warm[index] <= 3 * fastest]
    samples: dict[int, list[float]] = {index: [] for index in timed}
    for _ in range(repeat):
        for index in timed:
            started = time.perf_counter()
            await calls[index]()
            samples[index].append(time.perf_counter() - started)
    return [
        1000 * (statistics.median(samples[index]) if index in samples else warm[index])
        for index in range(len(calls))
    ]


# Functions (group_by, one_centre) -> SQL of the hand-written floors of one case.
Variants = list[Callable[[str, bool], str]]


async def past_variants(connection: asyncpg.Connection, as_of: date) -> Variants:
    """The floor variants for a past date: those reading a stored month end come first
    when the end of the date's month is stored (they give the service's figures only then)."""
    month_end = (as_of.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    stored = await connection.fetchval(
        "SELECT count(*) FROM stored_month_ends WHERE month_end = $1", month_end
    )
    if not stored:
        return list(PAST_VARIANTS)
    return list(MONTH_END_VARIANTS if as_of == month_end else STORED_MONTH_VARIANTS)


async def agreeing_floors(
    connection: asyncpg.Connection, sqls: list[str], args: tuple[Any, ...], expected: Any
) -> list[Callable[[], Awaitable[Any]]]:
    """A call per floor variant, after checking that it gives the service's figures."""
    calls: list[Callable[[], Awaitable[Any]]] = []
    for sql in sqls:
        found = floors.differences(
            expected, floors.portfolio_rows(await floors.fetch(connection, sql, *args))
        )
        if found:
            raise SystemExit(f"floor and service disagree: {found[:5]}")
        calls.append(partial(floors.fetch, connection, sql, *args))
    return calls


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="postgresql://user@host/database")
    parser.add_argument("--port", type=int, default=8160)
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument(
        "--serve-from", type=Path, default=ROOT, help="directory holding the app/ to serve"
    )
    args = parser.parse_args()

    def wanted(name: str) -> bool:
        return not args.only or any(part in name for part in args.only)

    connection = await asyncpg.connect(args.url)
    await floors.configure_like_the_service(connection)
    today = date.today()
    centre = await connection.fetchval(
        "SELECT centre_id FROM loans WHERE status = 'active' "
        "GROUP BY centre_id ORDER BY count(*) DESC, centre_id LIMIT 1"
    )
    results: list[tuple[str, float | None, float | None]] = []
    with serving(args.url, args.port, args.serve_from.resolve()):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{args.port}", timeout=600) as http:
            token = (
                await http.post(
                    f"{API}/auth/token", data={"username": args.email, "password": args.password}
                )
            ).json()["access_token"]
            http.headers["Authorization"] = f"Bearer {token}"

            async def get(path: str) -> Any:
                response = await http.get(path)
                response.raise_for_status()
                return response.json()

            past = {
                "month end": month_end_before(today),
                "137 days ago": today - timedelta(days=137),
                "365 days ago": today - timedelta(days=365),
            }
            cases: list[tuple[str, date, Variants]] = [
                (
                    "today",
                    today,
                    [
                        floors.portfolio_today_sql,
                        floors.portfolio_today_unfolded_sql,
                        floors.portfolio_delta_sql,
                    ],
                )
            ]
            for label, as_of in past.items():
                cases.append((label, as_of, await past_variants(connection, as_of)))
            for label, as_of, variants in cases:
                for group_by in ("centre", "gender"):
                    name = f"portfolio {label} ({as_of}) by {group_by}"
                    if not wanted(name):
                        continue
                    path = f"{API}/reports/portfolio?as_of={as_of}&group_by={group_by}"
                    expected = floors.portfolio_json(await get(path))
                    sqls = [variant(group_by, False) for variant in variants]
                    floor_calls = await agreeing_floors(connection, sqls, (as_of,), expected)
                    par30 = partial(floors.fetch, connection, floors.portfolio_par30_sql(), today)
                    extra = [par30] if label == "today" else []
                    service, *timings = await interleaved_ms(
                        args.repeat, [partial(get, path), *extra, *floor_calls], 1 + len(extra)
                    )
                    if extra:
                        name += f" (PAR30-only {timings[0]:.1f} ms: {service / timings[0]:.1f}x)"
                        timings = timings[1:]
                    results.append((name, service, min(timings)))
                    print(f"{name}: {service:.1f} ms, floor {min(timings):.1f} ms", flush=True)
            if wanted("trend"):
                results.append(await trend(connection, get, args.repeat, today, centre))
            for query in ("limit=500", f"limit=500&centre_id={centre}"):
                name = f"GET /loans?{query}"
                if wanted(name):
                    path = f"{API}/loans?{query}"
                    results.append((name, await median_ms(args.repeat, partial(get, path)), None))
    await connection.close()

    print("\n| case | service ms | floor ms | ratio |\n|---|---|---|---|")
    for name, service_ms, floor_ms_ in results:
        ratio = f"{service_ms / floor_ms_:.2f}" if service_ms and floor_ms_ else "-"
        shown = [f"{value:,.1f}" if value is not None else "-" for value in (service_ms, floor_ms_)]
        print(f"| {name} | {shown[0]} | {shown[1]} | {ratio} |")


async def trend(
    connection: asyncpg.Connection,
    get: Callable[[str], Awaitable[Any]],
    repeat: int,
    today: date,
    centre: int,
) -> tuple[str, float, float]:
    path = f"{API}/reports/portfolio/trend?months=12&centre_id={centre}"
    body = await get(path)
    dates = [date.fromisoformat(point["as_of"]) for point in body["points"]]
    for point in body["points"]:
        total = (
            await get(
                f"{API}/reports/portfolio?as_of={point['as_of']}&group_by=centre&centre_id={centre}"
            )
        )["total"]
        for figure in ("active_loans", "outstanding_principal", "par30_ratio", "par90_ratio"):
            if point[figure] != total[figure]:
                raise SystemExit(f"trend at {point['as_of']}: {figure} {point[figure]} {total}")
        ours = Decimal(str(total["outstanding_principal"]))
        day = date.fromisoformat(point["as_of"])
        sql = floors.portfolio_today_sql("centre", True)
        if day < today:
            sql = floors.portfolio_delta_sql("centre", True)
        rows = floors.portfolio_rows(await connection.fetch(sql, day, centre))
        if rows[floors.TOTAL]["outstanding_principal"] != ours:
            raise SystemExit(f"trend at {point['as_of']}: the floor disagrees")
    today_sql = floors.portfolio_today_sql("centre", True)

    async def thirteen(past_sql: str) -> None:
        for day in dates:
            await floors.fetch(connection, today_sql if day >= today else past_sql, day, centre)

    service, *timings = await interleaved_ms(
        repeat,
        [
            partial(get, path),
            *[partial(thirteen, variant("centre", True)) for variant in PAST_VARIANTS],
        ],
    )
    floor = min(timings)

    name = f"trend of centre {centre}, 13 dates ({dates[0]} to {dates[-1]})"
    print(f"{name}: {service:.1f} ms, floor {floor:.1f} ms", flush=True)
    return name, service, floor


if __name__ == "__main__":
    asyncio.run(main())
