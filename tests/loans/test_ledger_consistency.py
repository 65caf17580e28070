"""After a random history of repayments (many backdated), reversals and write-offs, every
stored figure equals a fresh replay of the loan's transactions: the allocations rows, the
installments' paid amounts and paid-off dates, each repayment's split and the loan's summary
columns; and the stored schedule is the one its terms generate."""

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import DomainError
from app.loans import ledger, lifecycle, repayments
from app.loans.models import (
    Allocation,
    Installment,
    Loan,
    LoanStatus,
    LoanTransaction,
    TransactionKind,
)
from app.loans.schedule import ScheduleTerms, generate_schedule
from tests.holders.factories import make_holder
from tests.loans.factories import TODAY, LoanWorld, make_active_loan, make_product

ZERO = Decimal("0.00")

PRODUCTS: list[dict[str, Any]] = [
    {"repayment_frequency": "monthly"},
    {"repayment_frequency": "weekly", "interest_method": "flat", "max_term": 52},
    {"repayment_frequency": "biweekly", "amortization": "equal_principal", "max_term": 26},
    {"repayment_frequency": "monthly", "annual_rate": Decimal("0.00")},
]


async def owed(session: AsyncSession, loan_id: int) -> Decimal:
    rows = (
        await session.execute(select(Installment).where(Installment.loan_id == loan_id))
    ).scalars()
    return sum(
        (r.principal_due + r.interest_due - r.principal_paid - r.interest_paid for r in rows),
        ZERO,
    )


