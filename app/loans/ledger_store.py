"""Writing a loan's ledger: its allocations, its installments' paid amounts, its repayments'
portions and its summary columns, all derived from its non-reversed repayments by the pure
`ledger` module (docs/ARITHMETIC.md "Payments"; docs/ARCHITECTURE.md "Reliability and cost rules").

A write costs what it changes. The stored state (installments' `principal_paid`,
`interest_paid`, `paid_off_on`, and the allocations, each dated by its payment) is the replay
of the live repayments in (paid_on, id) order. A change enters that order at one point, its
*boundary*: a new repayment at (paid_on, its id), which is after every earlier entry dated
the same day; a reversal at the reversed repayment's (paid_on, id). Everything before the
boundary stays as stored. The state at the boundary is today's state minus the allocations
from the boundary on (`ledger.rewind`); the repayments from the boundary on are then
allocated again from it (`ledger.allocate`), which gives exactly the full replay's result.
A repayment dated on or after the loan's latest live payment has no allocations after it:
it is allocated forward from the stored state, inserting only its own allocation rows and
updating only the installments it pays and the loan. The caller holds the loan's lock.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.loans import ledger
from app.loans.models import Allocation, Installment, Loan, LoanStatus, LoanTransaction
from app.loans.rules import ZERO

OFF_LOOP_PAYMENTS = 200
"""Above this many repayments to allocate, the arithmetic runs in a worker thread so that a
long backdated replay does not hold the event loop."""


@dataclass(frozen=True, order=True)
class Boundary:
    """A point of the replay order: every repayment at or after (paid_on, transaction_id)."""

    paid_on: date
    transaction_id: int

    def allocations_from(self) -> ColumnElement[bool]:
        return or_(
            Allocation.paid_on > self.paid_on,
            and_(
                Allocation.paid_on == self.paid_on,
                Allocation.transaction_id >= self.transaction_id,
            ),
        )


def installment_due(row: Installment) -> ledger.InstallmentDue:
    return ledger.InstallmentDue(
        seq=row.seq,
        due_on=row.due_on,
        principal_due=row.principal_due,
        interest_due=row.interest_due,
    )


def stored_state(row: Installment) -> ledger.InstallmentState:
    return ledger.InstallmentState(
        seq=row.seq,
        due_on=row.due_on,
        principal_due=row.principal_due,
        interest_due=row.interest_due,
        principal_paid=row.principal_paid,
        interest_paid=row.interest_paid,
        paid_off_on=row.paid_off_on,
    )


async def installments_of(session: AsyncSession, loan_id: int) -> list[Installment]:
    """The loan's installments in seq order (as many rows as its term)."""
    stmt = select(Installment).where(Installment.loan_id == loan_id).order_by(Installment.seq)
    return list((await session.execute(stmt)).scalars().all())


