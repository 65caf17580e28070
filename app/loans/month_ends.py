"""Stored month ends: every loan's position at the end of a closed month, kept in a table so
that the portfolio as of that month end reads one stored row per loan outstanding then,
instead of the ledger (docs/ARITHMETIC.md, "Stored month ends").

What is stored: for a month end M, the rows `loan_positions_as_of(M)` gives (loan, centre,
holder, lender, product, outstanding principal, arrears, oldest overdue due date; one per
loan outstanding at M) go into `month_end_positions` with the loan's disbursement date,
the rows `overdue_amounts_as_of(M)` gives (what each of those loans still owed at M, per
due date before M) into `month_end_overdue`, and M into `stored_month_ends`. Only a closed
month is stored (M before today): a month end still to come would change with every
repayment of the month. A date earlier in M's month is computed from them and that
month's allocations (`positions_from_month_end`).

Why the rows stay exact: a loan's position at M depends only on what is dated on or before
M (its disbursement, the live repayments paid on or before M and their allocations, a
write-off dated on or before M) and on its terms, which never change. A write that adds or
removes something dated D (a backdated repayment, the reversal of a repayment paid on D, a
write-off, a disbursement or a taken-over loan dated D) replays the loan's ledger from D,
so it can change the loan's position at every M >= D and at no earlier one. Each such write
calls `refresh_month_ends(session, loans, since=D, today=...)` after the ledger is written
and in the same transaction: the loans' rows at every stored M >= D (in both tables) are
replaced by what the same statements then give for those loans alone. A write dated in the current
month (the usual repayment) cannot reach a stored month end and skips this without a
statement.

Storing and writing at the same time: on PostgreSQL, `store_month_end` holds a
transaction-level advisory lock exclusively, and a write that can reach a closed month end
holds it shared before it reads which month ends are stored. A write therefore either
commits before the month end's rows are read (they include it), or waits until the month
end is committed and then refreshes its loans in it. SQLite serialises writers anyway.
"""

import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    and_,
    delete,
    except_,
    func,
    insert,
    literal,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import Insert, Select, Subquery
from sqlalchemy.sql.elements import ColumnElement

from app.core.errors import RuleViolation
from app.core.money import MONEY
from app.loans.models import Allocation, Loan, MonthEndOverdue, MonthEndPosition, StoredMonthEnd
from app.loans.positions import (
    PositionSelect,
    allocations_as_movements,
    loan_positions_as_of,
    overdue_amounts_as_of,
)

__all__ = [
    "differing_loans",
    "is_stored_month_end",
    "last_closed_month_end",
    "month_end_of",
    "month_ends_before",
    "positions_from_month_end",
    "refresh_month_ends",
    "store_month_end",
    "store_month_ends",
    "stored_month_end_positions",
    "stored_month_ends",
]

# The advisory lock between storing a month end and the writes that can reach it (any
# constant of the application's own; "MEND" in ASCII).
MONTH_END_LOCK = 0x4D454E44


def last_closed_month_end(today: date) -> date:
    """The last day of the month before `today`'s: the latest month end that can be stored."""
    return today.replace(day=1) - timedelta(days=1)


def is_month_end(day: date) -> bool:
    return (day + timedelta(days=1)).day == 1


