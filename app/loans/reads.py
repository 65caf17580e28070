"""Reading loans: a loan's figures as of a date, its schedule and its transactions."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.pagination import PageParams, paginate
from app.core.scope import Actor
from app.loans import ledger
from app.loans.models import Allocation, Installment, Loan, LoanStatus, LoanTransaction
from app.loans.rules import get_loan
from app.loans.schedule import ScheduledInstallment


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
