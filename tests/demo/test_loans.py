"""The loans demo data: every stage present, nothing dated after today, ledgers consistent."""

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.demo import loans as demo
from app.loans.models import Lender, Loan, LoanProduct, LoanTransaction
from tests.centres.factories import make_centre
from tests.enterprises.factories import make_enterprise
from tests.holders.factories import make_holder
from tests.loans.test_ledger_consistency import check_loan
from tests.users.factories import make_user

TODAY = date(2026, 11, 15)


async def test_demo_loans_cover_every_stage_and_their_ledgers_are_consistent(
    session: AsyncSession,
) -> None:
    await make_user(session, "admin")
    rng = random.Random(5)
    for _ in range(2):
        centre = await make_centre(session)
        await make_user(session, "manager", centre)
        await make_user(session, "adviser", centre)
        for index in range(70):
            holder = await make_holder(
                session,
                centre,
                status="enterprise_created" if index % 2 else "in_support",
                enrolled_on=TODAY - timedelta(days=rng.randint(30, 1400)),
                sector=rng.choice(["agriculture", "commerce", "handicrafts"]),
            )
            if index % 2:
                await make_enterprise(session, centre, [holder])
        await make_holder(session, centre, status="applicant")

    await demo.seed(session, random.Random(2026), TODAY, 1)
    await session.commit()

    assert (await session.execute(select(func.count(Lender.id)))).scalar_one() == 3
    assert (await session.execute(select(func.count(LoanProduct.id)))).scalar_one() == 6
    statuses = dict(
        (await session.execute(select(Loan.status, func.count()).group_by(Loan.status))).all()
    )
    assert set(statuses) == {"submitted", "approved", "rejected", "active", "repaid", "written_off"}
    assert 55 <= sum(statuses.values()) <= 110, statuses
    latest = (await session.execute(select(func.max(LoanTransaction.effective_on)))).scalar_one()
    assert latest is not None and latest <= TODAY
    in_arrears = (
        await session.execute(
            select(func.count()).where(Loan.status == "active", Loan.oldest_unpaid_due_on < TODAY)
        )
    ).scalar_one()
    assert 0 < in_arrears < statuses["active"]

    session.expunge_all()
    disbursed = (
        await session.execute(select(Loan).where(Loan.disbursed_on.is_not(None)))
    ).scalars()
    for loan in disbursed:
        assert loan.approved_on is not None and loan.disbursed_on is not None
        assert loan.applied_on <= loan.approved_on <= loan.disbursed_on <= TODAY
        await check_loan(session, loan, until=TODAY)

    # Seeding again adds nothing.
    await demo.seed(session, random.Random(1), TODAY, 1)
    assert (await session.execute(select(func.count(Lender.id)))).scalar_one() == 3


@pytest.mark.parametrize("seed", [7, 12, 36, 44, 58, 65, 71])
async def test_demo_reversals_are_never_dated_before_the_repayment_they_reverse(
    session: AsyncSession, seed: int
) -> None:
    """With these seeds a late payer's latest repayment is dated after the last one in
    installment order: the bounced cheque must still be reversed on or after its date."""
    await make_user(session, "admin")
    rng = random.Random(seed)
    for _ in range(2):
        centre = await make_centre(session)
        await make_user(session, "manager", centre)
        await make_user(session, "adviser", centre)
        for index in range(70):
            holder = await make_holder(
                session,
                centre,
                status="enterprise_created" if index % 2 else "in_support",
                enrolled_on=TODAY - timedelta(days=rng.randint(30, 1400)),
                sector="commerce",
            )
            if index % 2:
                await make_enterprise(session, centre, [holder])

    await demo.seed(session, random.Random(seed), TODAY, 1)
    await session.flush()

    reversed_repayment = aliased(LoanTransaction)
    pairs = (
        await session.execute(
            select(LoanTransaction.effective_on, reversed_repayment.effective_on).join(
                reversed_repayment, reversed_repayment.id == LoanTransaction.reverses_id
            )
        )
    ).all()
    assert pairs
    assert [(reversal, paid) for reversal, paid in pairs if reversal < paid] == []
    assert all(reversal <= TODAY for reversal, _ in pairs)