def month_end_of(day: date) -> date:
    """The last day of `day`'s month."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def month_ends_before(today: date, months: int) -> list[date]:
    """The last `months` closed month ends, oldest first."""
    ends: list[date] = []
    end = last_closed_month_end(today)
    for _ in range(months):
        ends.append(end)
        end = end.replace(day=1) - timedelta(days=1)
    return ends[::-1]


async def _hold_lock(session: AsyncSession, *, shared: bool) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return
    lock = func.pg_advisory_xact_lock_shared if shared else func.pg_advisory_xact_lock
    await session.execute(select(lock(MONTH_END_LOCK)))


def _store_positions(month_end: date, loan_filter: ColumnElement[bool] | None) -> Insert:
    """INSERT ... SELECT of the positions at `month_end` of the loans `loan_filter` keeps."""
    positions = loan_positions_as_of(month_end, loan_filter).subquery("positions")
    columns = [
        "month_end",
        "centre_id",
        "loan_id",
        "holder_id",
        "lender_id",
        "product_id",
        "disbursed_on",
        "outstanding_principal",
        "arrears_amount",
        "oldest_overdue_due_on",
    ]
    rows = select(
        literal(month_end, Date),
        positions.c.centre_id,
        positions.c.loan_id,
        positions.c.holder_id,
        positions.c.lender_id,
        positions.c.product_id,
        Loan.disbursed_on,
        _centimes(positions.c.outstanding_principal),
        _centimes(positions.c.arrears_amount),
        positions.c.oldest_overdue_due_on,
    ).join(Loan, Loan.id == positions.c.loan_id)
    return insert(MonthEndPosition).from_select(columns, rows)


def _store_overdue(month_end: date, loan_filter: ColumnElement[bool] | None) -> Insert:
    """INSERT ... SELECT of what the loans `loan_filter` keeps owed at `month_end`, by due
    date."""
    owed = overdue_amounts_as_of(month_end, loan_filter).subquery("owed")
    columns = ["month_end", "centre_id", "loan_id", "due_on", "unpaid_amount"]
    rows = select(
        literal(month_end, Date),
        owed.c.centre_id,
        owed.c.loan_id,
        owed.c.due_on,
        _centimes(owed.c.unpaid_amount),
    )
    return insert(MonthEndOverdue).from_select(columns, rows)


def _centimes(amount: ColumnElement[Any]) -> ColumnElement[Any]:
    """The amount rounded to the centime in SQL: a no-op on PostgreSQL's NUMERIC, and on
    SQLite (whose sums are binary floats) the same stored value whatever order the loan's
    amounts were summed in."""
    return func.round(amount, 2)


async def store_month_end(session: AsyncSession, month_end: date, *, today: date) -> int:
    """Store the positions at `month_end` (again, if it was stored: its rows are replaced);
    returns the number of loans outstanding then. The caller commits.

    422 (field `month_end`) unless it is the last day of a month before today's."""
    if not is_month_end(month_end):
        raise RuleViolation("month_end", "must be the last day of a month")
    if month_end > last_closed_month_end(today):
        raise RuleViolation("month_end", "must be the end of a month that is over")
    await _hold_lock(session, shared=False)
    for table in (MonthEndPosition, MonthEndOverdue, StoredMonthEnd):
        await session.execute(delete(table).where(table.month_end == month_end))
    await session.execute(_store_positions(month_end, None))
    await session.execute(_store_overdue(month_end, None))
    session.add(StoredMonthEnd(month_end=month_end))
    await session.flush()
    # Counted, not the INSERT's rowcount, which SQLite's driver does not give for it.
    counted = select(func.count()).where(MonthEndPosition.month_end == month_end)
    return int(await session.scalar(counted) or 0)


async def store_month_ends(
    sessionmaker: async_sessionmaker[AsyncSession],
    month_ends: Sequence[date],
    *,
    today: date,
    again: bool = False,
    on_done: Callable[[date, int | None, float], None] = lambda *_: None,
) -> None:
    """`store_month_end` for each of `month_ends`, one transaction each, skipping those
    already stored unless `again`. `on_done(month_end, loans stored or None when skipped,
    seconds)` after each."""
    async with sessionmaker() as session:
        done = set(await stored_month_ends(session))
    for month_end in month_ends:
        if month_end in done and not again:
            on_done(month_end, None, 0.0)
            continue
        started = time.perf_counter()
        async with sessionmaker() as session, session.begin():
            loans = await store_month_end(session, month_end, today=today)
        on_done(month_end, loans, time.perf_counter() - started)


async def stored_month_ends(session: AsyncSession, since: date | None = None) -> list[date]:
    """The stored month ends (on or after `since`), oldest first."""
    statement = select(StoredMonthEnd.month_end).order_by(StoredMonthEnd.month_end)
    if since is not None:
        statement = statement.where(StoredMonthEnd.month_end >= since)
    return list((await session.scalars(statement)).all())


