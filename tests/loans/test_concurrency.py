"""Concurrent repayments to one loan on PostgreSQL: the loan's row lock serialises them, so
what was acknowledged, the transactions, the installments and the outstanding principal
agree to the centime. Runs whenever TEST_DATABASE_URL is set; SQLite serialises every write
transaction anyway (BEGIN IMMEDIATE), so there is nothing to race there."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from alembic import command
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.loans.models import Allocation, Installment, Loan, LoanTransaction, TransactionKind
from app.main import create_app
from tests.database import PG_URL, alembic_config, create_postgres_database, drop_postgres_database
from tests.helpers import auth
from tests.loans.factories import TODAY, LoanWorld, make_active_loan, make_world
from tests.loans.test_ledger_consistency import check_loan

pytestmark = pytest.mark.skipif(
    PG_URL is None, reason="needs PostgreSQL (TEST_DATABASE_URL); SQLite serialises writes"
)

CONCURRENT_REQUESTS = 20


@dataclass
class LiveApp:
    app: FastAPI
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings
    max_connections_in_use: list[int]


@pytest.fixture(scope="module")
async def live() -> AsyncIterator[LiveApp]:
    """A migrated database of its own and an app on a real pool (no shared test transaction)."""
    assert PG_URL is not None
    url = create_postgres_database(PG_URL)
    engine: AsyncEngine | None = None
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        settings = Settings(
            environment="development",
            database_url=url,
            secret_key="test-secret-key-that-is-long-enough-for-hs256",
        )
        app = create_app(settings)
        engine = create_engine(url, pool_size=CONCURRENT_REQUESTS + 5, max_overflow=5)
        sessionmaker = create_sessionmaker(engine)
        app.state.sessionmaker = sessionmaker
        in_use = [0]
        peak = [0]

        @event.listens_for(engine.sync_engine.pool, "checkout")
        def checked_out(*_args: Any) -> None:
            in_use[0] += 1
            peak[0] = max(peak[0], in_use[0])

        @event.listens_for(engine.sync_engine.pool, "checkin")
        def checked_in(*_args: Any) -> None:
            in_use[0] -= 1

        yield LiveApp(app, engine, sessionmaker, settings, peak)
        await app.state.engine.dispose()
    finally:
        if engine is not None:
            await engine.dispose()
        drop_postgres_database(PG_URL, url)


async def arrange(live: LiveApp) -> tuple[LoanWorld, int]:
    async with live.sessionmaker() as session:
        world = await make_world(session)
        loan = await make_active_loan(
            session, world.admin_actor, world.holder, world.product, today=TODAY
        )
        await session.commit()
        return world, loan.id


async def post_all(
    live: LiveApp, url: str, bodies: list[dict[str, Any]], headers: list[dict[str, str]]
) -> list[Any]:
    transport = ASGITransport(app=live.app)
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        return list(
            await asyncio.gather(
                *(
                    client.post(url, json=body, headers=header)
                    for body, header in zip(bodies, headers, strict=True)
                )
            )
        )


async def test_twenty_concurrent_repayments_agree_to_the_centime(live: LiveApp) -> None:
    world, loan_id = await arrange(live)
    headers = auth(world.adviser, live.settings)
    # 11347.15 is owed; these 20 payments total 12000.00, so the last ones to be serialised
    # must be refused as overpayments, whatever order the lock grants them in.
    amounts = [Decimal("560.00") + Decimal(20) * (index % 5) for index in range(20)]
    days = [date(2025, 1, 15) + timedelta(days=7 * index) for index in range(20)]
    bodies = [
        {"amount": str(amount), "paid_on": day.isoformat()}
        for amount, day in zip(amounts, days, strict=True)
    ]
    live.max_connections_in_use[0] = 0

    responses = await post_all(
        live, f"/api/v1/loans/{loan_id}/repayments", bodies, [headers] * CONCURRENT_REQUESTS
    )

    statuses = [response.status_code for response in responses]
    assert all(status in (201, 422) for status in statuses), [r.json() for r in responses]
    assert 201 in statuses and 422 in statuses
    for response in responses:
        if response.status_code == 422:
            assert response.json()["errors"][0]["field"] == "amount"
    assert live.max_connections_in_use[0] >= CONCURRENT_REQUESTS // 2
    acknowledged = sum(
        (Decimal(r.json()["amount"]) for r in responses if r.status_code == 201), Decimal(0)
    )
    acknowledged_ids = sorted(r.json()["id"] for r in responses if r.status_code == 201)

    async with live.sessionmaker() as session:
        repayments = (
            await session.execute(
                select(LoanTransaction.id, LoanTransaction.amount).where(
                    LoanTransaction.loan_id == loan_id,
                    LoanTransaction.kind == TransactionKind.repayment,
                    LoanTransaction.reversed.is_(False),
                )
            )
        ).all()
        assert sorted(row.id for row in repayments) == acknowledged_ids
        assert sum((row.amount for row in repayments), Decimal(0)) == acknowledged
        paid_principal, paid_interest = (
            await session.execute(
                select(
                    func.sum(Installment.principal_paid), func.sum(Installment.interest_paid)
                ).where(Installment.loan_id == loan_id)
            )
        ).one()
        assert paid_principal + paid_interest == acknowledged
        allocated = (
            await session.execute(
                select(func.sum(Allocation.principal + Allocation.interest)).where(
                    Allocation.loan_id == loan_id
                )
            )
        ).scalar_one()
        assert allocated == acknowledged
        loan = (await session.execute(select(Loan).where(Loan.id == loan_id))).scalar_one()
        assert loan.paid_principal == paid_principal
        assert loan.paid_interest == paid_interest
        assert loan.outstanding_principal == Decimal("10000.00") - paid_principal
        # Every refusal was right: what is still owed is less than the smallest refused amount.
        owed = Decimal("11347.15") - acknowledged
        refused = [
            Decimal(body["amount"]) for body, s in zip(bodies, statuses, strict=True) if s == 422
        ]
        assert owed < min(refused)
        await check_loan(session, loan)


async def test_a_duplicate_sent_while_the_first_is_processed_pays_once(live: LiveApp) -> None:
    world, loan_id = await arrange(live)
    headers = {**auth(world.adviser, live.settings), "Idempotency-Key": "retry-after-timeout"}
    body = {"amount": "945.60", "paid_on": "2025-02-15"}

    responses = await post_all(
        live, f"/api/v1/loans/{loan_id}/repayments", [body] * 8, [headers] * 8
    )

    statuses = sorted(response.status_code for response in responses)
    assert set(statuses) <= {201, 409}, [r.json() for r in responses]
    created = [r for r in responses if r.status_code == 201]
    assert len({r.json()["id"] for r in created}) == 1
    first = [r for r in created if "idempotent-replayed" not in r.headers]
    assert len(first) == 1
    # Once the first has been committed, a retry gets its answer back.
    [retry] = await post_all(live, f"/api/v1/loans/{loan_id}/repayments", [body], [headers])
    assert (retry.status_code, retry.json()) == (201, first[0].json())
    assert retry.headers["idempotent-replayed"] == "true"
    async with live.sessionmaker() as session:
        count = (
            await session.execute(
                select(func.count()).where(
                    LoanTransaction.loan_id == loan_id,
                    LoanTransaction.kind == TransactionKind.repayment,
                )
            )
        ).scalar_one()
        assert count == 1
        loan = (await session.execute(select(Loan).where(Loan.id == loan_id))).scalar_one()
        assert loan.outstanding_principal == Decimal("9254.40")