async def random_history(
    session: AsyncSession, world: LoanWorld, rng: random.Random, loans: list[Loan]
) -> dict[str, int]:
    actor = world.admin_actor
    done = {"repayment": 0, "reversal": 0, "write_off": 0, "refused": 0}
    for _ in range(90):
        loan = rng.choice(loans)
        status = (await session.execute(select(Loan.status).where(Loan.id == loan.id))).scalar_one()
        roll = rng.random()
        if status == LoanStatus.active and roll < 0.7:
            remaining = await owed(session, loan.id)
            cents = int(remaining * 100)
            amount = Decimal(rng.randint(1, max(1, min(cents, 400_000)))) / 100
            if rng.random() < 0.1:
                amount = remaining  # pay it all off
            assert loan.disbursed_on is not None
            span = (TODAY - loan.disbursed_on).days
            paid_on = loan.disbursed_on + timedelta(days=rng.randint(0, span))
            try:
                await repayments.record_repayment(
                    session,
                    actor,
                    loan.id,
                    repayments.NewRepayment(amount=amount, paid_on=paid_on),
                    today=TODAY,
                )
                done["repayment"] += 1
            except DomainError:
                done["refused"] += 1
        elif status in (LoanStatus.active, LoanStatus.repaid) and roll < 0.93:
            live = (
                (
                    await session.execute(
                        select(LoanTransaction.id).where(
                            LoanTransaction.loan_id == loan.id,
                            LoanTransaction.kind == TransactionKind.repayment,
                            LoanTransaction.reversed.is_(False),
                        )
                    )
                )
                .scalars()
                .all()
            )
            if live:
                await repayments.reverse_transaction(
                    session, actor, loan.id, rng.choice(live), reason="contrôle", today=TODAY
                )
                done["reversal"] += 1
        elif status == LoanStatus.active and roll > 0.985:
            latest = (
                await session.execute(
                    select(LoanTransaction.effective_on)
                    .where(
                        LoanTransaction.loan_id == loan.id,
                        LoanTransaction.kind == TransactionKind.repayment,
                        LoanTransaction.reversed.is_(False),
                    )
                    .order_by(LoanTransaction.effective_on.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
            assert loan.disbursed_on is not None
            written_off_on = max(latest or loan.disbursed_on, loan.disbursed_on)
            await lifecycle.write_off_loan(
                session, actor, loan.id, written_off_on=written_off_on, reason="perte", today=TODAY
            )
            done["write_off"] += 1
    return done


async def check_loan(session: AsyncSession, loan: Loan, until: date = TODAY) -> None:
    installments = (
        (
            await session.execute(
                select(Installment).where(Installment.loan_id == loan.id).order_by(Installment.seq)
            )
        )
        .scalars()
        .all()
    )
    transactions = (
        (
            await session.execute(
                select(LoanTransaction)
                .where(LoanTransaction.loan_id == loan.id)
                .order_by(LoanTransaction.id)
            )
        )
        .scalars()
        .all()
    )
    allocations = (
        await session.execute(
            select(
                Allocation.transaction_id,
                Installment.seq,
                Allocation.paid_on,
                Allocation.principal,
                Allocation.interest,
            )
            .join(Installment, Installment.id == Allocation.installment_id)
            .where(Allocation.loan_id == loan.id)
        )
    ).all()

    # The stored schedule is the one the terms generate.
    assert loan.disbursed_on is not None
    expected_schedule = generate_schedule(
        ScheduleTerms(
            principal=loan.principal,
            annual_rate=loan.annual_rate,
            term=loan.term,
            frequency=loan.repayment_frequency,  # type: ignore[arg-type]
            interest_method=loan.interest_method,  # type: ignore[arg-type]
            amortization=loan.amortization,  # type: ignore[arg-type]
            grace_periods=loan.grace_periods,
            disbursed_on=loan.disbursed_on,
        )
    )
    assert [(i.seq, i.due_on, i.principal_due, i.interest_due) for i in installments] == [
        (s.seq, s.due_on, s.principal_due, s.interest_due) for s in expected_schedule
    ]

    repayments = [t for t in transactions if t.kind == TransactionKind.repayment]
    live = [t for t in repayments if not t.reversed]
    reversals = [t for t in transactions if t.kind == TransactionKind.reversal]
    assert sorted(r.reverses_id for r in reversals if r.reverses_id is not None) == sorted(
        t.id for t in repayments if t.reversed
    )
    result = ledger.replay(
        [
            ledger.InstallmentDue(i.seq, i.due_on, i.principal_due, i.interest_due)
            for i in installments
        ],
        [ledger.Payment(t.id, t.effective_on, t.amount) for t in live],
    )

    assert sorted(tuple(row) for row in allocations) == sorted(
        (a.payment_id, a.seq, a.paid_on, a.principal, a.interest) for a in result.allocations
    )
    for row, state in zip(installments, result.installments, strict=True):
        assert (row.principal_paid, row.interest_paid, row.paid_off_on) == (
            state.principal_paid,
            state.interest_paid,
            state.paid_off_on,
        ), row.seq
    for transaction in live:
        assert (transaction.principal_portion, transaction.interest_portion) == result.portions[
            transaction.id
        ]
        assert transaction.principal_portion + transaction.interest_portion == transaction.amount

    paid_principal = sum((s.principal_paid for s in result.installments), ZERO)
    paid_interest = sum((s.interest_paid for s in result.installments), ZERO)
    assert (loan.paid_principal, loan.paid_interest) == (paid_principal, paid_interest)
    assert paid_principal + paid_interest == sum((t.amount for t in live), ZERO)
    assert loan.oldest_unpaid_due_on == min(
        (s.due_on for s in result.installments if not s.is_fully_paid), default=None
    )
    write_offs = [t for t in transactions if t.kind == TransactionKind.write_off]
    if loan.status == LoanStatus.written_off:
        assert loan.outstanding_principal == ZERO
        assert [t.amount for t in write_offs] == [loan.principal - paid_principal]
        assert loan.written_off_amount == loan.principal - paid_principal
        assert loan.closed_on is None
    else:
        assert write_offs == []
        assert loan.outstanding_principal == loan.principal - paid_principal
        expected_status = LoanStatus.repaid if result.closed_on else LoanStatus.active
        assert (loan.status, loan.closed_on) == (expected_status, result.closed_on)

    # Figures as of past dates from the stored allocations equal those of the replay.
    stored = [ledger.Allocation(*row) for row in allocations]
    dues = [
        ledger.InstallmentDue(i.seq, i.due_on, i.principal_due, i.interest_due)
        for i in installments
    ]
    ended_on = loan.written_off_on if loan.status == LoanStatus.written_off else loan.closed_on
    day = loan.disbursed_on
    while day <= until:
        from_storage = ledger.position_as_of(
            dues,
            stored,
            day,
            principal=loan.principal,
            disbursed_on=loan.disbursed_on,
            ended_on=ended_on,
        )
        from_replay = ledger.position_as_of(
            dues,
            result.allocations,
            day,
            principal=loan.principal,
            disbursed_on=loan.disbursed_on,
            ended_on=ended_on,
        )
        assert from_storage == from_replay, day
        day += timedelta(days=17)


@pytest.mark.parametrize("seed", [7, 2024, 31337])
async def test_stored_ledgers_equal_a_fresh_replay_after_random_operations(
    session: AsyncSession, world: LoanWorld, seed: int
) -> None:
    rng = random.Random(seed)
    products = [world.product] + [
        await make_product(session, world.lender, **overrides) for overrides in PRODUCTS[1:]
    ]
    loans: list[Loan] = []
    for index in range(8):
        product = products[index % len(products)]
        holder = await make_holder(session, world.centre)
        term = rng.randint(product.min_term, min(product.max_term, 24))
        loans.append(
            await make_active_loan(
                session,
                world.admin_actor,
                holder,
                product,
                principal=str(rng.randint(1000, 30000)),
                term=term,
                grace_periods=rng.randint(0, min(product.max_grace_periods, term - 1)),
                disbursed_on=date(2024, 1, 1) + timedelta(days=rng.randint(0, 500)),
                today=TODAY,
            )
        )

    done = await random_history(session, world, rng, loans)
    still_active = (
        (
            await session.execute(
                select(Loan.id).where(
                    Loan.id.in_([loan.id for loan in loans]), Loan.status == LoanStatus.active
                )
            )
        )
        .scalars()
        .first()
    )
    if still_active is not None:
        await lifecycle.write_off_loan(
            session,
            world.admin_actor,
            still_active,
            written_off_on=TODAY,
            reason="perte",
            today=TODAY,
        )
    await session.commit()

    assert done["repayment"] > 20 and done["reversal"] > 3, done
    session.expunge_all()
    for loan in (
        await session.execute(select(Loan).where(Loan.id.in_([loan.id for loan in loans])))
    ).scalars():
        await check_loan(session, loan)
