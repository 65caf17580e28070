"""A batch cut off mid-way by a server killed with SIGKILL, then sent again whole to the
restarted server: each effect exists exactly once (a real uvicorn server, on each backend)."""

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from app.coaching.models import CoachingSession
from app.core.config import Settings
from app.core.db import create_engine as create_async_engine
from app.core.db import create_sessionmaker, sync_url
from app.holders.models import Holder
from app.loans.models import LoanTransaction, TransactionKind
from tests.helpers import auth
from tests.sync.factories import (
    SECRET_KEY,
    FieldWorld,
    Server,
    drop_database,
    holder_body,
    make_field_world,
    migrated_database,
    operation,
    repayment_body,
    session_body,
)

BACKENDS = ["sqlite", "postgresql"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]
DAYS = 150
"""Holders in the batch, each with a session and a repayment: 450 operations, enough that
the server is still working through them when the test, polling from a process that shares
the cores with other test processes, sees the first five holders and kills it."""


@pytest.fixture(params=BACKENDS)
def live_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url = migrated_database(request.param, tmp_path)
    yield url
    drop_database(url)


async def seeded_world(url: str) -> FieldWorld:
    engine = create_async_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            world = await make_field_world(session)
            await session.commit()
            return world
    finally:
        await engine.dispose()


def counts(url: str, loan_id: int) -> tuple[int, int, int]:
    """Holders of the batch, their sessions and the loan's repayments, read without locks."""
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            holders = connection.execute(
                select(func.count()).where(Holder.last_name.like("Offline %"))
            ).scalar_one()
            sessions = connection.execute(
                select(func.count()).select_from(CoachingSession)
            ).scalar_one()
            repayments = connection.execute(
                select(func.count()).where(
                    LoanTransaction.loan_id == loan_id,
                    LoanTransaction.kind == TransactionKind.repayment,
                )
            ).scalar_one()
            return holders, sessions, repayments
    finally:
        engine.dispose()


async def until_holders(url: str, loan_id: int, at_least: int, sending: asyncio.Task[Any]) -> None:
    """Polls the database (there is no event to wait for across processes)."""
    for _ in range(3000):
        if sending.done() or counts(url, loan_id)[0] >= at_least:
            return
        await asyncio.sleep(0.02)


def day_of_work(world: FieldWorld) -> list[dict[str, object]]:
    operations = []
    for n in range(DAYS):
        operations += [
            operation(f"h{n}", "/api/v1/holders", holder_body(last_name=f"Offline {n}")),
            operation(f"s{n}", "/api/v1/coaching-sessions", session_body(f"$ref:h{n}.id")),
            operation(
                f"r{n}",
                f"/api/v1/loans/{world.active_loan.id}/repayments",
                repayment_body("10.00", reference=f"OFF-{n}"),
            ),
        ]
    return operations


async def test_a_batch_cut_mid_way_and_sent_again_has_each_effect_once(live_url: str) -> None:
    world = await seeded_world(live_url)
    settings = Settings(environment="development", database_url=live_url, secret_key=SECRET_KEY)
    headers = auth(world.adviser, settings)
    batch = {"operations": day_of_work(world)}
    loan_id = world.active_loan.id

    server = Server(live_url)
    try:
        await server.ready()
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
            sending = asyncio.create_task(client.post("/api/v1/sync", json=batch, headers=headers))
            await until_holders(live_url, loan_id, 5, sending)
            server.kill()
            with pytest.raises(httpx.TransportError):
                await sending
    finally:
        server.kill()
    holders, sessions, repayments = counts(live_url, loan_id)
    assert 0 < holders < DAYS, "the server was not killed mid-batch"
    # What was done before the cut is whole: every committed operation committed its effect.
    assert holders - 1 <= sessions <= holders and holders - 1 <= repayments <= holders

    restarted = Server(live_url)
    try:
        await restarted.ready()
        async with httpx.AsyncClient(base_url=restarted.url, timeout=120) as client:
            again = await client.post("/api/v1/sync", json=batch, headers=headers)
            assert again.status_code == 200
            results = again.json()["results"]
            assert [r["status"] for r in results] == [201] * (3 * DAYS), results[:5]
            once_more = await client.post("/api/v1/sync", json=batch, headers=headers)
            assert once_more.json() == again.json()
    finally:
        restarted.kill()
    assert counts(live_url, loan_id) == (DAYS, DAYS, DAYS)
