"""Every outstanding loan's position as of a date, as one set-based SQL query.

The SQL counterpart of ``ledger.position_as_of`` for many loans at once (DESIGN.md,
"Money and portfolio arithmetic"). Reports, list filters and worklists use the query as a
subquery and aggregate over it in the database; nothing here loops over loans in Python.

Days past due are not a column: ``days_past_due = (as_of - oldest_overdue_due_on).days``,
so a threshold goes into SQL as a date parameter (``days_past_due > N`` is
``oldest_overdue_due_on < as_of - N days``), with no dialect-specific date arithmetic.
"""

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Select, and_, case, func, null, or_, select, type_coerce, union_all
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from app.core.money import MONEY
from app.loans.models import Allocation, Installment, Loan

__all__ = [
    "PositionSelect",
    "current_loan_positions",
    "loan_is_outstanding",
    "loan_positions_as_of",
]

PositionSelect = Select[int, int, int, int, int, Decimal, Decimal, date | None]
"""Rows of (loan_id, centre_id, holder_id, lender_id, product_id, outstanding_principal,
arrears_amount, oldest_overdue_due_on)."""


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
    as_of: date, loan_filter: ColumnElement[bool] | None = None
) -> PositionSelect:
    """One row per loan outstanding at ``as_of``, computed from the dated history.

    Columns: ``loan_id, centre_id, holder_id, lender_id, product_id,
    outstanding_principal, arrears_amount, oldest_overdue_due_on``. ``loan_filter`` (a
    condition on ``Loan`` columns, e.g. ``Loan.centre_id == 3``) restricts the loans
    inside the query too, so that one centre's positions read only its loans' rows.

    Reads ``loans`` (terms and event dates only, never the current-state summary columns),
    ``installments`` (``due_on``, ``principal_due``, ``interest_due``, ``paid_off_on``) and
    ``allocations`` (each repayment's split per installment, dated by the payment).

    Why this is the state as of ``as_of``: the allocations table holds the deterministic
    replay of every non-reversed repayment (a reversed one has none), each allocation
    carrying its payment's ``paid_on``; keeping those with ``paid_on <= as_of`` gives what
    had been paid on each installment at the end of that day, whatever was entered later,
    and a backdated payment has already been replayed into its place. Then, as in
    ``ledger.position_as_of``:

    - ``outstanding_principal`` = principal - principal allocated with paid_on <= as_of;
    - an installment is overdue when ``due_on < as_of`` and its principal + interest due
      exceeds what was allocated to it by ``as_of``;
    - ``arrears_amount`` = the unpaid remainder of the overdue installments (0 when none);
    - ``oldest_overdue_due_on`` = the earliest overdue due date (NULL when none).

    How it reads little: only installments of outstanding loans that were not fully paid
    at ``as_of`` matter, and those are the installments with ``paid_off_on`` NULL or after
    ``as_of``. ``paid_off_on`` is the date of the payment that completed the installment in
    the replay, which applies payments in date order; so an installment with
    ``paid_off_on <= as_of`` was fully paid by then (principal and interest: a payment
    never over-pays a part) and one not fully paid by then has none or a later one (an
    installment with nothing due carries its own due date there and is never overdue).
    Fully paid installments owe nothing, and a schedule's principals sum to the loan's
    principal exactly, so:

    - outstanding principal = sum over the open installments of principal_due, minus the
      principal allocated to them by ``as_of``;
    - arrears = sum over the open installments due before ``as_of`` of principal + interest
      due, minus what was allocated to them by ``as_of``;
    - the oldest overdue due date = the earliest due date among the open installments due
      before ``as_of`` with something due.

    Each open installment gives one row of amounts owed and each of its allocations paid
    by ``as_of`` one row of amounts paid (negative); one GROUP BY per loan sums them, with
    no per-installment grouping. The work is proportional to the open installments of the
    outstanding loans (mostly those not yet due), not to the whole history; for one
    centre, loans come through ``ix_loans_centre_status``, installments through
    ``uq_installments_loan_id`` and allocations through ``ix_allocations_installment_id``.
    """
    outstanding = loan_is_outstanding(as_of)
    if loan_filter is not None:
        outstanding = and_(outstanding, loan_filter)
    is_open = or_(Installment.paid_off_on.is_(None), Installment.paid_off_on > as_of)
    total_due = Installment.principal_due + Installment.interest_due
    is_past_due = Installment.due_on < as_of
    owed = (
        select(
            Installment.loan_id.label("loan_id"),
            Installment.principal_due.label("principal"),
            case((is_past_due, total_due), else_=0).label("past_due"),
            case((and_(is_past_due, total_due > 0), Installment.due_on), else_=None).label(
                "overdue_due_on"
            ),
        )
        .join(Loan, Loan.id == Installment.loan_id)
        .where(outstanding, is_open)
    )
    paid = (
        select(
            Installment.loan_id.label("loan_id"),
            (-Allocation.principal).label("principal"),
            case((is_past_due, -(Allocation.principal + Allocation.interest)), else_=0).label(
                "past_due"
            ),
            null().label("overdue_due_on"),
        )
        .join(Installment, Installment.id == Allocation.installment_id)
        .join(Loan, Loan.id == Installment.loan_id)
        .where(outstanding, is_open, Allocation.paid_on <= as_of)
    )
    movements = union_all(owed, paid).subquery("movements")
    per_loan = (
        select(
            movements.c.loan_id,
            func.sum(movements.c.principal).label("outstanding_principal"),
            func.sum(movements.c.past_due).label("arrears_amount"),
            func.min(movements.c.overdue_due_on).label("oldest_overdue_due_on"),
        )
        .group_by(movements.c.loan_id)
        .subquery("per_loan")
    )

    return (
        select(
            Loan.id.label("loan_id"),
            Loan.centre_id.label("centre_id"),
            Loan.holder_id.label("holder_id"),
            Loan.lender_id.label("lender_id"),
            Loan.product_id.label("product_id"),
            _money(func.coalesce(per_loan.c.outstanding_principal, 0)).label(
                "outstanding_principal"
            ),
            _money(func.coalesce(per_loan.c.arrears_amount, 0)).label("arrears_amount"),
            _date(per_loan.c.oldest_overdue_due_on).label("oldest_overdue_due_on"),
        )
        .outerjoin(per_loan, per_loan.c.loan_id == Loan.id)
        .where(outstanding)
    )


