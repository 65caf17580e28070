"""Portfolio at risk and aging as of a date, grouped (docs/ARITHMETIC.md,
"Portfolio figures as of a date D").

One statement: the grouped figures and the total (the total's distinct borrowers are not
the sum of the groups') over one position row per outstanding loan, in one pass with
GROUPING SETS on PostgreSQL, or as a UNION ALL over a CTE computed once on SQLite:

- as of today or later, `current_loan_positions`: the loans' summary columns, their
  folded arrears (`overdue_amount`) and the still-unpaid installments due since their
  fold (`ix_installments_unpaid`; `ix_installments_unpaid_by_loan` for a loan not folded
  lately);
- as of a stored month end (app/loans/month_ends.py), the positions stored for that date;
- as of an earlier date of a month whose end is stored, those stored positions minus the
  payments made between the date and the month end (`positions_from_month_end`);
- as of any other past date, `loan_positions_as_of`: the installments not fully paid at
  that date and their dated allocations, never the summary columns.

Days-past-due thresholds are date parameters: `days_past_due > N` is
`oldest_overdue_due_on < as_of - N days`; age bands are birth-date parameters.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Row,
    Select,
    and_,
    case,
    func,
    literal_column,
    null,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import ColumnElement

from app.centres.models import Centre
from app.core.sql import days_after, money_sum, money_sum_where
from app.holders.models import Holder
from app.loans.ledger import AgingBucket
from app.loans.models import Lender, Loan, LoanProduct
from app.loans.month_ends import (
    is_stored_month_end,
    month_end_of,
    positions_from_month_end,
    stored_month_end_positions,
)
from app.loans.positions import PositionSelect, current_loan_positions, loan_positions_as_of
from app.reports.common import GroupKey, id_key, id_label, share, sorted_rows, text_key
from app.reports.dates import years_before
from app.reports.labels import TOTAL_LABEL, UNSPECIFIED, humanise
from app.reports.schemas import Aging, AgingCell, PortfolioGroup, PortfolioReport, PortfolioRow
from app.users.models import User

PAR_DAYS = (1, 30, 90)

# (bucket, fewest days past due, most days past due or None), in report order.
AGING_BOUNDS: tuple[tuple[AgingBucket, int, int | None], ...] = (
    (AgingBucket.CURRENT, 0, 0),
    (AgingBucket.DAYS_1_30, 1, 30),
    (AgingBucket.DAYS_31_60, 31, 60),
    (AgingBucket.DAYS_61_90, 61, 90),
    (AgingBucket.DAYS_91_180, 91, 180),
    (AgingBucket.DAYS_181_365, 181, 365),
    (AgingBucket.DAYS_366_PLUS, 366, None),
)


def positions_select(
    as_of: date, today: date, centre_id: int | None, *, month_end_stored: bool = False
) -> PositionSelect:
    """One row per loan outstanding at `as_of` (see `app.loans.positions`), in the centre:
    from the current state as of today; when the end of `as_of`'s month is stored
    (`month_end_stored`, app/loans/month_ends.py), from its stored positions (minus the
    payments made after `as_of` when `as_of` is earlier in the month); else from the
    ledger."""
    in_centre = None if centre_id is None else Loan.centre_id == centre_id
    if as_of >= today:
        return current_loan_positions(as_of, in_centre)
    if month_end_stored:
        month_end = month_end_of(as_of)
        if month_end == as_of:
            return stored_month_end_positions(as_of, centre_id)
        return positions_from_month_end(as_of, month_end, centre_id)
    return loan_positions_as_of(as_of, in_centre)


def age_band(birth_date: Any, as_of: date) -> ColumnElement[str]:
    """The borrower's age band at `as_of` (`unspecified` under 18), compared as birth dates:
    at least N years old at `as_of` means born on or before `years_before(as_of, N)`."""
    return case(
        (birth_date > years_before(as_of, 18), UNSPECIFIED),
        (birth_date > years_before(as_of, 25), "18-24"),
        (birth_date > years_before(as_of, 30), "25-29"),
        (birth_date > years_before(as_of, 36), "30-35"),
        else_="36+",
    )


@dataclass(frozen=True)
class _Labels:
    """Where a group key's label is read: `name` of the `table` row whose `id` is the key."""

    table: FromClause
    id: ColumnElement[Any] | InstrumentedAttribute[Any]
    name: ColumnElement[Any] | InstrumentedAttribute[Any]