async def latest_payment_on(session: AsyncSession, loan_id: int) -> date | None:
    """The date of the loan's latest live repayment: every live repayment has allocations and
    a reversed one has none, so one probe of `ix_allocations_loan_paid_on` answers."""
    stmt = select(func.max(Allocation.paid_on)).where(Allocation.loan_id == loan_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def allocate_from(
    session: AsyncSession,
    loan: Loan,
    installments: Sequence[Installment],
    boundary: Boundary,
    *,
    new: Sequence[LoanTransaction] = (),
    reversed_id: int | None = None,
) -> ledger.LedgerResult:
    """Re-allocate the loan's live repayments from `boundary` on and write what changed.

    `new` are repayments just added (flushed, so they have ids), none of them before the
    boundary; `reversed_id` is a repayment just reversed, at the boundary. Reads the
    allocations from the boundary on (none for a forward repayment) and the repayments they
    belong to; deletes those allocations and inserts the new ones; updates the installments
    whose paid amounts or `paid_off_on` changed, the portions of the re-allocated repayments
    and the loan's summary columns.
    """
    seq_of = {row.id: row.seq for row in installments}
    later = (
        await session.execute(
            select(
                Allocation.transaction_id,
                Allocation.installment_id,
                Allocation.paid_on,
                Allocation.principal,
                Allocation.interest,
            ).where(Allocation.loan_id == loan.id, boundary.allocations_from())
        )
    ).all()
    earlier_ids = {row.transaction_id for row in later} - {reversed_id}
    payments = list(new)
    if earlier_ids:
        stmt = select(LoanTransaction).where(LoanTransaction.id.in_(sorted(earlier_ids)))
        payments += list((await session.execute(stmt)).scalars().all())
    start = ledger.rewind(
        [stored_state(row) for row in installments],
        [
            ledger.Allocation(
                payment_id=row.transaction_id,
                seq=seq_of[row.installment_id],
                paid_on=row.paid_on,
                principal=row.principal,
                interest=row.interest,
            )
            for row in later
        ],
    )
    to_allocate = [
        ledger.Payment(id=payment.id, paid_on=payment.effective_on, amount=payment.amount)
        for payment in payments
    ]
    if len(to_allocate) > OFF_LOOP_PAYMENTS:
        result = await asyncio.to_thread(ledger.allocate, start, to_allocate)
    else:
        result = ledger.allocate(start, to_allocate)

    if later:
        await session.execute(
            delete(Allocation)
            .where(Allocation.loan_id == loan.id, boundary.allocations_from())
            .execution_options(synchronize_session=False)
        )
    by_seq = {row.seq: row for row in installments}
    if result.allocations:
        await session.execute(
            insert(Allocation),
            [
                {
                    "loan_id": loan.id,
                    "transaction_id": allocation.payment_id,
                    "installment_id": by_seq[allocation.seq].id,
                    "paid_on": allocation.paid_on,
                    "due_on": by_seq[allocation.seq].due_on,
                    "principal": allocation.principal,
                    "interest": allocation.interest,
                }
                for allocation in result.allocations
            ],
        )
    for row, state in zip(installments, result.installments, strict=True):
        if row.principal_paid != state.principal_paid:
            row.principal_paid = state.principal_paid
        if row.interest_paid != state.interest_paid:
            row.interest_paid = state.interest_paid
        if row.paid_off_on != state.paid_off_on:
            row.paid_off_on = state.paid_off_on
    for payment in payments:
        principal, interest = result.portions[payment.id]
        if payment.principal_portion != principal:
            payment.principal_portion = principal
        if payment.interest_portion != interest:
            payment.interest_portion = interest
    set_summary(loan, result.installments, result.closed_on)
    await session.flush()
    return result


def set_summary(
    loan: Loan, states: Sequence[ledger.InstallmentState], closed_on: date | None
) -> None:
    """The loan's summary columns from its installments' states. An active or repaid loan
    is `repaid` (closed on `closed_on`) when `closed_on` is given, else `active`; a
    written-off loan keeps its status and owes no outstanding principal."""
    paid_principal = sum((state.principal_paid for state in states), ZERO)
    paid_interest = sum((state.interest_paid for state in states), ZERO)
    oldest_unpaid = min((state.due_on for state in states if not state.is_fully_paid), default=None)
    if loan.status in (LoanStatus.active, LoanStatus.repaid):
        if closed_on is not None:
            new_status, new_closed_on = LoanStatus.repaid, closed_on
        else:
            new_status, new_closed_on = LoanStatus.active, None
        outstanding = loan.principal - paid_principal
    else:
        new_status, new_closed_on, outstanding = LoanStatus(loan.status), loan.closed_on, ZERO
    values: dict[str, Any] = {
        "paid_principal": paid_principal,
        "paid_interest": paid_interest,
        "oldest_unpaid_due_on": oldest_unpaid,
        "outstanding_principal": outstanding,
        "status": new_status,
        "closed_on": new_closed_on,
    }
    for name, value in values.items():
        if getattr(loan, name) != value:
            setattr(loan, name, value)