def current_loan_positions(
    as_of: date, loan_filter: ColumnElement[bool] | None = None
) -> PositionSelect:
    """The same rows and columns as ``loan_positions_as_of``, from the current state.

    ``loan_filter`` as in ``loan_positions_as_of``. Valid only when ``as_of`` is today or
    later: no repayment, write-off or disbursement is ever dated in the future, so the
    state kept up to date on each row is the state as of any such date. The caller
    chooses; past dates must use ``loan_positions_as_of``.

    Reads ``loans`` (event dates, ``status``, the summary columns ``outstanding_principal``
    and ``oldest_unpaid_due_on``, maintained in the same transaction as every repayment,
    reversal and write-off) and, only for loans whose oldest unpaid installment is due
    before ``as_of``, their still-unpaid installments (``paid_off_on IS NULL``, current
    ``principal_paid`` / ``interest_paid``) to sum the arrears: loans in arrears come from
    ``ix_loans_status_oldest_unpaid``, their installments from ``uq_installments_loan_id``.
    """
    outstanding = and_(Loan.status == "active", loan_is_outstanding(as_of))
    if loan_filter is not None:
        outstanding = and_(outstanding, loan_filter)
    in_arrears = (
        select(
            Installment.loan_id.label("loan_id"),
            func.sum(
                Installment.principal_due
                + Installment.interest_due
                - Installment.principal_paid
                - Installment.interest_paid
            ).label("arrears_amount"),
        )
        .join(Loan, Loan.id == Installment.loan_id)
        .where(
            outstanding,
            Loan.oldest_unpaid_due_on < as_of,
            Installment.paid_off_on.is_(None),
            Installment.due_on < as_of,
        )
        .group_by(Installment.loan_id)
        .subquery("in_arrears")
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
            _money(func.coalesce(in_arrears.c.arrears_amount, 0)).label("arrears_amount"),
            _date(oldest_overdue).label("oldest_overdue_due_on"),
        )
        .outerjoin(in_arrears, in_arrears.c.loan_id == Loan.id)
        .where(outstanding)
    )


def _money(expression: ColumnElement[Any] | InstrumentedAttribute[Any]) -> ColumnElement[Decimal]:
    """Read the result as NUMERIC(14,2), so SQLite's floats come back as exact Decimals."""
    return type_coerce(expression, MONEY)


def _date(expression: ColumnElement[Any]) -> ColumnElement[date | None]:
    return type_coerce(expression, Date())
