"""Repayments and reversals (docs/ARITHMETIC.md "Payments"; docs/ARCHITECTURE.md
"Reliability and cost rules"), with the repayment's `Idempotency-Key`."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict, DomainError, NotFound, RuleViolation
from app.core.money import round_money
from app.core.scope import Actor
from app.loans import ledger
from app.loans.ledger_store import (
    Boundary,
    NewPayments,
    StoredInstallments,
    allocate_from,
    allocate_new_payments,
    installments_of,
    installments_of_loans,
    stored_state,
)
from app.loans.models import Loan, LoanStatus, LoanTransaction, TransactionKind
from app.loans.month_ends import refresh_month_ends
from app.loans.rules import (
    REPAY_ROLES,
    REVERSE_ROLES,
    ZERO,
    ensure_not_in_future,
    ensure_reason,
    ensure_status,
    entry_values,
    get_loan_for_write,
    new_entry,
    record_event,
)


@dataclass(frozen=True)
class NewRepayment:
    amount: Decimal
    paid_on: date
    reference: str | None = None


async def record_repayment(
    session: AsyncSession,
    actor: Actor,
    loan_id: int,
    repayment: NewRepayment,
    *,
    today: date,
) -> LoanTransaction:
    """Record a repayment (admins and advisers) and allocate it (forward from the stored
    state, or replaying from its date when it is backdated).

    Retries are made safe at the HTTP layer (`app/core/idempotency.py`), which stores the
    answer in the same transaction as the repayment.

    409 when the loan is not active; 422 (field `amount`) when the amount is above what the
    loan still owes, stating that amount; 422 (field `paid_on`) when paid before
    disbursement or in the future.
    """
    loan = await get_loan_for_write(session, actor, loan_id, REPAY_ROLES)
    [transaction] = await _add_repayments(
        session, actor, loan, normalised([repayment]), today=today
    )
    return transaction


async def record_repayments(
    session: AsyncSession,
    actor: Actor,
    loan_id: int,
    repayments: Sequence[NewRepayment],
    *,
    today: date,
) -> list[LoanTransaction]:
    """Several repayments of one loan at once (e.g. an import of a lender's statement), with
    the rules of `record_repayment` (their total may not exceed what is owed) and a single
    allocation from the earliest of them on. All or nothing."""
    loan = await get_loan_for_write(session, actor, loan_id, REPAY_ROLES)
    return await _add_repayments(session, actor, loan, normalised(repayments), today=today)


def ensure_repayable(loan: Loan, repayments: Sequence[NewRepayment], *, today: date) -> None:
    """The rules of each repayment of a loan before its installments are read: 409 unless
    the loan is active; 422 (field `amount`) unless the amount is positive; 422 (field
    `paid_on`) when paid in the future or before disbursement."""
    ensure_status(loan, "repaid", LoanStatus.active)
    assert loan.disbursed_on is not None
    for repayment in repayments:
        if repayment.amount <= 0:
            raise RuleViolation("amount", "must be greater than 0")
        ensure_not_in_future("paid_on", repayment.paid_on, today)
        if repayment.paid_on < loan.disbursed_on:
            raise RuleViolation(
                "paid_on", f"must not be before disbursement ({loan.disbursed_on.isoformat()})"
            )


def ensure_within_owed(
    repayments: Sequence[NewRepayment], installments: Sequence[ledger.InstallmentState]
) -> None:
    """422 (field `amount`) when the repayments' total is above what the loan still owes on
    its installments (as stored), stating that amount."""
    owed = sum((state.remaining for state in installments), ZERO)
    total = sum((repayment.amount for repayment in repayments), ZERO)
    if total > owed:
        raise RuleViolation(
            "amount",
            f"the amount {total:.2f} is above what the loan still owes: {owed:.2f} MAD",
        )


def normalised(repayments: Sequence[NewRepayment]) -> list[NewRepayment]:
    """The repayments with their amounts rounded to the centime."""
    return [NewRepayment(round_money(r.amount), r.paid_on, r.reference) for r in repayments]


def repayment_changes(
    transaction_id: int,
    amount: Decimal,
    paid_on: date,
    outstanding_before: Decimal,
    loan: Loan,
) -> dict[str, Any]:
    """The audit event of a repayment (the loan as it is after the write)."""
    return {
        "transaction_id": transaction_id,
        "amount": amount,
        "paid_on": paid_on,
        "outstanding_principal": {"from": outstanding_before, "to": loan.outstanding_principal},
        "status": loan.status,
    }


async def _add_repayments(
    session: AsyncSession,
    actor: Actor,
    loan: Loan,
    repayments: Sequence[NewRepayment],
    *,
    today: date,
) -> list[LoanTransaction]:
    ensure_repayable(loan, repayments, today=today)
    installments = await installments_of(session, loan.id)
    ensure_within_owed(repayments, [stored_state(row) for row in installments])
    transactions = [
        new_entry(
            loan,
            actor,
            TransactionKind.repayment,
            repayment.amount,
            repayment.paid_on,
            reference=repayment.reference,
        )
        for repayment in repayments
    ]
    session.add_all(transactions)
    await session.flush()
    before = loan.outstanding_principal
    boundary = min(Boundary(t.effective_on, t.id) for t in transactions)
    await allocate_from(session, loan, installments, boundary, new=transactions)
    await refresh_month_ends(session, [loan], since=boundary.paid_on, today=today)
    for transaction in transactions:
        await record_event(
            session,
            actor,
            loan,
            "repayment",
            repayment_changes(
                transaction.id, transaction.amount, transaction.effective_on, before, loan
            ),
        )
    return transactions


async def record_repayments_of_loans(
    session: AsyncSession,
    actor: Actor,
    batch: Sequence[tuple[Loan, Sequence[NewRepayment]]],
    *,
    today: date,
) -> list[int | DomainError]:
    """`record_repayments` for many loans at once (a lender's statement), in a constant
    number of statements for the whole batch (`ledger_store.allocate_new_payments`), with
    the same rules (`ensure_repayable`, `ensure_within_owed`) and the same stored result as
    calling it loan by loan with each loan's repayments in the order given.

    The caller holds the loans' locks (`lock_loans` with `REPAY_ROLES`). Each loan is all or
    nothing: the answer gives, in the order of `batch`, the number of repayments recorded or
    the error `record_repayments` would have raised, in which case nothing of that loan was
    written."""
    actor.require(*REPAY_ROLES)
    stored = await installments_of_loans(session, [loan.id for loan, _ in batch])
    outcomes: list[int | DomainError] = []
    accepted: list[tuple[list[NewRepayment], NewPayments]] = []
    for loan, given in batch:
        if not given:
            outcomes.append(0)
            continue
        repayments = normalised(given)
        installments = stored.get(loan.id, StoredInstallments([], []))
        try:
            ensure_repayable(loan, repayments, today=today)
            ensure_within_owed(repayments, installments.states)
        except DomainError as exc:
            outcomes.append(exc)
            continue
        outcomes.append(len(repayments))
        entries = [
            entry_values(
                loan,
                actor,
                TransactionKind.repayment,
                repayment.amount,
                repayment.paid_on,
                reference=repayment.reference,
            )
            for repayment in repayments
        ]
        accepted.append((repayments, NewPayments(loan, installments, entries)))
    written = await allocate_new_payments(session, [payments for _, payments in accepted])
    if accepted:
        await refresh_month_ends(
            session,
            [payments.loan for _, payments in accepted],
            since=min(r.paid_on for repayments, _ in accepted for r in repayments),
            today=today,
        )
    for (repayments, payments), done in zip(accepted, written, strict=True):
        for repayment, transaction_id in zip(repayments, done.transaction_ids, strict=True):
            await record_event(
                session,
                actor,
                payments.loan,
                "repayment",
                repayment_changes(
                    transaction_id,
                    repayment.amount,
                    repayment.paid_on,
                    done.outstanding_before,
                    payments.loan,
                ),
            )
    return outcomes


async def reverse_transaction(
    session: AsyncSession,
    actor: Actor,
    loan_id: int,
    transaction_id: int,
    *,
    reason: str,
    today: date,
) -> LoanTransaction:
    """Reverse a repayment (admins and managers) and re-allocate the loan from that
    repayment's place on, as if it had never been paid; returns the new `reversal` entry (effective today, amount = the reversed
    amount, and the principal/interest split the repayment had when it was reversed, which
    the reversed repayment keeps).

    409 unless the transaction is a non-reversed repayment, and when the loan is written off
    (its written-off amount is final). A repaid loan that is no longer fully paid becomes
    active again (closed_on cleared).
    """
    loan = await get_loan_for_write(session, actor, loan_id, REVERSE_ROLES)
    ensure_reason(reason)
    transaction = await session.get(LoanTransaction, transaction_id)
    if transaction is None or transaction.loan_id != loan.id:
        raise NotFound("Transaction not found.")
    if transaction.kind != TransactionKind.repayment:
        raise Conflict(f"Only a repayment can be reversed, not a {transaction.kind}.")
    if transaction.reversed:
        raise Conflict("This repayment is already reversed.")
    ensure_status(loan, "changed by a reversal", LoanStatus.active, LoanStatus.repaid)
    transaction.reversed = True
    reversal = new_entry(
        loan,
        actor,
        TransactionKind.reversal,
        transaction.amount,
        today,
        principal=transaction.principal_portion,
        interest=transaction.interest_portion,
        reverses_id=transaction.id,
        reason=reason,
    )
    session.add(reversal)
    await session.flush()
    before = loan.outstanding_principal
    installments = await installments_of(session, loan.id)
    boundary = Boundary(transaction.effective_on, transaction.id)
    await allocate_from(session, loan, installments, boundary, reversed_id=transaction.id)
    await refresh_month_ends(session, [loan], since=boundary.paid_on, today=today)
    await record_event(
        session,
        actor,
        loan,
        "reversal",
        {
            "transaction_id": reversal.id,
            "reverses_id": transaction.id,
            "amount": transaction.amount,
            "reason": reason,
            "outstanding_principal": {"from": before, "to": loan.outstanding_principal},
            "status": loan.status,
        },
    )
    return reversal
