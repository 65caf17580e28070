"""Writing a loan's ledger: allocations, installments' paid amounts, repayment portions and
the loan's summary columns, derived from its non-reversed repayments by `ledger`."""

from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.loans import ledger
from app.loans.models import (
    Allocation,
    Installment,
    Loan,
    LoanStatus,
    LoanTransaction,
    TransactionKind,
)
from app.loans.rules import ZERO


def installment_due(row: Installment) -> ledger.InstallmentDue:
    return ledger.InstallmentDue(
        seq=row.seq,
        due_on=row.due_on,
        principal_due=row.principal_due,
        interest_due=row.interest_due,
    )


async def installments_of(session: AsyncSession, loan_id: int) -> list[Installment]:
    stmt = select(Installment).where(Installment.loan_id == loan_id).order_by(Installment.seq)
    return list((await session.execute(stmt)).scalars().all())


async def live_repayments(session: AsyncSession, loan_id: int) -> list[LoanTransaction]:
    stmt = (
        select(LoanTransaction)
        .where(
            LoanTransaction.loan_id == loan_id,
            LoanTransaction.kind == TransactionKind.repayment,
            LoanTransaction.reversed.is_(False),
        )
        .order_by(LoanTransaction.effective_on, LoanTransaction.id)
    )
    return list((await session.execute(stmt)).scalars().all())


async def rebuild_ledger(
    session: AsyncSession,
    loan: Loan,
    *,
    installments: list[Installment] | None = None,
    repayments: list[LoanTransaction] | None = None,
) -> ledger.LedgerResult:
    """Replay the loan's non-reversed repayments and rewrite everything derived from them:
    the loan's allocations rows, its installments' paid amounts and `paid_off_on`, each
    repayment's principal/interest portions and the loan's summary columns. The caller holds
    the loan's lock. An active loan whose installments are all paid becomes `repaid`
    (closed_on = the date of the payment that completed it); a repaid loan that no longer is
    becomes `active` again."""
    if installments is None:
        installments = await installments_of(session, loan.id)
    if repayments is None:
        repayments = await live_repayments(session, loan.id)
    result = ledger.replay(
        [installment_due(row) for row in installments],
        [
            ledger.Payment(id=payment.id, paid_on=payment.effective_on, amount=payment.amount)
            for payment in repayments
        ],
    )
    installment_ids = {row.seq: row.id for row in installments}
    await session.execute(
        delete(Allocation)
        .where(Allocation.loan_id == loan.id)
        .execution_options(synchronize_session=False)
    )
    if result.allocations:
        await session.execute(
            insert(Allocation),
            [
                {
                    "loan_id": loan.id,
                    "transaction_id": allocation.payment_id,
                    "installment_id": installment_ids[allocation.seq],
                    "paid_on": allocation.paid_on,
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
    for payment in repayments:
        principal, interest = result.portions[payment.id]
        if payment.principal_portion != principal:
            payment.principal_portion = principal
        if payment.interest_portion != interest:
            payment.interest_portion = interest
    _set_summary(loan, result)
    await session.flush()
    return result


def _set_summary(loan: Loan, result: ledger.LedgerResult) -> None:
    paid_principal = sum((state.principal_paid for state in result.installments), ZERO)
    paid_interest = sum((state.interest_paid for state in result.installments), ZERO)
    oldest_unpaid = min(
        (state.due_on for state in result.installments if not state.is_fully_paid), default=None
    )
    if loan.status in (LoanStatus.active, LoanStatus.repaid):
        if result.closed_on is not None:
            new_status, closed_on = LoanStatus.repaid, result.closed_on
        else:
            new_status, closed_on = LoanStatus.active, None
        outstanding = loan.principal - paid_principal
    else:
        new_status, closed_on, outstanding = LoanStatus(loan.status), loan.closed_on, ZERO
    values: dict[str, Any] = {
        "paid_principal": paid_principal,
        "paid_interest": paid_interest,
        "oldest_unpaid_due_on": oldest_unpaid,
        "outstanding_principal": outstanding,
        "status": new_status,
        "closed_on": closed_on,
    }
    for name, value in values.items():
        if getattr(loan, name) != value:
            setattr(loan, name, value)
