"""Loans: applications, lifecycle, repayments, reversals and write-offs (API.md "Loans";
DESIGN.md "Money and portfolio arithmetic" and "Reliability rules"). Lenders and loan products
are in `app.loans.products`.

Every write to a loan after its application starts by locking the loan row
(`SELECT ... FOR UPDATE` on PostgreSQL; SQLite transactions already hold the database write
lock from their first statement), so writes to one loan are serialised. After every
repayment, reversal and write-off the loan's ledger is replayed from its non-reversed
repayments (`ledger.replay`, in (paid_on, id) order) and everything derived from it is
rewritten in the same transaction: the `allocations` rows, each installment's
`principal_paid` / `interest_paid` / `paid_off_on`, each repayment's principal and interest
portions, and the loan's summary columns (`outstanding_principal`, `paid_principal`,
`paid_interest`, `oldest_unpaid_due_on`, `status`, `closed_on`).
"""

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, delete, insert, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.errors import Conflict, NotFound, RuleViolation
from app.core.money import round_money
from app.core.pagination import PageParams, paginate
from app.core.scope import Actor, Role, visible_to
from app.enterprises.models import Enterprise, EnterpriseOwner
from app.holders.models import Holder
from app.loans import ledger
from app.loans.models import (
    Allocation,
    IdempotencyRecord,
    Installment,
    Loan,
    LoanProduct,
    LoanStatus,
    LoanTransaction,
    TransactionKind,
)
from app.loans.products import ensure_within_ceiling
from app.loans.references import ensure_reference_free, flush_with_reference
from app.loans.schedule import ScheduledInstallment, ScheduleTerms, generate_schedule

ZERO = Decimal("0.00")

APPLY_ROLES = (Role.admin, Role.adviser)
APPROVE_ROLES = (Role.admin, Role.manager)
DISBURSE_ROLES = (Role.admin, Role.manager, Role.adviser)
REPAY_ROLES = (Role.admin, Role.adviser)
REVERSE_ROLES = (Role.admin, Role.manager)
WRITE_OFF_ROLES = (Role.admin, Role.manager)


# --- schedules -----------------------------------------------------------------------------


def preview_schedule(
    *,
    principal: Decimal,
    annual_rate: Decimal,
    term: int,
    repayment_frequency: str,
    interest_method: str,
    amortization: str,
    grace_periods: int,
    disbursed_on: date,
    first_due_on: date | None,
    legal_ceiling: Decimal,
) -> list[ScheduledInstallment]:
    """The schedule these terms would give (stores nothing). 422 naming the field when
    principal exceeds the legal ceiling, or as `build_schedule`."""
    ensure_within_ceiling("principal", principal, legal_ceiling)
    return build_schedule(
        principal=principal,
        annual_rate=annual_rate,
        term=term,
        frequency=repayment_frequency,
        interest_method=interest_method,
        amortization=amortization,
        grace_periods=grace_periods,
        disbursed_on=disbursed_on,
        first_due_on=first_due_on,
    )


def build_schedule(
    *,
    principal: Decimal,
    annual_rate: Decimal,
    term: int,
    frequency: str,
    interest_method: str,
    amortization: str,
    grace_periods: int,
    disbursed_on: date,
    first_due_on: date | None,
) -> list[ScheduledInstallment]:
    """`generate_schedule` of these terms, with its preconditions as 422s naming the field:
    principal > 0, term >= 1, 0 <= grace_periods < term, first_due_on not before
    disbursed_on."""
    if principal <= 0:
        raise RuleViolation("principal", "must be greater than 0")
    if term < 1:
        raise RuleViolation("term", "must be at least 1")
    if not 0 <= grace_periods < term:
        raise RuleViolation("grace_periods", f"must be at least 0 and below the term ({term})")
    if first_due_on is not None and first_due_on < disbursed_on:
        raise RuleViolation("first_due_on", "must not be before disbursed_on")
    terms = ScheduleTerms(
        principal=principal,
        annual_rate=annual_rate,
        term=term,
        frequency=frequency,  # type: ignore[arg-type]  # ScheduleTerms normalises str values
        interest_method=interest_method,  # type: ignore[arg-type]
        amortization=amortization,  # type: ignore[arg-type]
        grace_periods=grace_periods,
        disbursed_on=disbursed_on,
        first_due_on=first_due_on,
    )
    return generate_schedule(terms)


