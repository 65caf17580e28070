"""A loan's life after its application: approval, rejection, disbursement and write-off."""

from datetime import date
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import RuleViolation
from app.core.scope import Actor
from app.loans import ledger
from app.loans.applications import build_schedule
from app.loans.ledger_store import latest_payment_on, set_summary
from app.loans.models import Installment, Loan, LoanStatus, LoanTransaction, TransactionKind
from app.loans.month_ends import refresh_month_ends
from app.loans.rules import (
    APPROVE_ROLES,
    DISBURSE_ROLES,
    WRITE_OFF_ROLES,
    ZERO,
    ensure_not_in_future,
    ensure_reason,
    ensure_status,
    get_loan_for_write,
    new_entry,
    record_event,
)


async def approve_loan(
    session: AsyncSession,
    actor: Actor,
    loan_id: int,
    *,
    today: date,
    approved_on: date | None = None,
) -> Loan:
    """submitted -> approved (admins and managers; 409 from any other status).
    approved_on defaults to today; not before applied_on, not in the future (422)."""
    loan = await get_loan_for_write(session, actor, loan_id, APPROVE_ROLES)
    approve(loan, today=today, approved_on=approved_on)
    await session.flush()
    await record_event(session, actor, loan, "approve", {"approved_on": loan.approved_on})
    return loan


def approve(loan: Loan, *, today: date, approved_on: date | None) -> None:
    """The approval's rules and its change to the loan (not written): submitted only (409),
    approved_on (default today) not before applied_on, not in the future (422)."""
    ensure_status(loan, "approved", LoanStatus.submitted)
    approved = today if approved_on is None else approved_on
    ensure_not_in_future("approved_on", approved, today)
    if approved < loan.applied_on:
        raise RuleViolation("approved_on", "must not be before applied_on")
    loan.status = LoanStatus.approved
    loan.approved_on = approved


async def reject_loan(
    session: AsyncSession, actor: Actor, loan_id: int, *, reason: str, today: date
) -> Loan:
    """submitted -> rejected (admins and managers; 409 from any other status); a non-blank
    reason is required (422); rejected_on is today."""
    loan = await get_loan_for_write(session, actor, loan_id, APPROVE_ROLES)
    ensure_status(loan, "rejected", LoanStatus.submitted)
    ensure_reason(reason)
    loan.status = LoanStatus.rejected
    loan.rejected_on = today
    loan.rejection_reason = reason
    await session.flush()
    await record_event(session, actor, loan, "reject", {"rejected_on": today, "reason": reason})
    return loan


async def disburse_loan(
    session: AsyncSession,
    actor: Actor,
    loan_id: int,
    *,
    disbursed_on: date,
    today: date,
    first_due_on: date | None = None,
) -> Loan:
    """approved -> active (admins, managers and advisers; 409 from any other status).

    disbursed_on not before approved_on and not in the future, first_due_on not before
    disbursed_on (422). Generates and stores the schedule, records the `disbursement`
    transaction, and sets first_due_on to the first installment's due date.
    """
    loan = await get_loan_for_write(session, actor, loan_id, DISBURSE_ROLES)
    unpaid = disburse(loan, today=today, disbursed_on=disbursed_on, first_due_on=first_due_on)
    await session.execute(insert(Installment), installment_rows(loan.id, unpaid))
    session.add(disbursement_entry(loan, actor))
    await session.flush()  # one UPDATE of the loan: its version goes up by one
    await refresh_month_ends(session, [loan], since=disbursed_on, today=today)
    await record_disbursement(session, actor, loan)
    return loan


