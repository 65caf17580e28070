"""A crash test on PostgreSQL: the real server with 2 workers takes a burst of repayments
with idempotency keys and is SIGKILLed midway; after a restart every request whose answer
was lost is retried with its key. Then every acknowledged payment exists exactly once, no
payment is doubled, and every loan equals its ledger replay."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import create_engine, create_sessionmaker
from app.core.security import create_access_token
from app.loans.models import Loan, LoanTransaction
from app.users.service import actor_of
from tests.centres.factories import make_centre
from tests.faults.databases import (
    PG_URL,
    create_postgres_database,
    drop_postgres_database,
    free_port,
    migrate,
)
from tests.holders.factories import make_holder
from tests.loans.factories import make_active_loan, make_lender, make_product
from tests.loans.test_ledger_consistency import check_loan
from tests.users.factories import make_user

SECRET = "crash-test-secret-key-long-enough-for-hs256"
LOANS = 6
PAYMENTS_PER_LOAN = 25


@pytest.fixture
def crash_database() -> Iterator[str]:
    if PG_URL is None:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    url = create_postgres_database(PG_URL)
    migrate(url)
    yield url
    drop_postgres_database(PG_URL, url)


async def seed(url: str) -> tuple[int, list[int]]:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        admin = await make_user(session, "admin")
        centre = await make_centre(session)
        lender = await make_lender(session)
        product = await make_product(session, lender)
        loan_ids = []
        for _ in range(LOANS):
            holder = await make_holder(session, centre)
            loan = await make_active_loan(
                session, actor_of(admin), holder, product, disbursed_on=date(2025, 1, 15)
            )
            loan_ids.append(loan.id)
        await session.commit()
        admin_id = admin.id
    await engine.dispose()
    return admin_id, loan_ids


def start_server(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "ENVIRONMENT": "development",
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--workers", "2", "--port", str(port)],
        env=environment,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: SIGKILL reaches every worker
    )


def wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited"
        try:
            if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server never became ready")


def kill(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=30)


async def test_sigkill_midway_loses_and_doubles_no_acknowledged_payment(
    crash_database: str, tmp_path: Path
) -> None:
    admin_id, loan_ids = await seed(crash_database)
    token, _ = create_access_token(admin_id, SECRET, 60)
    headers = {"Authorization": f"Bearer {token}"}
    planned = [
        (loan_id, f"crash-{loan_id}-{n:03d}")
        for n in range(PAYMENTS_PER_LOAN)
        for loan_id in loan_ids
    ]
    body_of = {
        key: {"amount": "10.00", "paid_on": "2025-06-01", "reference": key} for _, key in planned
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    acknowledged: dict[str, int] = {}  # key -> transaction id
    a_third_acknowledged = asyncio.Event()

    async def send(http: httpx.AsyncClient, loan_id: int, key: str) -> None:
        try:
            response = await http.post(
                f"/api/v1/loans/{loan_id}/repayments",
                json=body_of[key],
                headers={**headers, "Idempotency-Key": key},
            )
        except httpx.HTTPError:
            return  # the answer was lost
        assert response.status_code in (201, 503), response.text
        if response.status_code == 201:
            acknowledged[key] = response.json()["id"]
            if len(acknowledged) >= len(planned) // 3:
                a_third_acknowledged.set()

    server = start_server(crash_database, port, log)
    try:
        wait_ready(base, server)
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            limit = asyncio.Semaphore(8)

            async def bounded(loan_id: int, key: str) -> None:
                async with limit:
                    await send(http, loan_id, key)

            burst = [asyncio.create_task(bounded(loan_id, key)) for loan_id, key in planned]
            await a_third_acknowledged.wait()
            kill(server)
            await asyncio.gather(*burst)
        assert 0 < len(acknowledged) < len(planned)
        before_restart = dict(acknowledged)

        server = start_server(crash_database, port, log)
        wait_ready(base, server)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for loan_id, key in planned:
                if key not in acknowledged:
                    await send(http, loan_id, key)
            # A retry of an acknowledged request replays its answer, recording nothing.
            replay_loan, replay_key = next(
                (loan_id, key) for loan_id, key in planned if key in before_restart
            )
            replayed = await http.post(
                f"/api/v1/loans/{replay_loan}/repayments",
                json=body_of[replay_key],
                headers={**headers, "Idempotency-Key": replay_key},
            )
            assert replayed.headers.get("idempotent-replayed") == "true"
            assert replayed.json()["id"] == before_restart[replay_key]
    finally:
        if server.poll() is None:
            kill(server)

    assert set(acknowledged) == {key for _, key in planned}
    engine = create_engine(crash_database)
    async with create_sessionmaker(engine)() as session:
        rows = (
            await session.execute(
                select(LoanTransaction.reference, func.count(), func.min(LoanTransaction.id))
                .where(LoanTransaction.kind == "repayment")
                .group_by(LoanTransaction.reference)
            )
        ).all()
        stored = {reference: (count, first_id) for reference, count, first_id in rows}
        assert {key: count for key, (count, _) in stored.items()} == {key: 1 for _, key in planned}
        assert {key: first_id for key, (_, first_id) in stored.items()} == acknowledged
        await check_consistency(session, loan_ids)
    await engine.dispose()


async def check_consistency(session: AsyncSession, loan_ids: list[int]) -> None:
    for loan in (await session.execute(select(Loan).where(Loan.id.in_(loan_ids)))).scalars():
        await check_loan(session, loan)