@dataclass(frozen=True)
class _Grouping:
    key: ColumnElement[Any] | InstrumentedAttribute[Any]
    source: FromClause
    labels: _Labels | None


def _grouping(group_by: PortfolioGroup, positions: FromClause, as_of: date) -> _Grouping:
    by_holder = positions.join(Holder, Holder.id == positions.c.holder_id)
    match group_by:
        case PortfolioGroup.centre:
            labels = _Labels(Centre.__table__, Centre.id, Centre.name)
            return _Grouping(positions.c.centre_id, positions, labels)
        case PortfolioGroup.lender:
            labels = _Labels(Lender.__table__, Lender.id, Lender.name)
            return _Grouping(positions.c.lender_id, positions, labels)
        case PortfolioGroup.product:
            labels = _Labels(LoanProduct.__table__, LoanProduct.id, LoanProduct.name)
            return _Grouping(positions.c.product_id, positions, labels)
        case PortfolioGroup.adviser:
            labels = _Labels(User.__table__, User.id, User.full_name)
            return _Grouping(Holder.adviser_id, by_holder, labels)
        case PortfolioGroup.age_band:
            return _Grouping(age_band(Holder.birth_date, as_of), by_holder, None)
        case _:
            column = getattr(Holder, group_by.value)
            return _Grouping(column, by_holder, None)


def _labelled(grouped: FromClause, labels: _Labels | None) -> Select[Any]:
    """The grouped rows with their label, read after the aggregation (one lookup per
    group): grouping on the key alone keeps the label's text out of the sort."""
    if labels is None:
        return select(*grouped.c, null().label("label"))
    return select(*grouped.c, labels.name.label("label")).select_from(
        grouped.outerjoin(labels.table, labels.id == grouped.c.key)
    )


def more_days_past_due_than(
    oldest_overdue_due_on: ColumnElement[Any], as_of: date | ColumnElement[Any], days: int
) -> ColumnElement[bool]:
    """`days_past_due > days` at `as_of` (a date, or a column of dates), as a comparison of
    dates: the oldest overdue installment fell due before `as_of - days`."""
    if isinstance(as_of, date):
        return oldest_overdue_due_on < as_of - timedelta(days=days)
    return oldest_overdue_due_on < days_after(as_of, -days)


def _figures(positions: FromClause, as_of: date) -> list[ColumnElement[Any]]:
    outstanding = positions.c.outstanding_principal
    oldest = positions.c.oldest_overdue_due_on

    def more_than(days: int) -> ColumnElement[bool]:
        return more_days_past_due_than(oldest, as_of, days)

    figures: list[ColumnElement[Any]] = [
        func.count().label("active_loans"),
        func.count(positions.c.holder_id.distinct()).label("active_borrowers"),
        money_sum(outstanding).label("outstanding_principal"),
        money_sum(positions.c.arrears_amount).label("arrears_amount"),
    ]
    # FILTER, not SUM(CASE ... ELSE 0): rows outside a bucket add nothing (no NUMERIC
    # addition of zeros, which dominated the aggregation).
    figures += [
        money_sum_where(outstanding, more_than(days)).label(f"par{days}_amount")
        for days in PAR_DAYS
    ]
    for bucket, fewest, most in AGING_BOUNDS:
        if most == 0:
            condition: ColumnElement[bool] = oldest.is_(None)
        elif most is None:
            condition = more_than(fewest - 1)
        else:
            condition = and_(more_than(fewest - 1), oldest >= as_of - timedelta(days=most))
        figures.append(func.count().filter(condition).label(f"aging_{bucket.name}_loans"))
        figures.append(money_sum_where(outstanding, condition).label(f"aging_{bucket.name}_amount"))
    return figures