async def is_stored_month_end(session: AsyncSession, day: date) -> bool:
    """Whether the positions at `day` are stored (no statement unless `day` is a month end)."""
    if not is_month_end(day):
        return False
    found = await session.scalar(
        select(StoredMonthEnd.month_end).where(StoredMonthEnd.month_end == day)
    )
    return found is not None


async def refresh_month_ends(
    session: AsyncSession, loans: Sequence[Loan], *, since: date, today: date
) -> None:
    """After a write dated `since` to `loans` (their ledgers already written in this
    transaction): replace their rows at every stored month end on or after `since` by their
    positions then. Nothing to do, and no statement, when `since` is in today's month."""
    if not loans or since > last_closed_month_end(today):
        return
    await _hold_lock(session, shared=True)
    month_ends = await stored_month_ends(session, since)
    if not month_ends:
        return
    await session.flush()
    loan_ids = sorted({loan.id for loan in loans})
    centre_ids = sorted({loan.centre_id for loan in loans})
    for month_end in month_ends:
        for table in (MonthEndPosition, MonthEndOverdue):
            await session.execute(
                delete(table).where(
                    table.month_end == month_end,
                    table.centre_id.in_(centre_ids),
                    table.loan_id.in_(loan_ids),
                )
            )
        await session.execute(_store_positions(month_end, Loan.id.in_(loan_ids)))
        await session.execute(_store_overdue(month_end, Loan.id.in_(loan_ids)))


def stored_month_end_positions(month_end: date, centre_id: int | None) -> PositionSelect:
    """The positions stored at `month_end` (of one centre, or all): the same columns and
    rows as `loan_positions_as_of(month_end)`, read from `month_end_positions`."""
    stored = MonthEndPosition
    statement = select(
        stored.loan_id,
        stored.centre_id,
        stored.holder_id,
        stored.lender_id,
        stored.product_id,
        stored.outstanding_principal,
        stored.arrears_amount,
        stored.oldest_overdue_due_on,
    ).where(stored.month_end == month_end)
    if centre_id is not None:
        statement = statement.where(stored.centre_id == centre_id)
    return statement


