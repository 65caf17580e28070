"""Repayments and reversals (docs/ARITHMETIC.md "Payments"; docs/ARCHITECTURE.md
"Reliability and cost rules"), with the repayment's `Idempotency-Key`."""

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict, NotFound, RuleViolation
from app.core.money import round_money
from app.core.scope import Actor
from app.loans.ledger_store import Boundary, allocate_from, installments_of
from app.loans.models import IdempotencyRecord, Loan, LoanStatus, LoanTransaction, TransactionKind
from app.loans.rules import (
    REPAY_ROLES,
    REVERSE_ROLES,
    ZERO,
    ensure_not_in_future,
    ensure_reason,
    ensure_status,
    get_loan,
    get_loan_for_write,
    lock_loan,
    new_entry,
    record_event,
)


@dataclass(frozen=True)
class NewRepayment:
    amount: Decimal
    paid_on: date
    reference: str | None = None


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True)
class RepaymentOutcome:
    """Either the new repayment, or the stored answer to an earlier identical request."""

    transaction: LoanTransaction | None = None
    replayed: StoredResponse | None = None


def request_fingerprint(repayment: NewRepayment) -> str:
    """SHA-256 of the request's meaning, so `"100"` and `"100.00"` are the same body."""
    canonical = json.dumps(
        {
            "amount": f"{repayment.amount:.2f}",
            "paid_on": repayment.paid_on.isoformat(),
            "reference": repayment.reference,
        },
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _idempotency_record(
    session: AsyncSession, loan_id: int, key: str
) -> IdempotencyRecord | None:
    stmt = select(IdempotencyRecord).where(
        IdempotencyRecord.loan_id == loan_id, IdempotencyRecord.key == key
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def record_repayment(
    session: AsyncSession,
    actor: Actor,
    loan_id: int,
    repayment: NewRepayment,
    *,
    today: date,
    idempotency_key: str | None = None,
    render: Callable[[LoanTransaction], dict[str, Any]] | None = None,
) -> RepaymentOutcome:
    """Record a repayment (admins and advisers) and re-allocate the loan.

    With an `idempotency_key` (scoped to the loan): a key already used with the same body
    returns the stored answer (`replayed`) and records nothing; with another body, 409; a
    key that another request committed while this one waited for the loan's lock (a
    duplicate sent while the first was still being processed) is also 409. The answer
    stored for a new key is `render(transaction)` with status 201. A request that fails
    stores nothing, so it can be retried with the same key.

    409 when the loan is not active; 422 (field `amount`) when the amount is above what the
    loan still owes, stating that amount; 422 (field `paid_on`) when paid before
    disbursement or in the future.
    """
    await get_loan(session, actor, loan_id)
    actor.require(*REPAY_ROLES)
    repayment = NewRepayment(round_money(repayment.amount), repayment.paid_on, repayment.reference)
    fingerprint = request_fingerprint(repayment)
    if idempotency_key is not None:
        earlier = await _idempotency_record(session, loan_id, idempotency_key)
        if earlier is not None:
            if earlier.request_hash != fingerprint:
                raise Conflict(
                    "This Idempotency-Key was already used with a different request body."
                )
            return RepaymentOutcome(
                replayed=StoredResponse(earlier.status_code, dict(earlier.response_body))
            )
    loan = await lock_loan(session, loan_id)
    # A record committed while this request waited for the lock: the same request sent twice.
    if (
        idempotency_key is not None
        and await _idempotency_record(session, loan_id, idempotency_key) is not None
    ):
        raise Conflict(
            "A request with this Idempotency-Key was being processed at the same time; "
            "retry to receive its result."
        )
    [transaction] = await _add_repayments(session, actor, loan, [repayment], today=today)
    if idempotency_key is not None:
        body = render(transaction) if render is not None else {"id": transaction.id}
        session.add(
            IdempotencyRecord(
                loan_id=loan_id,
                key=idempotency_key,
                request_hash=fingerprint,
                status_code=201,
                response_body=body,
            )
        )
        await session.flush()
    return RepaymentOutcome(transaction=transaction)


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
    normalised = [NewRepayment(round_money(r.amount), r.paid_on, r.reference) for r in repayments]
    return await _add_repayments(session, actor, loan, normalised, today=today)


async def _add_repayments(
    session: AsyncSession,
    actor: Actor,
    loan: Loan,
    repayments: Sequence[NewRepayment],
    *,
    today: date,
) -> list[LoanTransaction]:
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
    installments = await installments_of(session, loan.id)
    owed = sum((row.principal_due + row.interest_due for row in installments), ZERO) - sum(
        (row.principal_paid + row.interest_paid for row in installments), ZERO
    )
    total = sum((repayment.amount for repayment in repayments), ZERO)
    if total > owed:
        raise RuleViolation(
            "amount",
            f"the amount {total:.2f} is above what the loan still owes: {owed:.2f} MAD",
        )
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
    for transaction in transactions:
        await record_event(
            session,
            actor,
            loan,
            "repayment",
            {
                "transaction_id": transaction.id,
                "amount": transaction.amount,
                "paid_on": transaction.effective_on,
                "outstanding_principal": {"from": before, "to": loan.outstanding_principal},
                "status": loan.status,
            },
        )
    return transactions


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
