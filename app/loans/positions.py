"""Every outstanding loan's position as of a date, as one set-based SQL query.

The SQL counterpart of ``ledger.position_as_of`` for many loans at once (docs/ARITHMETIC.md,
"Portfolio figures as of a date D"). Reports, list filters and worklists use the query as a
subquery and aggregate over it in the database; nothing here loops over loans in Python.

Days past due are not a column: ``days_past_due = (as_of - oldest_overdue_due_on).days``,
so a threshold goes into SQL as a date parameter (``days_past_due > N`` is
``oldest_overdue_due_on < as_of - N days``), with no dialect-specific date arithmetic.
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    Select,
    and_,
    case,
    func,
    literal,
    not_,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from app.core.money import MONEY
from app.loans.models import Allocation, Installment, Loan

__all__ = [
    "DatedPositionSelect",
    "OverdueSelect",
    "PositionSelect",
    "allocations_as_movements",
    "current_loan_positions",
    "loan_is_outstanding",
    "loan_positions_as_of",
    "loan_positions_at_dates",
    "overdue_amounts_as_of",
    "still_owed_on_installment",
]

PositionSelect = Select[int, int, int, int, int, Decimal, Decimal, date | None]
"""Rows of (loan_id, centre_id, holder_id, lender_id, product_id, outstanding_principal,
arrears_amount, oldest_overdue_due_on)."""

OverdueSelect = Select[int, int, date, Decimal]
"""Rows of (loan_id, centre_id, due_on, unpaid_amount)."""

DatedPositionSelect = Select[date, int, int, int, Decimal, date | None]
"""Rows of (as_of, loan_id, centre_id, holder_id, outstanding_principal,
oldest_overdue_due_on)."""


def still_owed_on_installment() -> ColumnElement[Any]:
    """What an installment still owes today: principal plus interest due minus paid."""
    return (
        Installment.principal_due
        + Installment.interest_due
        - Installment.principal_paid
        - Installment.interest_paid
    )


def loan_is_outstanding(as_of: date) -> ColumnElement[bool]:
    """Disbursed on or before ``as_of`` and neither fully repaid nor written off by then.

    Reads only the loan's event dates (``disbursed_on``, ``closed_on``, ``written_off_on``),
    which are facts about the past and stay valid for any date.
    """
    return and_(
        Loan.disbursed_on <= as_of,
        or_(Loan.closed_on.is_(None), Loan.closed_on > as_of),
        or_(Loan.written_off_on.is_(None), Loan.written_off_on > as_of),
    )


def loan_positions_as_of(
    as_of: date,
    loan_filter: ColumnElement[bool] | None = None,
    *,
    last_paid_on: date | None = None,
) -> PositionSelect:
    """One row per loan outstanding at ``as_of``: today's stored state minus what was paid
    after ``as_of``.

    Columns: ``loan_id, centre_id, holder_id, lender_id, product_id,
    outstanding_principal, arrears_amount, oldest_overdue_due_on``. ``loan_filter`` (a
    condition on ``Loan`` columns, e.g. ``Loan.centre_id == 3``) restricts the loans
    inside the query too, so that one centre's positions read only its loans' rows.

    Why it is exact: the stored state (each installment's ``principal_paid``,
    ``interest_paid``, ``paid_off_on``, the loan's ``paid_principal``) is the replay of the
    live repayments in date order, and the allocations hold that replay dated by payment
    (a backdated payment or a reversal has already been replayed into place). The state at
    the end of ``as_of`` is therefore the stored state minus the allocations dated after
    ``as_of``, and:

    - ``outstanding_principal`` = principal - ``paid_principal`` + the principal of the
      allocations dated after ``as_of``;
    - the installments not fully paid at ``as_of`` are those unpaid today
      (``paid_off_on IS NULL``) and those completed later, which all have an allocation
      dated after ``as_of`` (the one that completed them); every allocation dated after
      ``as_of`` is to one of them. So the arrears (unpaid remainder of those due before
      ``as_of``) = what is unpaid today on installments due before ``as_of`` + the
      allocations dated after ``as_of`` to installments due before ``as_of``;
    - ``oldest_overdue_due_on`` = the earliest due date, before ``as_of``, among the
      installments unpaid today and those of the allocations dated after ``as_of`` (each
      of them owed something at ``as_of``; an installment with nothing due is never
      unpaid).

    What it reads: ``loans`` (terms, event dates and ``paid_principal``), the installments
    unpaid today that fell due before ``as_of`` (``ix_installments_unpaid``, a partial index),
    and the allocations dated after ``as_of``, which carry their installment's due date
    (``ix_allocations_paid_on``, or ``ix_allocations_loan_paid_on`` from one centre's loans).
    Its cost follows the activity since ``as_of`` and today's arrears, not the history.

    ``last_paid_on``, for loans that ``loan_filter`` keeps only when none of them has an
    allocation dated after it (loans repaid or written off by then: nothing is paid after
    a loan's end), bounds the allocations read to (as_of, last_paid_on], a range of
    ``ix_allocations_paid_on`` that the plan can read once instead of one loan at a time.
    """
    outstanding = loan_is_outstanding(as_of)
    if loan_filter is not None:
        outstanding = and_(outstanding, loan_filter)
    # Read once and joined three times (PostgreSQL materialises a CTE used more than once),
    # rather than filtering `loans` again for each part.
    loans = (
        select(
            Loan.id.label("id"),
            Loan.centre_id.label("centre_id"),
            Loan.holder_id.label("holder_id"),
            Loan.lender_id.label("lender_id"),
            Loan.product_id.label("product_id"),
            (Loan.principal - Loan.paid_principal).label("unpaid_today"),
        )
        .where(outstanding)
        .cte("outstanding_loans")
    )
    paid_later = (
        allocations_as_movements(as_of)
        .join(loans, loans.c.id == Allocation.loan_id)
        .where(Allocation.paid_on > as_of)
    )
    if last_paid_on is not None:
        paid_later = paid_later.where(Allocation.paid_on <= last_paid_on)
    unpaid_today = (
        select(
            Installment.loan_id.label("loan_id"),
            literal(0).label("principal"),
            still_owed_on_installment().label("past_due"),
            Installment.due_on.label("overdue_due_on"),
        )
        .join(loans, loans.c.id == Installment.loan_id)
        .where(Installment.paid_off_on.is_(None), Installment.due_on < as_of)
    )
    movements = union_all(paid_later, unpaid_today).subquery("movements")
    per_loan = (
        select(
            movements.c.loan_id,
            func.sum(movements.c.principal).label("principal_paid_later"),
            func.sum(movements.c.past_due).label("arrears_amount"),
            func.min(movements.c.overdue_due_on).label("oldest_overdue_due_on"),
        )
        .group_by(movements.c.loan_id)
        .subquery("per_loan")
    )

    return select(
        loans.c.id.label("loan_id"),
        loans.c.centre_id,
        loans.c.holder_id,
        loans.c.lender_id,
        loans.c.product_id,
        _money(loans.c.unpaid_today + func.coalesce(per_loan.c.principal_paid_later, 0)).label(
            "outstanding_principal"
        ),
        _money(func.coalesce(per_loan.c.arrears_amount, 0)).label("arrears_amount"),
        _date(per_loan.c.oldest_overdue_due_on).label("oldest_overdue_due_on"),
    ).outerjoin(per_loan, per_loan.c.loan_id == loans.c.id)


def allocations_as_movements(as_of: date) -> Select[int, Decimal, Decimal, date | None]:
    """Allocations as the movements that take a later position back to ``as_of``, for
    allocations paid after ``as_of``: ``loan_id``, ``principal`` (back into the
    outstanding), ``past_due`` (principal and interest back into the arrears when the
    installment was due before ``as_of``, else 0) and ``overdue_due_on`` (its due date when
    due before ``as_of``). The caller joins the loans and bounds ``paid_on``."""
    paid_for_past_due = Allocation.due_on < as_of
    return select(
        Allocation.loan_id.label("loan_id"),
        Allocation.principal.label("principal"),
        case((paid_for_past_due, Allocation.principal + Allocation.interest), else_=0).label(
            "past_due"
        ),
        case((paid_for_past_due, Allocation.due_on), else_=None).label("overdue_due_on"),
    )


def overdue_amounts_as_of(
    as_of: date, loan_filter: ColumnElement[bool] | None = None
) -> OverdueSelect:
    """Per loan outstanding at ``as_of`` and per due date before ``as_of``: what its
    installments due that day still owed at ``as_of`` (principal and interest), for the
    dates on which something was owed.

    Columns: ``loan_id, centre_id, due_on, unpaid_amount``; ``loan_filter`` as in
    ``loan_positions_as_of``. The same installments and amounts as the arrears of
    ``loan_positions_as_of``, kept by due date instead of summed per loan, for the same
    reason: an installment not fully paid at ``as_of`` is unpaid today or was completed
    by an allocation dated after ``as_of``, and what it owed then is what it owes today
    plus what was allocated to it after ``as_of``. So, per loan and due date, summing the
    rows gives the arrears at ``as_of`` and the earliest date its ``oldest_overdue_due_on``.
    """
    outstanding = loan_is_outstanding(as_of)
    if loan_filter is not None:
        outstanding = and_(outstanding, loan_filter)
    loans = select(Loan.id.label("id"), Loan.centre_id.label("centre_id")).where(outstanding)
    loans_cte = loans.cte("overdue_loans")
    paid_later = (
        select(
            Allocation.loan_id.label("loan_id"),
            Allocation.due_on.label("due_on"),
            (Allocation.principal + Allocation.interest).label("amount"),
        )
        .join(loans_cte, loans_cte.c.id == Allocation.loan_id)
        .where(Allocation.paid_on > as_of, Allocation.due_on < as_of)
    )
    unpaid_today = (
        select(
            Installment.loan_id.label("loan_id"),
            Installment.due_on.label("due_on"),
            still_owed_on_installment().label("amount"),
        )
        .join(loans_cte, loans_cte.c.id == Installment.loan_id)
        .where(Installment.paid_off_on.is_(None), Installment.due_on < as_of)
    )
    owed = union_all(paid_later, unpaid_today).subquery("owed")
    return (
        select(
            owed.c.loan_id,
            loans_cte.c.centre_id,
            _date(owed.c.due_on).label("due_on"),
            _money(func.sum(owed.c.amount)).label("unpaid_amount"),
        )
        .join(loans_cte, loans_cte.c.id == owed.c.loan_id)
        .group_by(owed.c.loan_id, loans_cte.c.centre_id, owed.c.due_on)
    )


def current_loan_positions(
    as_of: date, loan_filter: ColumnElement[bool] | None = None
) -> PositionSelect:
    """The same rows and columns as ``loan_positions_as_of``, from the current state.

    ``loan_filter`` as in ``loan_positions_as_of``. Valid only when ``as_of`` is today or
    later: no repayment, write-off or disbursement is ever dated in the future, so the
    state kept up to date on each row is the state as of any such date. The caller
    chooses; past dates must use ``loan_positions_as_of``.

    Reads ``loans`` (event dates, ``status`` and the summary columns, maintained in the
    same transaction as every repayment, reversal and write-off) and, for the arrears
    (docs/ARITHMETIC.md, "Arrears folded into the loan"), ``overdue_amount`` (what the
    installments due before the loan's ``overdue_through`` still owe) plus what the
    installments due from ``overdue_through`` to the day before ``as_of`` still owe. That
    second sum comes from one of two subqueries, so that the common case is one range of
    due dates:

    - for the loans folded through F, the latest ``overdue_through`` of any active loan
      (where the monthly fold moved them; one index probe of
      ``ix_loans_status_overdue_through``): the unpaid installments due in [F, as_of),
      summed by loan, a range of ``ix_installments_unpaid`` (index-only on PostgreSQL,
      which carries the amounts) joined to the loans whose ``overdue_through`` is F;
    - for the other loans in arrears (``overdue_through`` NULL or before F: never folded,
      or active again after a reversal): their unpaid installments due from their own
      ``overdue_through`` (or from the first) to the day before ``as_of``, through
      ``ix_installments_unpaid_by_loan``.

    ``overdue_through`` is never after the day it was set, so it is on or before ``as_of``.
    """
    outstanding = and_(Loan.status == "active", loan_is_outstanding(as_of))
    if loan_filter is not None:
        outstanding = and_(outstanding, loan_filter)
    latest_fold = (
        select(func.max(Loan.overdue_through)).where(Loan.status == "active").scalar_subquery()
    )
    unpaid = still_owed_on_installment()
    open_and_due = and_(Installment.paid_off_on.is_(None), Installment.due_on < as_of)
    since_latest_fold = (
        select(Installment.loan_id.label("loan_id"), func.sum(unpaid).label("amount"))
        .where(open_and_due, Installment.due_on >= latest_fold)
        .group_by(Installment.loan_id)
        .subquery("since_latest_fold")
    )
    since_own_fold = (
        select(Installment.loan_id.label("loan_id"), func.sum(unpaid).label("amount"))
        .join(Loan, Loan.id == Installment.loan_id)
        .where(
            outstanding,
            or_(Loan.overdue_through.is_(None), Loan.overdue_through < latest_fold),
            Loan.oldest_unpaid_due_on < as_of,
            open_and_due,
            or_(Loan.overdue_through.is_(None), Installment.due_on >= Loan.overdue_through),
        )
        .group_by(Installment.loan_id)
        .subquery("since_own_fold")
    )
    # The oldest unpaid installment is the oldest overdue one exactly when it is due before
    # as_of; otherwise nothing is overdue.
    oldest_overdue = case(
        (Loan.oldest_unpaid_due_on < as_of, Loan.oldest_unpaid_due_on), else_=None
    )
    return (
        select(
            Loan.id.label("loan_id"),
            Loan.centre_id.label("centre_id"),
            Loan.holder_id.label("holder_id"),
            Loan.lender_id.label("lender_id"),
            Loan.product_id.label("product_id"),
            _money(Loan.outstanding_principal).label("outstanding_principal"),
            # A loan is folded through the latest fold or not: one join at most matches.
            _money(
                Loan.overdue_amount
                + func.coalesce(since_latest_fold.c.amount, since_own_fold.c.amount, 0)
            ).label("arrears_amount"),
            _date(oldest_overdue).label("oldest_overdue_due_on"),
        )
        .outerjoin(
            since_latest_fold,
            and_(since_latest_fold.c.loan_id == Loan.id, Loan.overdue_through == latest_fold),
        )
        .outerjoin(since_own_fold, since_own_fold.c.loan_id == Loan.id)
        .where(outstanding)
    )


def loan_positions_at_dates(
    dates: Sequence[date], loan_filter: ColumnElement[bool] | None = None
) -> DatedPositionSelect:
    """One row per loan and date of ``dates`` at which the loan is outstanding, in one
    statement: the same ``outstanding_principal`` and ``oldest_overdue_due_on`` as
    ``loan_positions_as_of`` for each date (no arrears amount).

    Columns: ``as_of, loan_id, centre_id, holder_id, outstanding_principal,
    oldest_overdue_due_on``. ``loan_filter`` as in ``loan_positions_as_of``.

    Why it is exact, with the dates sorted d_0 < d_1 < ... (as in ``loan_positions_as_of``,
    today's stored state minus what was paid after each date):

    - each allocation dated p > d_0 is put in the bucket of the last date before it
      (k with d_k < p <= d_k+1); it was paid after d_j exactly for j <= k. So, per loan, a
      running sum over the buckets from the last date down gives the principal paid after
      each date, and a running minimum the earliest due date among the installments paid
      after it;
    - the installments unpaid today are the loan's ``oldest_unpaid_due_on`` and later
      ones (a summary column kept with every write, for every status), so the earliest
      of them due before d is ``oldest_unpaid_due_on`` when it is before d;
    - ``oldest_overdue_due_on`` at d is the earlier of that and of the earliest due date
      paid after d, each counted only when before d.

    What it reads: the loans (event dates, ``principal``, ``paid_principal``,
    ``oldest_unpaid_due_on``) and the allocations dated after the first date
    (``ix_allocations_loan_paid_on`` from one centre's loans), each once, whatever the
    number of dates; no installment. The allocations are grouped to at most one row per
    loan and date, and the running sums are window functions over at most one row per
    loan and date.
    """
    days = sorted(set(dates))
    if not days:
        raise ValueError("loan_positions_at_dates needs at least one date")
    first, last = days[0], days[-1]
    in_range = and_(
        Loan.disbursed_on <= last,
        or_(Loan.closed_on.is_(None), Loan.closed_on > first),
        or_(Loan.written_off_on.is_(None), Loan.written_off_on > first),
    )
    if loan_filter is not None:
        in_range = and_(in_range, loan_filter)

    steps = [
        select(literal(step, Integer()).label("step"), literal(day, Date()).label("as_of"))
        for step, day in enumerate(days)
    ]
    as_of_dates = (steps[0] if len(steps) == 1 else union_all(*steps)).subquery("as_of_dates")

    # The step of the last date before the payment (the allocation was paid after that
    # date and every earlier one).
    step_paid_after: ColumnElement[int] = literal(0, Integer())
    if len(days) > 1:
        step_paid_after = case(
            *[(Allocation.paid_on <= day, step) for step, day in enumerate(days[1:])],
            else_=len(days) - 1,
        )
    dated = (
        select(
            Allocation.loan_id.label("loan_id"),
            step_paid_after.label("step"),
            Allocation.principal.label("principal"),
            Allocation.due_on.label("due_on"),
        )
        .join(Loan, Loan.id == Allocation.loan_id)
        .where(in_range, Allocation.paid_on > first)
        .subquery("dated")
    )
    buckets = (
        select(
            dated.c.loan_id,
            dated.c.step,
            func.sum(dated.c.principal).label("principal"),
            func.min(dated.c.due_on).label("due_on"),
        )
        .group_by(dated.c.loan_id, dated.c.step)
        .subquery("buckets")
    )
    # One row per loan and date from its disbursement on (no allocation precedes it, so
    # the running sums from the last date down lose nothing).
    grid = (
        select(
            as_of_dates.c.as_of,
            Loan.id.label("loan_id"),
            Loan.centre_id.label("centre_id"),
            Loan.holder_id.label("holder_id"),
            Loan.closed_on.label("closed_on"),
            Loan.written_off_on.label("written_off_on"),
            (Loan.principal - Loan.paid_principal).label("unpaid_today"),
            Loan.oldest_unpaid_due_on.label("oldest_unpaid_due_on"),
            func.sum(buckets.c.principal)
            .over(partition_by=Loan.id, order_by=as_of_dates.c.step.desc())
            .label("paid_later"),
            func.min(buckets.c.due_on)
            .over(partition_by=Loan.id, order_by=as_of_dates.c.step.desc())
            .label("due_on_paid_later"),
        )
        .select_from(Loan)
        .join(as_of_dates, Loan.disbursed_on <= as_of_dates.c.as_of)
        .outerjoin(
            buckets, and_(buckets.c.loan_id == Loan.id, buckets.c.step == as_of_dates.c.step)
        )
        .where(in_range)
        .subquery("grid")
    )
    as_of = grid.c.as_of
    unpaid_due_on = grid.c.oldest_unpaid_due_on
    paid_later_due_on = grid.c.due_on_paid_later
    oldest_overdue = case(
        (
            and_(
                unpaid_due_on < as_of,
                or_(paid_later_due_on.is_(None), not_(paid_later_due_on < unpaid_due_on)),
            ),
            unpaid_due_on,
        ),
        (paid_later_due_on < as_of, paid_later_due_on),
        else_=None,
    )
    return select(
        _date(as_of).label("as_of"),
        grid.c.loan_id,
        grid.c.centre_id,
        grid.c.holder_id,
        _money(grid.c.unpaid_today + func.coalesce(grid.c.paid_later, 0)).label(
            "outstanding_principal"
        ),
        _date(oldest_overdue).label("oldest_overdue_due_on"),
    ).where(
        or_(grid.c.closed_on.is_(None), grid.c.closed_on > as_of),
        or_(grid.c.written_off_on.is_(None), grid.c.written_off_on > as_of),
    )


def _money(expression: ColumnElement[Any] | InstrumentedAttribute[Any]) -> ColumnElement[Decimal]:
    """Read the result as NUMERIC(14,2), so SQLite's floats come back as exact Decimals."""
    return type_coerce(expression, MONEY)


def _date(expression: ColumnElement[Any]) -> ColumnElement[date | None]:
    return type_coerce(expression, Date())