# --- reading loans -------------------------------------------------------------------------


def visible_loans(actor: Actor) -> Select[Loan]:
    return visible_to(select(Loan), Loan.centre_id, actor)


@dataclass(frozen=True)
class LoanFilters:
    centre_id: int | None = None
    holder_id: int | None = None
    enterprise_id: int | None = None
    lender_id: int | None = None
    product_id: int | None = None
    status: str | None = None
    in_arrears: bool | None = None
    min_days_past_due: int | None = None
    reference: str | None = None


def in_arrears_condition(today: date) -> Any:
    """In arrears today: active, with an installment due before today not fully paid."""
    return and_(Loan.status == LoanStatus.active, Loan.oldest_unpaid_due_on < today)


def filtered_loans(actor: Actor, filters: LoanFilters, today: date) -> Select[Loan]:
    """The loans the caller sees that match `filters`, all evaluated in SQL from the loan's
    columns. `centre_id` must already be resolved with `scope.centre_filter`.

    `min_days_past_due=N` (N >= 1) keeps active loans whose oldest unpaid installment fell
    due at least N days before today (`oldest_unpaid_due_on <= today - N`); N = 0 keeps all.
    """
    stmt = visible_loans(actor)
    equal_to: list[tuple[Any, int | str | None]] = [
        (Loan.centre_id, filters.centre_id),
        (Loan.holder_id, filters.holder_id),
        (Loan.enterprise_id, filters.enterprise_id),
        (Loan.lender_id, filters.lender_id),
        (Loan.product_id, filters.product_id),
        (Loan.status, filters.status),
        (Loan.reference, filters.reference),
    ]
    for column, value in equal_to:
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.in_arrears is True:
        stmt = stmt.where(in_arrears_condition(today))
    elif filters.in_arrears is False:
        stmt = stmt.where(
            or_(
                Loan.status != LoanStatus.active,
                Loan.oldest_unpaid_due_on.is_(None),
                not_(Loan.oldest_unpaid_due_on < today),
            )
        )
    if filters.min_days_past_due:
        stmt = stmt.where(
            Loan.status == LoanStatus.active,
            Loan.oldest_unpaid_due_on <= today - timedelta(days=filters.min_days_past_due),
        )
    return stmt


async def list_loans(
    session: AsyncSession,
    actor: Actor,
    page: PageParams,
    order_by: list[Any],
    filters: LoanFilters,
    today: date,
) -> tuple[list[Loan], int]:
    return await paginate(session, filtered_loans(actor, filters, today), page, order_by)


async def get_loan(session: AsyncSession, actor: Actor, loan_id: int) -> Loan:
    """The loan, or 404 when it does not exist or lies outside the caller's centre."""
    loan = (
        await session.execute(visible_loans(actor).where(Loan.id == loan_id))
    ).scalar_one_or_none()
    if loan is None:
        raise NotFound("Loan not found.")
    return loan


