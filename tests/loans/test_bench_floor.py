"""The load tests' floor (bench/floor_app.py) writes into the benchmark's database beside
the service: its repayment must leave every stored figure of the loan as the service's
would, or the reports measured after a load run disagree with their own ledger. On
PostgreSQL only, as the floor talks to asyncpg."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.checks.ledgers import check_loans
from app.loans.arrears import fold_loans
from app.loans.models import Installment, Loan
from bench.floor_app import repay as floor_repay
from tests.database import BACKENDS
from tests.loans.factories import TODAY, LoanWorld, make_active_loan, repay

pytestmark = pytest.mark.parametrize(
    "database_url", [backend for backend in BACKENDS if backend == "postgresql"], indirect=True
)


async def owed_before(session: AsyncSession, loan_id: int, day: date) -> Decimal:
    """What the loan's installments due before `day` still owe, from the installments."""
    rows = await session.execute(
        select(Installment).where(Installment.loan_id == loan_id, Installment.due_on < day)
    )
    return sum(
        (
            row.principal_due + row.interest_due - row.principal_paid - row.interest_paid
            for row in rows.scalars()
        ),
        Decimal(0),
    )


async def test_a_floor_repayment_keeps_the_folded_arrears_and_the_ledger(
    connection: AsyncConnection, session: AsyncSession, world: LoanWorld
) -> None:
    loan = await make_active_loan(
        session,
        world.admin_actor,
        world.holder,
        world.product,
        disbursed_on=TODAY - timedelta(days=200),
        today=TODAY,
    )
    await repay(
        session, world.admin_actor, loan, "300.00", TODAY - timedelta(days=150), today=TODAY
    )
    due_dates = (
        await session.scalars(
            select(Installment.due_on)
            .where(Installment.loan_id == loan.id, Installment.due_on < TODAY)
            .order_by(Installment.seq)
        )
    ).all()
    # Folded at an unpaid installment's due date: the ones before it are in overdue_amount,
    # it and the later ones are not.
    through = due_dates[-2]
    await fold_loans(session, [loan.id], through)
    await session.commit()
    loan_id, admin_id = loan.id, world.admin.id
    folded = await owed_before(session, loan_id, through)
    assert folded > Decimal("500.00")

    driver = (await connection.get_raw_connection()).driver_connection
    status, body = await floor_repay(
        driver, admin_id, loan_id, Decimal("500.00"), TODAY - timedelta(days=1)
    )
    assert status == 201, body

    session.expire_all()
    stored = await session.get(Loan, loan_id)
    assert stored is not None
    assert stored.overdue_amount == folded - Decimal("500.00")
    assert stored.overdue_amount == await owed_before(session, loan_id, through)
    assert [str(mismatch) async for mismatch in check_loans(session, [loan_id])] == []
