"""What every loan write shares: the roles allowed to act, the "validate or refuse" checks
(`ensure_...`, each a 4xx naming the field or the state), finding and locking a loan in the
caller's scope, new ledger entries and audit events.

Every write to a loan after its application starts with `get_loan_for_write`, which locks the
loan row (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite transactions already hold the database
write lock from their first statement), so writes to one loan are serialised.
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.errors import Conflict, NotFound, RuleViolation
from app.core.scope import Actor, Role, visible_to
from app.loans.models import Loan, LoanStatus, LoanTransaction, TransactionKind

ZERO = Decimal("0.00")

APPLY_ROLES = (Role.admin, Role.adviser)
APPROVE_ROLES = (Role.admin, Role.manager)
DISBURSE_ROLES = (Role.admin, Role.manager, Role.adviser)
REPAY_ROLES = (Role.admin, Role.adviser)
REVERSE_ROLES = (Role.admin, Role.manager)
WRITE_OFF_ROLES = (Role.admin, Role.manager)


# --- validate or refuse --------------------------------------------------------------------


def ensure_not_in_future(field: str, value: date, today: date) -> None:
    """422 naming `field` when `value` is after `today`."""
    if value > today:
        raise RuleViolation(field, f"must not be in the future (today is {today.isoformat()})")


def ensure_reason(reason: str) -> None:
    """A rejection, write-off or reversal states why (required, never blank)."""
    if not reason.strip():
        raise RuleViolation("reason", "must not be blank")


def ensure_status(loan: Loan, action: str, *allowed: LoanStatus) -> None:
    """409 unless the loan is in one of the `allowed` statuses."""
    if loan.status not in allowed:
        raise Conflict(f"A {loan.status} loan cannot be {action}.")


# --- finding and locking loans -------------------------------------------------------------


def visible_loans(actor: Actor) -> Select[Loan]:
    return visible_to(select(Loan), Loan.centre_id, actor)


async def get_loan(session: AsyncSession, actor: Actor, loan_id: int) -> Loan:
    """The loan, or 404 when it does not exist or lies outside the caller's centre."""
    loan = (
        await session.execute(visible_loans(actor).where(Loan.id == loan_id))
    ).scalar_one_or_none()
    if loan is None:
        raise NotFound("Loan not found.")
    return loan


async def get_loan_for_write(
    session: AsyncSession, actor: Actor, loan_id: int, roles: tuple[Role, ...]
) -> Loan:
    """The loan under its row lock (PostgreSQL); 404 when not visible, then 403 when the
    role may not. One statement: the visibility filter and the lock go together, so the
    lock carries the centre for scoped callers (docs/SCALING.md) and costs no second read.
    A refused caller's lock ends with its transaction, which the refusal rolls back."""
    stmt = (
        visible_loans(actor)
        .where(Loan.id == loan_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    loan = (await session.execute(stmt)).scalar_one_or_none()
    if loan is None:
        raise NotFound("Loan not found.")
    actor.require(*roles)
    return loan


async def lock_loans(
    session: AsyncSession, actor: Actor, loan_ids: Sequence[int], roles: tuple[Role, ...]
) -> dict[int, Loan]:
    """`get_loan_for_write` for many loans in one statement: 403 when the role may not, then
    the visible ones among `loan_ids` locked in id order (so that two callers locking
    overlapping sets cannot deadlock) and refreshed; a loan missing from the answer does not
    exist or lies outside the caller's centre."""
    actor.require(*roles)
    stmt = (
        visible_loans(actor)
        .where(Loan.id.in_(sorted(set(loan_ids))))
        .order_by(Loan.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {loan.id: loan for loan in (await session.execute(stmt)).scalars()}


# --- ledger entries and audit events -------------------------------------------------------


def new_entry(
    loan: Loan,
    actor: Actor,
    kind: TransactionKind,
    amount: Decimal,
    effective_on: date,
    *,
    principal: Decimal = ZERO,
    interest: Decimal = ZERO,
    reference: str | None = None,
    reverses_id: int | None = None,
    reason: str | None = None,
) -> LoanTransaction:
    """A new entry of the loan's append-only ledger, recorded by `actor`. A repayment's
    principal and interest portions are set by the allocation that follows."""
    return LoanTransaction(
        **entry_values(
            loan,
            actor,
            kind,
            amount,
            effective_on,
            principal=principal,
            interest=interest,
            reference=reference,
            reverses_id=reverses_id,
            reason=reason,
        )
    )


def entry_values(
    loan: Loan,
    actor: Actor,
    kind: TransactionKind,
    amount: Decimal,
    effective_on: date,
    *,
    principal: Decimal = ZERO,
    interest: Decimal = ZERO,
    reference: str | None = None,
    reverses_id: int | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """The column values of `new_entry` (for a multi-row INSERT of many entries)."""
    return {
        "loan_id": loan.id,
        "kind": kind,
        "amount": amount,
        "effective_on": effective_on,
        "principal_portion": principal,
        "interest_portion": interest,
        "reference": reference,
        "reversed": False,
        "reverses_id": reverses_id,
        "reason": reason,
        "created_by": actor.id,
    }


async def record_event(
    session: AsyncSession, actor: Actor, loan: Loan, action: str, changes: dict[str, Any]
) -> None:
    """The audit event of a write to `loan`."""
    if audit.is_summarised(session):
        return  # folded into the caller's summary event (an import's): nothing to build
    await audit.record(
        session,
        actor_id=actor.id,
        action=action,
        entity="loan",
        entity_id=loan.id,
        centre_id=loan.centre_id,
        changes=audit.snapshot(changes),
    )