def disburse(
    loan: Loan, *, today: date, disbursed_on: date, first_due_on: date | None
) -> list[ledger.InstallmentState]:
    """The disbursement's rules and its change to the loan (not written): approved only
    (409), disbursed_on not before approved_on nor in the future, first_due_on not before
    disbursed_on (422). Returns the schedule's installments, nothing paid yet; the loan
    becomes active with its first due date and summary columns set."""
    ensure_status(loan, "disbursed", LoanStatus.approved)
    ensure_not_in_future("disbursed_on", disbursed_on, today)
    if loan.approved_on is not None and disbursed_on < loan.approved_on:
        raise RuleViolation("disbursed_on", "must not be before approved_on")
    schedule = build_schedule(
        principal=loan.principal,
        annual_rate=loan.annual_rate,
        term=loan.term,
        frequency=loan.repayment_frequency,
        interest_method=loan.interest_method,
        amortization=loan.amortization,
        grace_periods=loan.grace_periods,
        disbursed_on=disbursed_on,
        first_due_on=first_due_on,
    )
    # Nothing paid yet (an installment with nothing due counts as paid on its due date).
    unpaid = [
        ledger.InstallmentState.unpaid(
            ledger.InstallmentDue(item.seq, item.due_on, item.principal_due, item.interest_due)
        )
        for item in schedule
    ]
    loan.status = LoanStatus.active
    loan.disbursed_on = disbursed_on
    loan.first_due_on = schedule[0].due_on
    set_summary(loan, unpaid, None)
    return unpaid


def installment_rows(loan_id: int, unpaid: list[ledger.InstallmentState]) -> list[dict[str, Any]]:
    """The `installments` rows of a schedule just disbursed."""
    return [
        {
            "loan_id": loan_id,
            "seq": state.seq,
            "due_on": state.due_on,
            "principal_due": state.principal_due,
            "interest_due": state.interest_due,
            "principal_paid": ZERO,
            "interest_paid": ZERO,
            "paid_off_on": state.paid_off_on,
        }
        for state in unpaid
    ]


def disbursement_entry(loan: Loan, actor: Actor) -> LoanTransaction:
    assert loan.disbursed_on is not None
    return new_entry(
        loan,
        actor,
        TransactionKind.disbursement,
        loan.principal,
        loan.disbursed_on,
        principal=loan.principal,
    )


async def record_disbursement(session: AsyncSession, actor: Actor, loan: Loan) -> None:
    await record_event(
        session,
        actor,
        loan,
        "disburse",
        {"disbursed_on": loan.disbursed_on, "first_due_on": loan.first_due_on},
    )


async def write_off_loan(
    session: AsyncSession,
    actor: Actor,
    loan_id: int,
    *,
    written_off_on: date,
    reason: str,
    today: date,
) -> Loan:
    """active -> written_off (admins and managers; 409 from any other status).

    written_off_on not in the future, not before disbursement and not before the latest
    repayment (422); a non-blank reason. `written_off_amount` is the principal outstanding
    at that date; a `write_off` transaction of that amount is recorded.
    """
    loan = await get_loan_for_write(session, actor, loan_id, WRITE_OFF_ROLES)
    ensure_status(loan, "written off", LoanStatus.active)
    ensure_reason(reason)
    ensure_not_in_future("written_off_on", written_off_on, today)
    assert loan.disbursed_on is not None
    if written_off_on < loan.disbursed_on:
        raise RuleViolation("written_off_on", "must not be before disbursed_on")
    latest = await latest_payment_on(session, loan.id)
    if latest is not None and written_off_on < latest:
        raise RuleViolation(
            "written_off_on", f"must not be before the latest repayment ({latest.isoformat()})"
        )
    # No repayment is dated after the write-off, so the stored summary is the state then.
    amount = loan.principal - loan.paid_principal
    session.add(
        new_entry(
            loan,
            actor,
            TransactionKind.write_off,
            amount,
            written_off_on,
            principal=amount,
            reason=reason,
        )
    )
    loan.status = LoanStatus.written_off
    loan.written_off_on = written_off_on
    loan.written_off_amount = amount
    loan.write_off_reason = reason
    loan.outstanding_principal = ZERO
    await session.flush()
    await refresh_month_ends(session, [loan], since=written_off_on, today=today)
    await record_event(
        session,
        actor,
        loan,
        "write_off",
        {"written_off_on": written_off_on, "written_off_amount": amount, "reason": reason},
    )
    return loan
