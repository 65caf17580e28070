"""A bounded load run (a script, not a test): 50 clients for 2 minutes of mixed traffic
against `tracker serve --workers 2` on PostgreSQL, with 0 errors and no lost write.

Creates a fresh database on the server of --url, migrates it and loads the demo data, then
each client loops over a mix of reads (holders, a loan, the worklist), coaching sessions
logged, repayments recorded (with an Idempotency-Key and a unique reference) and the
portfolio report. Any answer other than 2xx, or a transport error, counts as an error.
Afterwards every acknowledged write is looked up in the database: each must be there
exactly once. Prints requests per second, latency percentiles per kind and the checks.

    .venv/bin/python bench/load_run.py --url postgresql://postgres@127.0.0.1:5432/postgres
"""

import argparse
import asyncio
import itertools
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from datetime import date
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bench.api_bench import demo_credentials, free_port, token, wait_until_ready

ROOT = Path(__file__).resolve().parents[1]
TRACKER = str(Path(sys.executable).parent / "tracker")
MIX = [("read", 6), ("coaching", 1), ("repayment", 2), ("report", 1)]


def sync(url: str) -> str:
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(False)


def create_database(base_url: str) -> str:
    name = f"tracker_load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(sync(base_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


def drop_database(base_url: str, url: str) -> None:
    admin = create_engine(sync(base_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


class Run:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.repayments: set[str] = set()  # acknowledged references
        self.sessions: set[str] = set()  # acknowledged topics
        self.counter = itertools.count()


async def client(
    run: Run,
    http: httpx.AsyncClient,
    seed: int,
    until: float,
    adviser: dict[str, str],
    manager: dict[str, str],
    holder_ids: list[int],
    loan_ids: list[int],
) -> None:
    rng = random.Random(seed)
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    today = date.today().isoformat()
    while time.monotonic() < until:
        kind = rng.choice(kinds)
        n = next(run.counter)
        started = time.perf_counter()
        try:
            if kind == "read":
                path = rng.choice(
                    [
                        "/api/v1/holders?limit=20",
                        f"/api/v1/loans/{rng.choice(loan_ids)}",
                        "/api/v1/me/worklist",
                    ]
                )
                response = await http.get(path, headers=adviser)
            elif kind == "coaching":
                topic = f"Suivi de charge {n}"
                response = await http.post(
                    "/api/v1/coaching-sessions",
                    json={
                        "kind": "advice",
                        "format": "individual",
                        "mode": "in_person",
                        "held_on": today,
                        "duration_minutes": 45,
                        "topic": topic,
                        "holder_ids": [rng.choice(holder_ids)],
                    },
                    headers=adviser,
                )
                if response.status_code == 201:
                    run.sessions.add(topic)
            elif kind == "repayment":
                reference = f"LOAD-{n}"
                response = await http.post(
                    f"/api/v1/loans/{rng.choice(loan_ids)}/repayments",
                    json={"amount": "1.00", "paid_on": today, "reference": reference},
                    headers={**adviser, "Idempotency-Key": reference},
                )
                if response.status_code == 201:
                    run.repayments.add(reference)
            else:
                response = await http.get("/api/v1/reports/portfolio", headers=manager)
        except httpx.HTTPError as exc:
            run.errors.append(f"{kind}: {type(exc).__name__}")
            continue
        run.latencies[kind].append(time.perf_counter() - started)
        if not 200 <= response.status_code < 300:
            run.errors.append(f"{kind}: {response.status_code} {response.text[:200]}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def load(base: str, workdir: Path, clients: int, seconds: float) -> Run:
    await wait_until_ready(base)
    accounts = demo_credentials(workdir)
    run = Run()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        adviser = await token(http, *accounts["adviser"])
        manager = await token(http, *accounts["manager"])
        holders = (await http.get("/api/v1/holders?limit=200", headers=adviser)).json()
        holder_ids = [h["id"] for h in holders["items"] if h.get("status") != "dropped_out"]
        loans = (await http.get("/api/v1/loans?status=active&limit=200", headers=adviser)).json()
        loan_ids = [loan["id"] for loan in loans["items"]]
        started = time.monotonic()
        await asyncio.gather(
            *(
                client(run, http, seed, started + seconds, adviser, manager, holder_ids, loan_ids)
                for seed in range(clients)
            )
        )
        run.latencies["_elapsed"] = [time.monotonic() - started]
    return run


def lost_writes(url: str, run: Run) -> list[str]:
    engine = create_engine(sync(url), poolclass=NullPool)
    with engine.connect() as connection:
        references = connection.execute(
            text(
                "SELECT reference, count(*) FROM loan_transactions "
                "WHERE reference LIKE 'LOAD-%' GROUP BY reference"
            )
        ).all()
        topics = connection.execute(
            text(
                "SELECT topic, count(*) FROM coaching_sessions "
                "WHERE topic LIKE 'Suivi de charge %' GROUP BY topic"
            )
        ).all()
    engine.dispose()
    stored_repayments = {reference: count for reference, count in references}
    stored_sessions = {topic: count for topic, count in topics}
    problems = [f"repayment {r} lost" for r in run.repayments - set(stored_repayments)]
    problems += [f"repayment {r} stored {c} times" for r, c in stored_repayments.items() if c != 1]
    problems += [f"session {t} lost" for t in run.sessions - set(stored_sessions)]
    problems += [f"session {t} stored {c} times" for t, c in stored_sessions.items() if c != 1]
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a PostgreSQL server (any database)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workdir", default=str(ROOT / "var" / "load-run"))
    args = parser.parse_args()

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    url = create_database(args.url)
    env = os.environ | {
        "DATABASE_URL": url,
        "SECRET_KEY": "load-run-secret-key-0123456789-0123456789-0123",
        "LOG_LEVEL": "WARNING",
    }
    server = None
    try:
        subprocess.run([TRACKER, "db", "upgrade"], env=env, cwd=workdir, check=True)
        subprocess.run(
            [TRACKER, "demo-data"], env=env, cwd=workdir, check=True, capture_output=True
        )
        port = free_port()
        server = subprocess.Popen(
            [TRACKER, "serve", "--port", str(port), "--workers", str(args.workers)],
            env=env,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        run = asyncio.run(load(f"http://127.0.0.1:{port}", workdir, args.clients, args.seconds))
        problems = lost_writes(url, run)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop_database(args.url, url)

    elapsed = run.latencies.pop("_elapsed")[0]
    total = sum(len(values) for values in run.latencies.values())
    print(f"{args.clients} clients, {elapsed:.0f} s, {args.workers} workers, PostgreSQL")
    print(f"requests {total}  ({total / elapsed:.0f} req/s)  errors {len(run.errors)}")
    print(f"{'kind':<10} {'count':>6} {'median ms':>10} {'p95 ms':>8} {'p99 ms':>8}")
    for kind, values in sorted(run.latencies.items()):
        print(
            f"{kind:<10} {len(values):>6} {statistics.median(values) * 1000:>10.0f} "
            f"{percentile(values, 0.95) * 1000:>8.0f} {percentile(values, 0.99) * 1000:>8.0f}"
        )
    print(
        f"writes acknowledged: {len(run.repayments)} repayments, {len(run.sessions)} sessions; "
        f"lost or doubled: {len(problems)}"
    )
    for line in run.errors[:10] + problems[:10]:
        print("  ", line)
    if run.errors or problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
