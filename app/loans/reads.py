"""Reading loans: a loan's figures as of a date, its schedule and its transactions."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.money import round_money
from app.core.pagination import PageParams, paginate
from app.core.scope import Actor
from app.loans import ledger
from app.loans.models import Allocation, Installment, Loan, LoanStatus, LoanTransaction
from app.loans.rules import ZERO, get_loan
from app.loans.schedule import ScheduledInstallment


def _ended_on(loan: Loan) -> date | None:
    """The date from which the loan is no longer outstanding (write-off or full repayment)."""
    if loan.status == LoanStatus.written_off:
        return loan.written_off_on
    if loan.status == LoanStatus.repaid:
        return loan.closed_on
    return None


@dataclass(frozen=True)
class PaidLater:
    """What the allocations dated after a date paid on one installment."""

    principal: Decimal
    interest: Decimal


async def _paid_after(
    session: AsyncSession, loan_ids: Sequence[int], as_of: date, today: date
) -> dict[int, dict[int, PaidLater]]:
    """Per loan, per installment id: what the allocations dated after `as_of` paid. Nothing
    when `as_of` is today or later (no payment is ever dated in the future), without a
    statement."""
    paid: dict[int, dict[int, PaidLater]] = {loan_id: {} for loan_id in loan_ids}
    if as_of >= today or not loan_ids:
        return paid
    stmt = (
        select(
            Allocation.loan_id,
            Allocation.installment_id,
            func.sum(Allocation.principal),
            func.sum(Allocation.interest),
        )
        .where(Allocation.loan_id.in_(loan_ids), Allocation.paid_on > as_of)
        .group_by(Allocation.loan_id, Allocation.installment_id)
    )
    for loan_id, installment_id, principal, interest in await session.execute(stmt):
        paid[loan_id][installment_id] = PaidLater(
            round_money(Decimal(principal)), round_money(Decimal(interest))
        )
    return paid


def _state_as_of(row: Any, later: PaidLater | None, as_of: date) -> ledger.InstallmentState:
    """An installment as it stood at the end of `as_of`: today's paid amounts minus what was
    paid after; completed by then only if its `paid_off_on` is on or before `as_of` (an
    installment with nothing due keeps its due date there, as in `ledger`)."""
    principal_paid = row.principal_paid - (later.principal if later else ZERO)
    interest_paid = row.interest_paid - (later.interest if later else ZERO)
    paid_off_on = row.paid_off_on
    if row.principal_due + row.interest_due > 0 and (paid_off_on is None or paid_off_on > as_of):
        paid_off_on = None
    return ledger.InstallmentState(
        seq=row.seq,
        due_on=row.due_on,
        principal_due=row.principal_due,
        interest_due=row.interest_due,
        principal_paid=principal_paid,
        interest_paid=interest_paid,
        paid_off_on=paid_off_on,
    )


def _installment_columns() -> tuple[Any, ...]:
    return (
        Installment.id,
        Installment.loan_id,
        Installment.seq,
        Installment.due_on,
        Installment.principal_due,
        Installment.interest_due,
        Installment.principal_paid,
        Installment.interest_paid,
        Installment.paid_off_on,
    )


async def loan_positions(
    session: AsyncSession, loans: Sequence[Loan], as_of: date, today: date
) -> dict[int, ledger.Position]:
    """Each loan's figures as of `as_of` (docs/ARITHMETIC.md; `ledger.position_as_of`), from the
    stored state: the loan's `paid_principal` / `paid_interest`, and only its installments
    not fully paid at `as_of` (as of today, those with `paid_off_on IS NULL`, through
    `ix_installments_unpaid`). For a past date, the allocations dated after it are taken
    off. At most two statements whatever the number of loans, and no replay."""
    outstanding = [
        loan
        for loan in loans
        if loan.disbursed_on is not None
        and loan.disbursed_on <= as_of
        and not ((ended := _ended_on(loan)) is not None and ended <= as_of)
    ]
    ids = [loan.id for loan in loans if loan.disbursed_on is not None]
    paid_after = await _paid_after(session, ids, as_of, today)
    open_rows: dict[int, list[ledger.InstallmentState]] = {loan.id: [] for loan in outstanding}
    if outstanding:
        is_open: ColumnElement[bool] = Installment.paid_off_on.is_(None)
        if as_of < today:
            is_open = or_(is_open, Installment.paid_off_on > as_of)
        stmt = (
            select(*_installment_columns())
            .where(Installment.loan_id.in_(list(open_rows)), is_open)
            .order_by(Installment.loan_id, Installment.seq)
        )
        for row in await session.execute(stmt):
            later = paid_after[row.loan_id].get(row.id)
            open_rows[row.loan_id].append(_state_as_of(row, later, as_of))
    positions: dict[int, ledger.Position] = {}
    for loan in loans:
        later_parts = paid_after.get(loan.id, {}).values()
        principal_repaid = loan.paid_principal - sum((p.principal for p in later_parts), ZERO)
        interest_repaid = loan.paid_interest - sum((p.interest for p in later_parts), ZERO)
        positions[loan.id] = ledger.position_of_open_installments(
            open_rows.get(loan.id),
            as_of,
            principal=loan.principal,
            principal_repaid=principal_repaid,
            interest_repaid=interest_repaid,
        )
    return positions


@dataclass(frozen=True)
class ScheduleLine(ScheduledInstallment):
    """A stored installment with what was paid on it by a date and its status then."""

    principal_paid: Decimal
    interest_paid: Decimal
    paid_off_on: date | None
    status: ledger.InstallmentStatus


async def loan_schedule(
    session: AsyncSession, actor: Actor, loan_id: int, as_of: date, today: date
) -> tuple[Loan, list[ScheduleLine]]:
    """The stored installments with what was paid on them by `as_of` and their status as of
    that date (empty before disbursement): today's paid amounts, minus the allocations dated
    after `as_of` for a past date."""
    loan = await get_loan(session, actor, loan_id)
    paid_after = (await _paid_after(session, [loan.id], as_of, today))[loan.id]
    stmt = (
        select(*_installment_columns())
        .where(Installment.loan_id == loan.id)
        .order_by(Installment.seq)
    )
    lines: list[ScheduleLine] = []
    balance = loan.principal
    for row in await session.execute(stmt):
        state = _state_as_of(row, paid_after.get(row.id), as_of)
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