async def _lock_loan(session: AsyncSession, loan_id: int) -> Loan:
    """Re-read the loan under a row lock (PostgreSQL), refreshing the session's copy."""
    stmt = (
        select(Loan)
        .where(Loan.id == loan_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one()


async def _get_loan_for_write(
    session: AsyncSession, actor: Actor, loan_id: int, roles: tuple[Role, ...]
) -> Loan:
    """404 when not visible, 403 when the role may not, then the row lock."""
    await get_loan(session, actor, loan_id)
    actor.require(*roles)
    return await _lock_loan(session, loan_id)


def _installment_due(row: Installment) -> ledger.InstallmentDue:
    return ledger.InstallmentDue(
        seq=row.seq,
        due_on=row.due_on,
        principal_due=row.principal_due,
        interest_due=row.interest_due,
    )


def _ended_on(loan: Loan) -> date | None:
    """The date from which the loan is no longer outstanding (write-off or full repayment)."""
    if loan.status == LoanStatus.written_off:
        return loan.written_off_on
    if loan.status == LoanStatus.repaid:
        return loan.closed_on
    return None


@dataclass(frozen=True)
class LoanBook:
    """A loan's stored installments (in seq order) and dated allocations as ledger values."""

    installments: list[ledger.InstallmentDue]
    allocations: list[ledger.Allocation]


async def load_books(
    session: AsyncSession, loan_ids: Sequence[int], as_of: date | None = None
) -> dict[int, LoanBook]:
    """Installments and allocations (paid on or before `as_of` when given) of several loans,
    in two statements."""
    books: dict[int, LoanBook] = {loan_id: LoanBook([], []) for loan_id in loan_ids}
    if not loan_ids:
        return books
    rows = await session.execute(
        select(
            Installment.loan_id,
            Installment.seq,
            Installment.due_on,
            Installment.principal_due,
            Installment.interest_due,
        )
        .where(Installment.loan_id.in_(loan_ids))
        .order_by(Installment.loan_id, Installment.seq)
    )
    for loan_id, seq, due_on, principal_due, interest_due in rows:
        books[loan_id].installments.append(
            ledger.InstallmentDue(
                seq=seq, due_on=due_on, principal_due=principal_due, interest_due=interest_due
            )
        )
    allocation_stmt = (
        select(
            Allocation.loan_id,
            Allocation.transaction_id,
            Installment.seq,
            Allocation.paid_on,
            Allocation.principal,
            Allocation.interest,
        )
        .join(Installment, Installment.id == Allocation.installment_id)
        .where(Allocation.loan_id.in_(loan_ids))
        .order_by(Allocation.loan_id, Allocation.paid_on, Allocation.id)
    )
    if as_of is not None:
        allocation_stmt = allocation_stmt.where(Allocation.paid_on <= as_of)
    for loan_id, transaction_id, seq, paid_on, principal, interest in await session.execute(
        allocation_stmt
    ):
        books[loan_id].allocations.append(
            ledger.Allocation(
                payment_id=transaction_id,
                seq=seq,
                paid_on=paid_on,
                principal=principal,
                interest=interest,
            )
        )
    return books


def position_from_book(loan: Loan, book: LoanBook, as_of: date) -> ledger.Position:
    return ledger.position_as_of(
        book.installments,
        book.allocations,
        as_of,
        principal=loan.principal,
        disbursed_on=loan.disbursed_on,
        ended_on=_ended_on(loan),
    )


async def loan_positions(
    session: AsyncSession, loans: Sequence[Loan], as_of: date
) -> dict[int, ledger.Position]:
    """Each loan's figures as of `as_of` (DESIGN.md), from its stored installments and
    allocations; a bounded number of statements whatever the number of loans."""
    disbursed_ids = [loan.id for loan in loans if loan.disbursed_on is not None]
    books = await load_books(session, disbursed_ids, as_of)
    empty = LoanBook([], [])
    return {loan.id: position_from_book(loan, books.get(loan.id, empty), as_of) for loan in loans}


@dataclass(frozen=True)
class ScheduleLine(ScheduledInstallment):
    """A stored installment with what was paid on it by a date and its status then."""

    principal_paid: Decimal
    interest_paid: Decimal
    paid_off_on: date | None
    status: ledger.InstallmentStatus


async def loan_schedule(
    session: AsyncSession, actor: Actor, loan_id: int, as_of: date
) -> tuple[Loan, list[ScheduleLine]]:
    """The stored installments with what was paid on them by `as_of` and their status as of
    that date (empty before disbursement)."""
    loan = await get_loan(session, actor, loan_id)
    book = (await load_books(session, [loan.id], as_of))[loan.id]
    states = ledger.installment_states_as_of(book.installments, book.allocations, as_of)
    lines: list[ScheduleLine] = []
    balance = loan.principal
    for state in states:
        balance -= state.principal_due
        lines.append(
            ScheduleLine(
                seq=state.seq,
                due_on=state.due_on,
                principal_due=state.principal_due,
                interest_due=state.interest_due,
                total_due=state.total_due,
                balance_after=balance,
                principal_paid=state.principal_paid,
                interest_paid=state.interest_paid,
                paid_off_on=state.paid_off_on,
                status=ledger.installment_status(state, as_of),
            )
        )
    return loan, lines


async def list_transactions(
    session: AsyncSession, actor: Actor, loan_id: int, page: PageParams, order_by: list[Any]
) -> tuple[list[LoanTransaction], int]:
    """One page of the loan's transactions in `order_by` order (the API's default: effective
    date, then id)."""
    await get_loan(session, actor, loan_id)
    stmt = select(LoanTransaction).where(LoanTransaction.loan_id == loan_id)
    return await paginate(session, stmt, page, order_by)


async def get_transaction(
    session: AsyncSession, actor: Actor, loan_id: int, transaction_id: int
) -> LoanTransaction:
    await get_loan(session, actor, loan_id)
    transaction = await session.get(LoanTransaction, transaction_id)
    if transaction is None or transaction.loan_id != loan_id:
        raise NotFound("Transaction not found.")
    return transaction


# --- applications and lifecycle ------------------------------------------------------------


def _not_in_future(field: str, value: date, today: date) -> None:
    if value > today:
        raise RuleViolation(field, f"must not be in the future (today is {today.isoformat()})")


async def apply_for_loan(
    session: AsyncSession,
    actor: Actor,
    *,
    holder_id: int,
    product_id: int,
    principal: Decimal,
    term: int,
    purpose: str,
    today: date,
    legal_ceiling: Decimal,
    enterprise_id: int | None = None,
    grace_periods: int | None = None,
    annual_rate: Decimal | None = None,
    applied_on: date | None = None,
    reference: str | None = None,
) -> Loan:
    """A `submitted` loan (admins and advisers).

    422 naming the field when: the holder is missing or outside the caller's scope; the
    enterprise is missing, outside the scope, in another centre than the holder or not
    owned by the holder; the product is missing or inactive; the principal is outside the
    product's bounds or above the legal ceiling; the term is outside the product's bounds;
    grace_periods (default 0) exceeds the product's maximum or is not below the term;
    applied_on (default today) is in the future. The loan copies lender, frequency, interest
    method and amortization from the product, the rate too unless one is given, and its
    centre from the holder. A `reference` the lender already gave another loan is a 409.
    """
    actor.require(*APPLY_ROLES)
    principal = round_money(principal)
    if annual_rate is not None:
        annual_rate = round_money(annual_rate)
    holder = (
        await session.execute(
            visible_to(select(Holder), Holder.centre_id, actor).where(Holder.id == holder_id)
        )
    ).scalar_one_or_none()
    if holder is None:
        raise RuleViolation("holder_id", "no such holder in your scope")
    if holder.status == "dropped" or holder.anonymised_at is not None:
        raise RuleViolation(
            "holder_id", "the holder has left the programme (dropped or anonymised)"
        )
    if enterprise_id is not None:
        enterprise = (
            await session.execute(
                visible_to(select(Enterprise), Enterprise.centre_id, actor).where(
                    Enterprise.id == enterprise_id
                )
            )
        ).scalar_one_or_none()
        if enterprise is None:
            raise RuleViolation("enterprise_id", "no such enterprise in your scope")
        if enterprise.centre_id != holder.centre_id:
            raise RuleViolation("enterprise_id", "the enterprise belongs to another centre")
        owned = (
            await session.execute(
                select(EnterpriseOwner.holder_id).where(
                    EnterpriseOwner.enterprise_id == enterprise_id,
                    EnterpriseOwner.holder_id == holder_id,
                )
            )
        ).first()
        if owned is None:
            raise RuleViolation("enterprise_id", "the holder is not an owner of this enterprise")
    product = await session.get(LoanProduct, product_id)
    if product is None:
        raise RuleViolation("product_id", "no such loan product")
    if not product.is_active:
        raise RuleViolation("product_id", "this loan product is no longer offered")
    ensure_within_ceiling("principal", principal, legal_ceiling)
    if not product.min_principal <= principal <= product.max_principal:
        raise RuleViolation(
            "principal",
            f"must be between {product.min_principal:.2f} and {product.max_principal:.2f} "
            "for this product",
        )
    if not product.min_term <= term <= product.max_term:
        raise RuleViolation(
            "term", f"must be between {product.min_term} and {product.max_term} for this product"
        )
    grace = 0 if grace_periods is None else grace_periods
    if grace > product.max_grace_periods:
        raise RuleViolation(
            "grace_periods", f"must not exceed {product.max_grace_periods} for this product"
        )
    if grace >= term:
        raise RuleViolation("grace_periods", f"must be below the term ({term})")
    applied = today if applied_on is None else applied_on
    _not_in_future("applied_on", applied, today)
    await ensure_reference_free(session, product.lender_id, reference)
    loan = Loan(
        centre_id=holder.centre_id,
        holder_id=holder.id,
        enterprise_id=enterprise_id,
        product_id=product.id,
        lender_id=product.lender_id,
        principal=principal,
        annual_rate=product.annual_rate if annual_rate is None else annual_rate,
        term=term,
        repayment_frequency=product.repayment_frequency,
        interest_method=product.interest_method,
        amortization=product.amortization,
        grace_periods=grace,
        purpose=purpose,
        reference=reference,
        status=LoanStatus.submitted,
        applied_on=applied,
        outstanding_principal=ZERO,
        paid_principal=ZERO,
        paid_interest=ZERO,
        created_by=actor.id,
        version=1,
    )
    session.add(loan)
    await flush_with_reference(session)
    await _record(
        session,
        actor,
        loan,
        "apply",
        {
            "holder_id": holder.id,
            "enterprise_id": enterprise_id,
            "product_id": product.id,
            "principal": principal,
            "annual_rate": loan.annual_rate,
            "term": term,
            "grace_periods": grace,
            "applied_on": applied,
            "reference": reference,
        },
    )
    return loan


def _require_reason(reason: str) -> None:
    """A rejection, write-off or reversal states why (API.md: required, never blank)."""
    if not reason.strip():
        raise RuleViolation("reason", "must not be blank")


def _entry(
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
    principal and interest portions are set by the replay that follows."""
    return LoanTransaction(
        loan_id=loan.id,
        kind=kind,
        amount=amount,
        effective_on=effective_on,
        principal_portion=principal,
        interest_portion=interest,
        reference=reference,
        reversed=False,
        reverses_id=reverses_id,
        reason=reason,
        created_by=actor.id,
    )


def _require_status(loan: Loan, action: str, *allowed: LoanStatus) -> None:
    if loan.status not in allowed:
        raise Conflict(f"A {loan.status} loan cannot be {action}.")


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
    loan = await _get_loan_for_write(session, actor, loan_id, APPROVE_ROLES)
    _require_status(loan, "approved", LoanStatus.submitted)
    approved = today if approved_on is None else approved_on
    _not_in_future("approved_on", approved, today)
    if approved < loan.applied_on:
        raise RuleViolation("approved_on", "must not be before applied_on")
    loan.status = LoanStatus.approved
    loan.approved_on = approved
    await session.flush()
    await _record(session, actor, loan, "approve", {"approved_on": approved})
    return loan


async def reject_loan(
    session: AsyncSession, actor: Actor, loan_id: int, *, reason: str, today: date
) -> Loan:
    """submitted -> rejected (admins and managers; 409 from any other status); a non-blank
    reason is required (422); rejected_on is today."""
    loan = await _get_loan_for_write(session, actor, loan_id, APPROVE_ROLES)
    _require_status(loan, "rejected", LoanStatus.submitted)
    _require_reason(reason)
    loan.status = LoanStatus.rejected
    loan.rejected_on = today
    loan.rejection_reason = reason
    await session.flush()
    await _record(session, actor, loan, "reject", {"rejected_on": today, "reason": reason})
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
    loan = await _get_loan_for_write(session, actor, loan_id, DISBURSE_ROLES)
    _require_status(loan, "disbursed", LoanStatus.approved)
    _not_in_future("disbursed_on", disbursed_on, today)
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
    await session.execute(
        insert(Installment),
        [
            {
                "loan_id": loan.id,
                "seq": item.seq,
                "due_on": item.due_on,
                "principal_due": item.principal_due,
                "interest_due": item.interest_due,
                "principal_paid": ZERO,
                "interest_paid": ZERO,
            }
            for item in schedule
        ],
    )
    session.add(
        _entry(
            loan,
            actor,
            TransactionKind.disbursement,
            loan.principal,
            disbursed_on,
            principal=loan.principal,
        )
    )
    loan.status = LoanStatus.active
    loan.disbursed_on = disbursed_on
    loan.first_due_on = schedule[0].due_on
    # One UPDATE of the loan (its version goes up by one), flushed by the rebuild.
    await rebuild_ledger(session, loan)
    await _record(
        session,
        actor,
        loan,
        "disburse",
        {"disbursed_on": disbursed_on, "first_due_on": loan.first_due_on},
    )
    return loan


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
    loan = await _get_loan_for_write(session, actor, loan_id, WRITE_OFF_ROLES)
    _require_status(loan, "written off", LoanStatus.active)
    _require_reason(reason)
    _not_in_future("written_off_on", written_off_on, today)
    assert loan.disbursed_on is not None
    if written_off_on < loan.disbursed_on:
        raise RuleViolation("written_off_on", "must not be before disbursed_on")
    repayments = await _live_repayments(session, loan.id)
    latest = max((payment.effective_on for payment in repayments), default=None)
    if latest is not None and written_off_on < latest:
        raise RuleViolation(
            "written_off_on", f"must not be before the latest repayment ({latest.isoformat()})"
        )
    result = await rebuild_ledger(session, loan, repayments=repayments)
    paid_principal = sum((state.principal_paid for state in result.installments), ZERO)
    amount = loan.principal - paid_principal
    session.add(
        _entry(
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
    await _record(
        session,
        actor,
        loan,
        "write_off",
        {"written_off_on": written_off_on, "written_off_amount": amount, "reason": reason},
    )
    return loan


# --- repayments and reversals --------------------------------------------------------------


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
    loan = await _lock_loan(session, loan_id)
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
    re-allocation. All or nothing."""
    loan = await _get_loan_for_write(session, actor, loan_id, REPAY_ROLES)
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
    _require_status(loan, "repaid", LoanStatus.active)
    assert loan.disbursed_on is not None
    for repayment in repayments:
        if repayment.amount <= 0:
            raise RuleViolation("amount", "must be greater than 0")
        _not_in_future("paid_on", repayment.paid_on, today)
        if repayment.paid_on < loan.disbursed_on:
            raise RuleViolation(
                "paid_on", f"must not be before disbursement ({loan.disbursed_on.isoformat()})"
            )
    installments = await _installments(session, loan.id)
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
        _entry(
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
    await rebuild_ledger(session, loan, installments=installments)
    for transaction in transactions:
        await _record(
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
    """Reverse a repayment (admins and managers) and re-allocate the loan as if it had never
    been paid; returns the new `reversal` entry (effective today, amount = the reversed
    amount, and the principal/interest split the repayment had when it was reversed, which
    the reversed repayment keeps).

    409 unless the transaction is a non-reversed repayment, and when the loan is written off
    (its written-off amount is final). A repaid loan that is no longer fully paid becomes
    active again (closed_on cleared).
    """
    loan = await _get_loan_for_write(session, actor, loan_id, REVERSE_ROLES)
    _require_reason(reason)
    transaction = await session.get(LoanTransaction, transaction_id)
    if transaction is None or transaction.loan_id != loan.id:
        raise NotFound("Transaction not found.")
    if transaction.kind != TransactionKind.repayment:
        raise Conflict(f"Only a repayment can be reversed, not a {transaction.kind}.")
    if transaction.reversed:
        raise Conflict("This repayment is already reversed.")
    _require_status(loan, "changed by a reversal", LoanStatus.active, LoanStatus.repaid)
    transaction.reversed = True
    reversal = _entry(
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
    await rebuild_ledger(session, loan)
    await _record(
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


# --- the ledger replay ---------------------------------------------------------------------


async def _installments(session: AsyncSession, loan_id: int) -> list[Installment]:
    stmt = select(Installment).where(Installment.loan_id == loan_id).order_by(Installment.seq)
    return list((await session.execute(stmt)).scalars().all())


async def _live_repayments(session: AsyncSession, loan_id: int) -> list[LoanTransaction]:
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
        installments = await _installments(session, loan.id)
    if repayments is None:
        repayments = await _live_repayments(session, loan.id)
    result = ledger.replay(
        [_installment_due(row) for row in installments],
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


async def _record(
    session: AsyncSession, actor: Actor, loan: Loan, action: str, changes: dict[str, Any]
) -> None:
    await audit.record(
        session,
        actor_id=actor.id,
        action=action,
        entity="loan",
        entity_id=loan.id,
        centre_id=loan.centre_id,
        changes=audit.snapshot(changes),
    )
