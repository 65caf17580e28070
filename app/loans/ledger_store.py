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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Row,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

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

    def holds(self, paid_on: date, transaction_id: int) -> bool:
        """Whether an allocation of (paid_on, transaction_id) is at or after the boundary
        (what `allocations_from` selects in SQL)."""
        return (paid_on, transaction_id) >= (self.paid_on, self.transaction_id)


def installment_due(row: Installment) -> ledger.InstallmentDue:
    return ledger.InstallmentDue(
        seq=row.seq,
        due_on=row.due_on,
        principal_due=row.principal_due,
        interest_due=row.interest_due,
    )


def stored_state(row: Installment | Row[*tuple[Any, ...]]) -> ledger.InstallmentState:
    """An installment (its ORM object or a row of its columns) as the ledger sees it."""
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


class StoredAllocation(Protocol):
    """An `allocations` row as read back (an ORM row or a selected tuple)."""

    @property
    def transaction_id(self) -> int: ...
    @property
    def installment_id(self) -> int: ...
    @property
    def paid_on(self) -> date: ...
    @property
    def principal(self) -> Decimal: ...
    @property
    def interest(self) -> Decimal: ...


def reallocate(
    states: Sequence[ledger.InstallmentState],
    seq_of: Mapping[int, int],
    later: Sequence[StoredAllocation],
    payments: Sequence[ledger.Payment],
) -> ledger.LedgerResult:
    """The ledger from a boundary on: the stored `states` rewound by the allocations `later`
    (every stored allocation from the boundary on; `seq_of` maps installment ids to seqs),
    then `payments` (the live repayments from the boundary on) allocated from there."""
    start = ledger.rewind(
        states,
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
    return ledger.allocate(start, payments)


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
    to_allocate = [
        ledger.Payment(id=payment.id, paid_on=payment.effective_on, amount=payment.amount)
        for payment in payments
    ]
    states = [stored_state(row) for row in installments]
    if len(to_allocate) > OFF_LOOP_PAYMENTS:
        result = await asyncio.to_thread(reallocate, states, seq_of, later, to_allocate)
    else:
        result = reallocate(states, seq_of, later, to_allocate)

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
    """Set the loan's summary columns (`summary_of`) where they changed."""
    for name, value in summary_of(loan, states, closed_on).items():
        if getattr(loan, name) != value:
            setattr(loan, name, value)


def summary_of(
    loan: Loan, states: Sequence[ledger.InstallmentState], closed_on: date | None
) -> dict[str, Any]:
    """The loan's summary columns from its installments' states. An active or repaid loan
    is `repaid` (closed on `closed_on`) when `closed_on` is given, else `active`; a
    written-off loan keeps its status and owes no outstanding principal. `overdue_amount`
    is what the installments due before the loan's `overdue_through` still owe (the
    through date itself only moves with `fold_arrears`)."""
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
    return {
        "paid_principal": paid_principal,
        "paid_interest": paid_interest,
        "oldest_unpaid_due_on": oldest_unpaid,
        "overdue_amount": ledger.unpaid_due_before(states, loan.overdue_through),
        "outstanding_principal": outstanding,
        "status": new_status,
        "closed_on": new_closed_on,
    }


# --- many loans at once ----------------------------------------------------------------------


@dataclass(frozen=True)
class StoredInstallments:
    """A loan's installments as stored, in seq order: their ids and their states."""

    ids: list[int]
    states: list[ledger.InstallmentState]


async def installments_of_loans(
    session: AsyncSession, loan_ids: Sequence[int]
) -> dict[int, StoredInstallments]:
    """The installments of these loans, read in one statement (without ORM objects)."""
    stmt = (
        select(
            Installment.loan_id,
            Installment.id,
            Installment.seq,
            Installment.due_on,
            Installment.principal_due,
            Installment.interest_due,
            Installment.principal_paid,
            Installment.interest_paid,
            Installment.paid_off_on,
        )
        .where(Installment.loan_id.in_(sorted(set(loan_ids))))
        .order_by(Installment.loan_id, Installment.seq)
    )
    found: dict[int, StoredInstallments] = {}
    for row in await session.execute(stmt):
        stored = found.setdefault(row.loan_id, StoredInstallments([], []))
        stored.ids.append(row.id)
        stored.states.append(stored_state(row))
    return found


@dataclass(frozen=True)
class NewPayments:
    """New repayments of one loan (the caller holds its lock): the `loan_transactions` rows to
    insert, in the order their ids are to be given (as `new_entry` values)."""

    loan: Loan
    installments: StoredInstallments
    entries: list[dict[str, Any]]


@dataclass(frozen=True)
class Written:
    """What `allocate_new_payments` wrote for one loan."""

    transaction_ids: list[int]
    outstanding_before: Decimal


NEW_ID_BASE = 1 << 62
"""Until they are inserted, new repayments are numbered from here: above every stored id, as
their real ids will be (a loan's later entries always get larger ids), so that they take the
same place in the (paid_on, id) order."""


async def allocate_new_payments(
    session: AsyncSession, batch: Sequence[NewPayments]
) -> list[Written]:
    """`allocate_from` for new repayments of many loans at once, with the same result for
    each loan as adding them and calling `allocate_from` from the earliest of them: a
    constant number of statements for the whole batch instead of some ten per loan.

    Reads the allocations at or after each loan's boundary (one SELECT; usually none, as a
    statement's payments are mostly later than the stored ones) and the repayments they
    belong to; re-allocates each loan with `reallocate`; then deletes those allocations,
    inserts the new repayments with their portions and every new allocation (multi-row
    INSERTs), and updates the installments and re-allocated repayments that changed and the
    loans' summary columns (one executemany each). The loan objects are left holding the new
    summary and version, as if loaded after the write; ORM copies of these loans'
    installments, repayments or allocations the session may hold are not refreshed (the
    statement importer holds none).
    """
    if not batch:
        return []
    provisional: list[list[int]] = []
    next_id = NEW_ID_BASE
    for item in batch:
        provisional.append(list(range(next_id, next_id + len(item.entries))))
        next_id += len(item.entries)
    boundaries = [
        min(
            Boundary(entry["effective_on"], payment_id)
            for entry, payment_id in zip(item.entries, ids, strict=True)
        )
        for item, ids in zip(batch, provisional, strict=True)
    ]
    by_loan = {item.loan.id: index for index, item in enumerate(batch)}
    later: list[list[Any]] = [[] for _ in batch]
    for row in await session.execute(
        select(
            Allocation.id,
            Allocation.loan_id,
            Allocation.transaction_id,
            Allocation.installment_id,
            Allocation.paid_on,
            Allocation.principal,
            Allocation.interest,
        )
        .where(
            Allocation.loan_id.in_(sorted(by_loan)),
            Allocation.paid_on >= min(boundary.paid_on for boundary in boundaries),
        )
        .order_by(Allocation.id)
    ):
        index = by_loan[row.loan_id]
        if boundaries[index].holds(row.paid_on, row.transaction_id):
            later[index].append(row)
    earlier_ids = sorted({row.transaction_id for rows in later for row in rows})
    earlier: dict[int, Any] = {}
    for start in range(0, len(earlier_ids), IN_LIST):
        stmt = select(
            LoanTransaction.id,
            LoanTransaction.effective_on,
            LoanTransaction.amount,
            LoanTransaction.principal_portion,
            LoanTransaction.interest_portion,
        ).where(LoanTransaction.id.in_(earlier_ids[start : start + IN_LIST]))
        earlier.update((row.id, row) for row in await session.execute(stmt))

    results: list[ledger.LedgerResult] = []
    for item, ids, rows in zip(batch, provisional, later, strict=True):
        payments = [
            ledger.Payment(id=payment_id, paid_on=entry["effective_on"], amount=entry["amount"])
            for entry, payment_id in zip(item.entries, ids, strict=True)
        ]
        payments += [
            ledger.Payment(id=row.id, paid_on=row.effective_on, amount=row.amount)
            for row in (earlier[transaction_id] for transaction_id in _ids_of(rows))
        ]
        seq_of = dict(
            zip(item.installments.ids, (s.seq for s in item.installments.states), strict=True)
        )
        results.append(reallocate(item.installments.states, seq_of, rows, payments))

    stale = [row.id for rows in later for row in rows]
    for start in range(0, len(stale), IN_LIST):
        await session.execute(
            delete(Allocation)
            .where(Allocation.id.in_(stale[start : start + IN_LIST]))
            .execution_options(synchronize_session=False)
        )
    entries = [
        {
            **entry,
            "principal_portion": result.portions[payment_id][0],
            "interest_portion": result.portions[payment_id][1],
        }
        for item, ids, result in zip(batch, provisional, results, strict=True)
        for entry, payment_id in zip(item.entries, ids, strict=True)
    ]
    # Plain Core statements on the connection from here: multi-row INSERTs and executemany
    # UPDATEs by id, without the ORM's per-row bookkeeping of bulk writes.
    connection = await session.connection()
    inserted = (
        await connection.execute(
            insert(LoanTransaction).returning(LoanTransaction.id, sort_by_parameter_order=True),
            entries,
        )
    ).scalars()
    real_id = dict(zip((i for ids in provisional for i in ids), inserted, strict=True))

    allocation_rows: list[dict[str, Any]] = []
    installment_rows: list[dict[str, Any]] = []
    portion_rows: list[dict[str, Any]] = []
    loan_rows: list[dict[str, Any]] = []
    written: list[Written] = []
    for item, ids, rows, result in zip(batch, provisional, later, results, strict=True):
        loan = item.loan
        stored = item.installments
        id_of = dict(zip((s.seq for s in stored.states), stored.ids, strict=True))
        due_on = {state.seq: state.due_on for state in stored.states}
        allocation_rows += [
            {
                "loan_id": loan.id,
                "transaction_id": real_id.get(allocation.payment_id, allocation.payment_id),
                "installment_id": id_of[allocation.seq],
                "paid_on": allocation.paid_on,
                "due_on": due_on[allocation.seq],
                "principal": allocation.principal,
                "interest": allocation.interest,
            }
            for allocation in result.allocations
        ]
        installment_rows += [
            {
                "row_id": installment_id,
                "principal_paid": new.principal_paid,
                "interest_paid": new.interest_paid,
                "paid_off_on": new.paid_off_on,
            }
            for installment_id, old, new in zip(
                stored.ids, stored.states, result.installments, strict=True
            )
            if (old.principal_paid, old.interest_paid, old.paid_off_on)
            != (new.principal_paid, new.interest_paid, new.paid_off_on)
        ]
        for transaction_id in _ids_of(rows):
            row = earlier[transaction_id]
            principal, interest = result.portions[transaction_id]
            if (row.principal_portion, row.interest_portion) != (principal, interest):
                portion_rows.append(
                    {
                        "row_id": transaction_id,
                        "principal_portion": principal,
                        "interest_portion": interest,
                    }
                )
        summary = summary_of(loan, result.installments, result.closed_on)
        loan_rows.append({"loan_id": loan.id, **{f"new_{k}": v for k, v in summary.items()}})
        written.append(Written([real_id[i] for i in ids], loan.outstanding_principal))
        for name, value in summary.items():
            set_committed_value(loan, name, value)
        set_committed_value(loan, "version", loan.version + 1)
        session.expire(loan, ["updated_at"])

    if allocation_rows:
        await connection.execute(insert(Allocation), allocation_rows)
    if installment_rows:
        await connection.execute(
            update(Installment).where(Installment.id == bindparam("row_id")), installment_rows
        )
    if portion_rows:
        await connection.execute(
            update(LoanTransaction).where(LoanTransaction.id == bindparam("row_id")),
            portion_rows,
        )
    # The optimistic-lock counter moves on in SQL, as an ORM flush of each loan would move it
    # (the caller holds the locks, so no version check is needed).
    await connection.execute(
        update(Loan)
        .where(Loan.id == bindparam("loan_id"))
        .values(
            {
                key.removeprefix("new_"): bindparam(key)
                for key in loan_rows[0]
                if key.startswith("new_")
            }
            | {"version": Loan.version + 1}
        ),
        loan_rows,
    )
    return written


IN_LIST = 5000
"""Ids per `IN (...)` list (well under the bound parameters a statement may carry)."""


def _ids_of(rows: Sequence[Any]) -> list[int]:
    """The distinct transactions of these allocation rows, in order of appearance."""
    return list(dict.fromkeys(row.transaction_id for row in rows))