def portfolio_statement(
    as_of: date,
    today: date,
    group_by: PortfolioGroup,
    centre_id: int | None,
    *,
    grouping_sets: bool = False,
    month_end_stored: bool = False,
) -> Select[Any] | CompoundSelect[Any]:
    """The grouped rows and the total row (`is_total` = 1), in one statement.

    The position rows (`positions_select`), joined to `holders` when the key is a
    borrower's attribute or adviser, grouped on the key alone; the label (the name of the
    centre, lender, product or adviser) is read after the aggregation. The total is
    aggregated over the positions themselves, as its distinct borrowers are not the sum of
    the groups'. The group key is computed in an inner query and grouped on by name
    outside, so that a key built from parameters (age bands) is one expression to
    PostgreSQL.

    With `grouping_sets` (PostgreSQL), one pass over the positions computes the groups and
    the total (`GROUPING SETS ((key), ())`); otherwise (SQLite has no grouping sets)
    the positions are a CTE read twice, by the grouped SELECT and by the total's, joined
    by UNION ALL. The figures are the same expressions (`_figures`) either way.

    `month_end_stored`: the end of `as_of`'s month is a stored month end (the caller
    checked with `is_stored_month_end`), whose positions are read (see `positions_select`).
    """
    rows = positions_select(as_of, today, centre_id, month_end_stored=month_end_stored)
    if grouping_sets:
        positions: FromClause = rows.subquery("positions")
    else:
        positions = rows.cte("positions")
    grouping = _grouping(group_by, positions, as_of)
    keyed = (
        select(
            grouping.key.label("key"),
            positions.c.holder_id,
            positions.c.outstanding_principal,
            positions.c.arrears_amount,
            positions.c.oldest_overdue_due_on,
        )
        .select_from(grouping.source)
        .subquery("keyed")
    )
    if grouping_sets:
        both = (
            select(
                func.grouping(keyed.c.key).label("is_total"),
                keyed.c.key,
                *_figures(keyed, as_of),
            )
            .group_by(func.grouping_sets(tuple_(keyed.c.key), tuple_()))
            .subquery("grouped")
        )
        return _labelled(both, grouping.labels)
    grouped = (
        select(literal_column("0").label("is_total"), keyed.c.key, *_figures(keyed, as_of))
        .group_by(keyed.c.key)
        .subquery("grouped")
    )
    total = select(
        literal_column("1").label("is_total"),
        null().label("key"),
        *_figures(positions, as_of),
        null().label("label"),
    ).select_from(positions)
    return union_all(_labelled(grouped, grouping.labels), total)


def _row(key: GroupKey | None, label: str, row: Row[Any]) -> PortfolioRow:
    values = row._mapping
    outstanding = Decimal(values["outstanding_principal"])
    aging = Aging(
        **{
            bucket.name.lower(): AgingCell(
                loans=values[f"aging_{bucket.name}_loans"],
                outstanding_principal=values[f"aging_{bucket.name}_amount"],
            )
            for bucket, _, _ in AGING_BOUNDS
        }
    )
    return PortfolioRow(
        key=key,
        label=label,
        active_loans=values["active_loans"],
        active_borrowers=values["active_borrowers"],
        outstanding_principal=outstanding,
        arrears_amount=values["arrears_amount"],
        **{f"par{days}_amount": values[f"par{days}_amount"] for days in PAR_DAYS},
        **{
            f"par{days}_ratio": share(values[f"par{days}_amount"], outstanding) for days in PAR_DAYS
        },
        aging=aging,
    )


def shape(
    group_by: PortfolioGroup, grouped: Sequence[Row[Any]], total: Row[Any]
) -> tuple[list[PortfolioRow], PortfolioRow]:
    is_id = group_by in (
        PortfolioGroup.centre,
        PortfolioGroup.lender,
        PortfolioGroup.product,
        PortfolioGroup.adviser,
    )
    keyed: list[tuple[GroupKey, PortfolioRow]] = []
    for row in grouped:
        if is_id:
            key = id_key(row.key)
            label = id_label(row.key, row.label)
        else:
            key = text_key(row.key)
            label = humanise(str(key))
        keyed.append((key, _row(key, label, row)))
    return sorted_rows(keyed), _row(None, TOTAL_LABEL, total)


async def portfolio_report(
    session: AsyncSession,
    *,
    as_of: date,
    today: date,
    group_by: PortfolioGroup,
    centre_id: int | None,
) -> PortfolioReport:
    statement = portfolio_statement(
        as_of,
        today,
        group_by,
        centre_id,
        grouping_sets=session.get_bind().dialect.name == "postgresql",
        month_end_stored=as_of < today and await is_stored_month_end(session, month_end_of(as_of)),
    )
    result = (await session.execute(statement)).all()
    grouped = [row for row in result if not row.is_total]
    (total,) = [row for row in result if row.is_total]
    rows, total_row = shape(group_by, grouped, total)
    return PortfolioReport(
        as_of=as_of, group_by=group_by, centre_id=centre_id, rows=rows, total=total_row
    )
