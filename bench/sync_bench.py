"""A day's field work through `POST /api/v1/sync`: 500 typical operations in one batch, on
a real server (a script, not a test; not part of `make test`).

Creates a database of its own on the PostgreSQL server of `--url`, migrates it, loads the
demo data, starts `tracker serve` on a free local port and, as a demo adviser, measures:

* the batch: 500 operations (a new holder, a coaching session for it by `$ref`, a visit of
  one of the centre's enterprises and a repayment on one of its active loans, 125 times);
* the same batch sent again whole (every operation replayed from its `Idempotency-Key`);
* floors measured in the same run: the same kind of 500 operations sent one by one as
  single calls over HTTP (what a client without the batch endpoint does), and 500
  `GET /health/live` (the bare cost of a request).

    .venv/bin/python bench/sync_bench.py --url postgresql://postgres@127.0.0.1:5432/postgres
"""

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.core.db import sync_url
from app.core.security import create_access_token

ROOT = Path(__file__).resolve().parents[1]
TRACKER = str(Path(sys.executable).parent / "tracker")
SECRET_KEY = "bench-secret-key-0123456789-0123456789-0123"
GROUPS = 125
"""Each group is four operations: 500 in the batch."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def create_database(base_url: str) -> str:
    name = f"sync_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(sync_url(base_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


def drop_database(base_url: str, url: str) -> None:
    admin = create_engine(sync_url(base_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        name = make_url(url).database
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class Subjects:
    """An adviser of a centre that has created enterprises and active loans."""

    def __init__(self, url: str) -> None:
        engine = create_engine(sync_url(url), poolclass=NullPool)
        with engine.connect() as connection:
            self.centre_id, self.adviser_id = connection.execute(
                text(
                    "SELECT u.centre_id, u.id FROM users u "
                    "WHERE u.role = 'adviser' AND u.is_active AND EXISTS ("
                    "  SELECT 1 FROM loans l WHERE l.centre_id = u.centre_id "
                    "  AND l.status = 'active') ORDER BY u.id LIMIT 1"
                )
            ).one()
            self.enterprise_ids = list(
                connection.execute(
                    text(
                        "SELECT id FROM enterprises WHERE centre_id = :c "
                        "AND status IN ('active', 'struggling') AND created_on IS NOT NULL "
                        "ORDER BY id LIMIT 20"
                    ),
                    {"c": self.centre_id},
                ).scalars()
            )
            # Loans that still owe more than the bench will repay on them.
            self.loan_ids = list(
                connection.execute(
                    text(
                        "SELECT id FROM loans WHERE centre_id = :c AND status = 'active' "
                        "AND outstanding_principal > 1000 ORDER BY id LIMIT 20"
                    ),
                    {"c": self.centre_id},
                ).scalars()
            )
        engine.dispose()
        if not self.enterprise_ids or not self.loan_ids:
            raise SystemExit("the demo data has no enterprise or active loan for an adviser")
        token, _ = create_access_token(self.adviser_id, SECRET_KEY, 600)
        self.headers = {"Authorization": f"Bearer {token}"}


def operations(subjects: Subjects, run: str, today: date) -> list[dict[str, Any]]:
    visit_day = (today - timedelta(days=1)).isoformat()
    batch: list[dict[str, Any]] = []
    for n in range(GROUPS):
        enterprise_id = subjects.enterprise_ids[n % len(subjects.enterprise_ids)]
        loan_id = subjects.loan_ids[n % len(subjects.loan_ids)]
        holder = {
            "first_name": "Fatima Zahra",
            "last_name": f"Bench {run} {n}",
            "national_id": f"Z{run[:1].upper()}{n:05d}",
            "birth_date": "2001-05-17",
            "gender": "female",
            "area": "rural",
            "enrolled_on": visit_day,
        }
        session = {
            "kind": "advice",
            "format": "individual",
            "mode": "field_visit",
            "held_on": visit_day,
            "duration_minutes": 45,
            "topic": "Pricing and costing",
            "holder_ids": [f"$ref:h{n}.id"],
        }
        visit = {
            "enterprise_id": enterprise_id,
            "visited_on": visit_day,
            "mode": "field_visit",
            "enterprise_status": "active",
            "monthly_revenue": "8500.00",
        }
        repayment = {"amount": "1.00", "paid_on": visit_day, "reference": f"B-{run}-{n}"}
        for ref, path, body in (
            (f"h{n}", "/api/v1/holders", holder),
            (f"s{n}", "/api/v1/coaching-sessions", session),
            (f"v{n}", "/api/v1/follow-ups", visit),
            (f"r{n}", f"/api/v1/loans/{loan_id}/repayments", repayment),
        ):
            batch.append(
                {
                    "ref": ref,
                    "method": "POST",
                    "path": path,
                    "body": body,
                    "idempotency_key": f"{run}-{ref}",
                }
            )
    return batch


async def one_by_one(
    http: httpx.AsyncClient, batch: list[dict[str, Any]], headers: dict[str, str]
) -> float:
    """The floor: each operation as a single call, `$ref`s resolved by the client."""
    ids: dict[str, int] = {}
    started = time.perf_counter()
    for op in batch:
        body = dict(op["body"])
        if "holder_ids" in body:
            body["holder_ids"] = [
                ids[ref.removeprefix("$ref:").removesuffix(".id")] for ref in body["holder_ids"]
            ]
        response = await http.post(
            op["path"], json=body, headers={**headers, "Idempotency-Key": op["idempotency_key"]}
        )
        if response.status_code != 201:
            raise SystemExit(f"{op['path']}: {response.status_code} {response.text[:200]}")
        ids[op["ref"]] = response.json()["id"]
    return time.perf_counter() - started


async def timed_batch(
    http: httpx.AsyncClient, batch: list[dict[str, Any]], headers: dict[str, str]
) -> float:
    started = time.perf_counter()
    response = await http.post("/api/v1/sync", json={"operations": batch}, headers=headers)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    statuses = {result["status"] for result in response.json()["results"]}
    if statuses != {201}:
        raise SystemExit(f"the batch had statuses {sorted(statuses)}")
    return elapsed


async def bare_requests(http: httpx.AsyncClient, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        (await http.get("/health/live")).raise_for_status()
    return time.perf_counter() - started


async def measure(base: str, subjects: Subjects) -> None:
    today = date.today()
    async with httpx.AsyncClient(base_url=base, timeout=300) as http:
        for _ in range(100):
            try:
                if (await http.get("/health/ready")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
        else:
            raise SystemExit("server did not become ready")
        headers = subjects.headers
        await timed_batch(http, operations(subjects, "warm", today)[:40], headers)
        bare = await bare_requests(http, 500)
        singles = await one_by_one(http, operations(subjects, "single", today), headers)
        batch = operations(subjects, "batch", today)
        first = await timed_batch(http, batch, headers)
        again = await timed_batch(http, batch, headers)
    print(f"{'what':<52} {'seconds':>8} {'x floor':>8}")
    print(f"{'500 x GET /health/live (bare requests)':<52} {bare:>8.2f}")
    print(f"{'500 single calls, one by one (floor)':<52} {singles:>8.2f} {1.0:>8.2f}")
    print(f"{'POST /sync, 500 operations':<52} {first:>8.2f} {first / singles:>8.2f}")
    print(
        f"{'POST /sync, the same batch again (all replayed)':<52} {again:>8.2f} "
        f"{again / singles:>8.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", required=True, help="a PostgreSQL server URL (a database is created there)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    url = create_database(args.url)
    workdir = ROOT / "var" / "sync-bench"
    workdir.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "LOG_LEVEL": "WARNING"}
    server: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [TRACKER, "db", "upgrade"], env=env, cwd=workdir, check=True, capture_output=True
        )
        subprocess.run(
            [TRACKER, "demo-data"], env=env, cwd=workdir, check=True, capture_output=True
        )
        subjects = Subjects(url)
        port = free_port()
        server = subprocess.Popen(
            [TRACKER, "serve", "--port", str(port), "--workers", "1"],
            env=env,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        asyncio.run(measure(f"http://127.0.0.1:{port}", subjects))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if not args.keep:
            drop_database(args.url, url)


if __name__ == "__main__":
    main()