def positions_from_month_end(as_of: date, month_end: date, centre_id: int | None) -> PositionSelect:
    """The same rows as `loan_positions_as_of(as_of)` (of one centre, or all) for a date
    before `month_end` in the same month, when `month_end` is stored: the stored state at
    `month_end` minus what was paid in (as_of, month_end], the way `loan_positions_as_of`
    takes today's state minus what was paid after its date.

    - A loan outstanding at `month_end` and disbursed on or before `as_of` was outstanding
      at `as_of` (what is repaid or written off by `as_of` still is at `month_end`). Its
      outstanding principal at `as_of` = the stored one + the principal allocated in
      (as_of, month_end]. An installment due before `as_of` and not fully paid then was
      either still owing at `month_end` (a stored `MonthEndOverdue` row, since it was
      overdue then too) or completed by an allocation in (as_of, month_end]; what it owed
      at `as_of` = what it owed at `month_end` + what was allocated to it in between. So
      the arrears = the stored amounts due before `as_of` + the allocations in
      (as_of, month_end] to installments due before `as_of`, and the oldest overdue due
      date is the earliest due date among them.
    - A loan outstanding at `as_of` but not at `month_end` was repaid (`closed_on`) or
      written off in (as_of, month_end]: few loans, whose positions come from the ledger
      (`loan_positions_as_of` restricted to them).

    What it reads: the stored rows of `month_end`, the allocations paid in
    (as_of, month_end] (`ix_allocations_paid_on`), and the ledger of the loans that ended
    in between; its cost follows the month's activity, not the distance to today.
    """
    base = (
        stored_month_end_positions(month_end, centre_id)
        .where(MonthEndPosition.disbursed_on <= as_of)
        .cte("at_month_end")
    )
    paid_between = (
        allocations_as_movements(as_of)
        .join(base, base.c.loan_id == Allocation.loan_id)
        .where(Allocation.paid_on > as_of, Allocation.paid_on <= month_end)
    )
    owed = MonthEndOverdue
    still_owed = select(owed.loan_id, literal(0), owed.unpaid_amount, owed.due_on).where(
        owed.month_end == month_end, owed.due_on < as_of
    )
    if centre_id is not None:
        still_owed = still_owed.where(owed.centre_id == centre_id)
    movements = union_all(paid_between, still_owed).subquery("movements")
    per_loan = (
        select(
            movements.c.loan_id,
            func.sum(movements.c.principal).label("principal_paid_between"),
            func.sum(movements.c.past_due).label("arrears_amount"),
            func.min(movements.c.overdue_due_on).label("oldest_overdue_due_on"),
        )
        .group_by(movements.c.loan_id)
        .subquery("per_loan")
    )
    from_stored = select(
        base.c.loan_id,
        base.c.centre_id,
        base.c.holder_id,
        base.c.lender_id,
        base.c.product_id,
        type_coerce(
            base.c.outstanding_principal + func.coalesce(per_loan.c.principal_paid_between, 0),
            MONEY,
        ).label("outstanding_principal"),
        type_coerce(func.coalesce(per_loan.c.arrears_amount, 0), MONEY).label("arrears_amount"),
        type_coerce(per_loan.c.oldest_overdue_due_on, Date()).label("oldest_overdue_due_on"),
    ).outerjoin(per_loan, per_loan.c.loan_id == base.c.loan_id)
    ended_between = or_(
        and_(Loan.closed_on > as_of, Loan.closed_on <= month_end),
        and_(Loan.written_off_on > as_of, Loan.written_off_on <= month_end),
    )
    if centre_id is not None:
        ended_between = and_(ended_between, Loan.centre_id == centre_id)
    # Repaid or written off by the month end: nothing of theirs is paid after it.
    ended = loan_positions_as_of(as_of, ended_between, last_paid_on=month_end)
    both = union_all(from_stored, ended).subquery("positions_from_month_end")
    return select(
        both.c.loan_id,
        both.c.centre_id,
        both.c.holder_id,
        both.c.lender_id,
        both.c.product_id,
        type_coerce(both.c.outstanding_principal, MONEY).label("outstanding_principal"),
        type_coerce(both.c.arrears_amount, MONEY).label("arrears_amount"),
        type_coerce(both.c.oldest_overdue_due_on, Date()).label("oldest_overdue_due_on"),
    )


async def differing_loans(session: AsyncSession, month_end: date) -> list[int]:
    """The loans whose stored rows at `month_end` (position, or what they owed by due date)
    differ from what the ledger gives now (`loan_positions_as_of`,
    `overdue_amounts_as_of`), or are missing or extra (`tracker month-ends check`); empty
    when the stored month end is exact."""
    stored = _comparable(stored_month_end_positions(month_end, None).subquery("stored"))
    computed = _comparable(loan_positions_as_of(month_end).subquery("computed"))
    stored_owed = _comparable(
        select(
            MonthEndOverdue.loan_id,
            MonthEndOverdue.centre_id,
            MonthEndOverdue.due_on,
            MonthEndOverdue.unpaid_amount,
        )
        .where(MonthEndOverdue.month_end == month_end)
        .subquery("stored_owed")
    )
    computed_owed = _comparable(overdue_amounts_as_of(month_end).subquery("computed_owed"))
    differences = [
        except_(computed, stored),
        except_(stored, computed),
        except_(computed_owed, stored_owed),
        except_(stored_owed, computed_owed),
    ]
    ids = union_all(
        *(select(difference.subquery().c.loan_id) for difference in differences)
    ).subquery("ids")
    statement = select(ids.c.loan_id).distinct().order_by(ids.c.loan_id)
    return list((await session.scalars(statement)).all())


def _comparable(positions: Subquery) -> Select[Any]:
    return select(
        *(
            _centimes(column)
            if column.name in ("outstanding_principal", "arrears_amount", "unpaid_amount")
            else column
            for column in positions.c
        )
    )
