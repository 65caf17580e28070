"""Imports at national scale against a real server on PostgreSQL (a script, not a test).

Creates a scratch database on the server of `--url`, migrates it, seeds a centre, a lender,
a product and an admin, starts `tracker serve` on `--port`, then uploads generated files:
`--holders` holders, `--loans` taken-over loans (disbursed, with their schedules) of the
first of those holders, and a statement of `--repayments` repayments over those loans (in
files of at most 50,000 rows, the import limit). It samples the server's resident memory
throughout and prints the time of each import beside a floor measured in the same run: the
same holders inserted by hand-written SQL (one multi-row `executemany` in one transaction).

    .venv/bin/python bench/import_bench.py --url postgresql://postgres@127.0.0.1:5432/postgres
"""

import argparse
import csv
import io
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
TRACKER = str(Path(sys.executable).parent / "tracker")
MAX_ROWS = 50_000
PASSWORD = "bench-password-0123"


def csv_bytes(columns: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def holder_rows(count: int, prefix: str) -> list[list[str]]:
    rows = []
    for n in range(count):
        birth = date(1994, 1, 1) + timedelta(days=n % 3600)
        rows.append(
            [
                f"Prénom{n % 97}",
                f"Nom {n}",
                f"{prefix}{n:06d}",
                birth.strftime("%d/%m/%Y"),
                "female" if n % 2 else "male",
                f"06{n % 100_000_000:08d}",
                "urban" if n % 3 else "rural",
                "2024-06-01",
            ]
        )
    return rows


HOLDER_COLUMNS = [
    "first_name",
    "last_name",
    "national_id",
    "birth_date",
    "gender",
    "phone",
    "area",
    "enrolled_on",
]


def loan_rows(count: int, prefix: str) -> list[list[str]]:
    rows = []
    for n in range(count):
        applied = date(2025, 1, 2) + timedelta(days=n % 200)
        rows.append(
            [
                f"{prefix}{n:06d}",
                "BENCH",
                "Crédit bench",
                f"B-{n:06d}",
                f"{5000 + (n % 40) * 250:,},00".replace(",", " ", 1),
                str(12 + n % 13),
                "Fonds de roulement",
                applied.isoformat(),
                (applied + timedelta(days=5)).isoformat(),
            ]
        )
    return rows


LOAN_COLUMNS = [
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


def repayment_rows(loans: int, count: int) -> list[list[str]]:
    """`count` repayments spread evenly over the loans, monthly from a month after
    disbursement, shuffled (so that a statement's order is not the ledger's)."""
    per_loan = max(1, count // loans)
    rows: list[list[str]] = []
    for n in range(loans):
        disbursed = date(2025, 1, 7) + timedelta(days=n % 200)
        for k in range(per_loan):
            if len(rows) == count:
                break
            paid_on = disbursed + timedelta(days=30 * (k + 1))
            rows.append(
                ["BENCH", f"B-{n:06d}", paid_on.strftime("%d/%m/%Y"), "310,00", f"R{n}-{k}"]
            )
    random.Random(1).shuffle(rows)
    return rows


REPAYMENT_COLUMNS = ["lender_code", "reference", "paid_on", "amount", "receipt"]


class MemorySampler(threading.Thread):
    """The largest resident set size of a process, sampled every 100 ms from /proc."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kib = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            try:
                status = Path(f"/proc/{self.pid}/status").read_text()
            except OSError:
                return
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    self.peak_kib = max(self.peak_kib, int(line.split()[1]))
            time.sleep(0.1)


def seed(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO centres (code, name, kind, region, city, opened_on, version, created_at,"
            " updated_at) VALUES ('BENCH', 'Bench', 'other', 'oriental', 'Oujda', '2020-01-01',"
            " 1, now(), now()), ('FLOOR', 'Floor', 'other', 'oriental', 'Oujda', '2020-01-01',"
            " 1, now(), now())"
        )
        connection.execute(
            "INSERT INTO lenders (code, name, version, created_at, updated_at) "
            "VALUES ('BENCH', 'Bench lender', 1, now(), now())"
        )
        connection.execute(
            "INSERT INTO loan_products (lender_id, name, interest_method, amortization, "
            "annual_rate, repayment_frequency, min_principal, max_principal, min_term, "
            "max_term, max_grace_periods, is_active, version, created_at, updated_at) "
            "SELECT id, 'Crédit bench', 'declining_balance', 'equal_installments', 24, "
            "'monthly', 1000, 50000, 3, 36, 2, true, 1, now(), now() FROM lenders"
        )


def floor_holders(url: str, rows: list[list[str]]) -> float:
    """Seconds to insert the same holders with hand-written SQL in one transaction."""
    started = time.perf_counter()
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        centre_id = cursor.execute("SELECT id FROM centres WHERE code = 'FLOOR'").fetchone()
        assert centre_id is not None
        cursor.executemany(
            "INSERT INTO holders (centre_id, first_name, last_name, search_text, national_id, "
            "birth_date, gender, phone, area, household_vulnerable, status, enrolled_on, "
            "version, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, "
            "false, 'applicant', %s, 1, now(), now())",
            [
                (
                    centre_id[0],
                    first,
                    last,
                    f"{first} {last} {cin}".lower(),
                    cin,
                    date(int(birth[6:]), int(birth[3:5]), int(birth[:2])),
                    gender,
                    "+212" + phone[1:],
                    area,
                    date.fromisoformat(enrolled),
                )
                for first, last, cin, birth, gender, phone, area, enrolled in rows
            ],
        )
        connection.commit()
    return time.perf_counter() - started


def upload(http: httpx.Client, headers: dict[str, str], kind: str, content: bytes) -> float:
    started = time.perf_counter()
    response = http.post(
        f"/api/v1/imports/{kind}",
        params={"centre_code": "BENCH"},
        files={"file": (f"{kind}.csv", content, "text/csv")},
        headers=headers,
    )
    elapsed = time.perf_counter() - started
    if response.status_code != 201:
        raise SystemExit(f"{kind}: {response.status_code} {response.text[:2000]}")
    print(f"  {kind}: {response.json()} in {elapsed:.1f} s", flush=True)
    return elapsed


def wait_until_ready(base: str, server: "subprocess.Popen[bytes]") -> None:
    for _ in range(150):
        if server.poll() is not None:
            raise SystemExit("the server exited (is the port free?)")
        try:
            if httpx.get(f"{base}/health/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="a PostgreSQL server URL")
    parser.add_argument("--port", type=int, default=8150)
    parser.add_argument("--holders", type=int, default=50_000)
    parser.add_argument("--loans", type=int, default=20_000)
    parser.add_argument("--repayments", type=int, default=100_000)
    parser.add_argument(
        "--database-prefix",
        default="import_bench",
        help="the scratch database is <prefix>_<random hex>, dropped at the end",
    )
    args = parser.parse_args()
    assert args.loans <= args.holders

    name = f"{args.database_prefix}_{uuid.uuid4().hex[:8]}"
    server_url = make_url(args.url)
    admin_url = server_url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = server_url.set(database=name).render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-" + "k" * 40}
    server: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run([TRACKER, "db", "upgrade"], env=env, check=True, cwd=ROOT)
        subprocess.run(
            [
                TRACKER,
                "users",
                "create",
                "--email",
                "bench@admin.ma",
                "--password",
                PASSWORD,
                "--role",
                "admin",
            ],
            env=env,
            check=True,
            cwd=ROOT,
        )
        seed(url)
        holders = holder_rows(args.holders, "BH")
        floor = floor_holders(url, holder_rows(args.holders, "FH"))
        print(f"floor: {args.holders} holders by hand-written SQL in {floor:.1f} s", flush=True)

        server = subprocess.Popen([TRACKER, "serve", "--port", str(args.port)], env=env, cwd=ROOT)
        base = f"http://127.0.0.1:{args.port}"
        wait_until_ready(base, server)
        sampler = MemorySampler(server.pid)
        sampler.start()
        with httpx.Client(base_url=base, timeout=1800) as http:
            login = http.post(
                "/api/v1/auth/token", data={"username": "bench@admin.ma", "password": PASSWORD}
            )
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            timings: dict[str, float] = {}
            for start in range(0, args.holders, MAX_ROWS):
                content = csv_bytes(HOLDER_COLUMNS, holders[start : start + MAX_ROWS])
                timings["holders"] = timings.get("holders", 0.0) + upload(
                    http, headers, "holders", content
                )
            loans = loan_rows(args.loans, "BH")
            for start in range(0, args.loans, MAX_ROWS):
                content = csv_bytes(LOAN_COLUMNS, loans[start : start + MAX_ROWS])
                timings["loans"] = timings.get("loans", 0.0) + upload(
                    http, headers, "loans", content
                )
            repayments = repayment_rows(args.loans, args.repayments)
            for start in range(0, len(repayments), MAX_ROWS):
                content = csv_bytes(REPAYMENT_COLUMNS, repayments[start : start + MAX_ROWS])
                timings["repayments"] = timings.get("repayments", 0.0) + upload(
                    http, headers, "repayments", content
                )
        sampler.running = False
        sampler.join()
        print()
        print("| import | rows | seconds | rows/s | ratio to the SQL floor |")
        print("|---|---|---|---|---|")
        counts = {"holders": args.holders, "loans": args.loans, "repayments": len(repayments)}
        floor_rate = args.holders / floor
        for kind, seconds in timings.items():
            rate = counts[kind] / seconds
            print(
                f"| {kind} | {counts[kind]} | {seconds:.1f} | {rate:.0f} | "
                f"{floor_rate / rate:.0f}x slower |"
            )
        print(f"| floor: holders by SQL | {args.holders} | {floor:.1f} | {floor_rate:.0f} | 1x |")
        print(f"\nserver peak resident memory: {sampler.peak_kib / 1024:.0f} MiB")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
