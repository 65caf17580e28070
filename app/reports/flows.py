"""Flows over [from, to] by calendar month, quarter or year (docs/ARITHMETIC.md, "Flows
over [from, to]").

One statement: every dated movement inside [from, to] becomes one row of a UNION ALL
(a disbursement, a write-off, a full repayment, an allocation of a repayment, an
installment falling due, and each allocation paid on or before its installment's due
date, dated by that due date), and one GROUP BY sums them by calendar month. Python then folds months into quarters or years (every figure
is a sum), adds the periods with nothing (zeros) and the total, and divides for the rate.
"""

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, and_, func, literal_column, or_, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.core.errors import RuleViolation
from app.core.sql import AnySelect, money, money_sum, month_of, year_of, zero_money
from app.loans.models import Allocation, Installment, Loan
from app.reports.common import ensure_order, share
from app.reports.dates import Interval, count_periods, period_start, periods
from app.reports.labels import TOTAL_LABEL
from app.reports.schemas import FlowsReport, FlowsRow

MAX_PERIODS = 400
ZERO = Decimal("0.00")


@dataclass
class _Sums:
    disbursed_count: int = 0
    disbursed_amount: Decimal = ZERO
    collected_principal: Decimal = ZERO
    collected_interest: Decimal = ZERO
    written_off_amount: Decimal = ZERO
    loans_closed: int = 0
    amount_due: Decimal = ZERO
    collected_on_time: Decimal = ZERO

    def add(self, other: Any) -> None:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))


FIGURES = [item.name for item in fields(_Sums)]


def ensure_range_fits(start: date, end: date, interval: Interval) -> None:
    ensure_order(start, end)
    count = count_periods(start, end, interval)
    if count > MAX_PERIODS:
        raise RuleViolation(
            "from",
            f"The range covers {count} {interval.value}s; at most {MAX_PERIODS} periods "
            "per report (choose a longer interval or a shorter range).",
        )


def flows_statement(start: date, end: date, centre_id: int | None) -> AnySelect:
    """Sums by (year, month) of the movements dated in [start, end].

    Reads `loans` (`disbursed_on` + `principal`; `written_off_on` + `written_off_amount`;
    `closed_on` of `repaid` loans; `centre_id`), `allocations` (`paid_on`, `principal`,
    `interest`: collections, reversed repayments having none) and `installments`
    (`due_on`, amounts due) with the allocations paid on or before each one's due date
    (through `ix_allocations_installment_id`).
    Installments due on or after their loan's write-off date are not due. Date ranges use
    `ix_allocations_paid_on` and `ix_installments_due_on`.
    """
    in_centre: ColumnElement[bool] = true() if centre_id is None else Loan.centre_id == centre_id
    no_money = zero_money()
    no_count: ColumnElement[int] = literal_column("0")
    one: ColumnElement[int] = literal_column("1")

    def movement(
        day: Any,
        *,
        disbursed_count: Any = no_count,
        disbursed_amount: Any = no_money,
        collected_principal: Any = no_money,
        collected_interest: Any = no_money,
        written_off_amount: Any = no_money,
        loans_closed: Any = no_count,
        amount_due: Any = no_money,
        collected_on_time: Any = no_money,
    ) -> AnySelect:
        return select(
            day.label("day"),
            disbursed_count.label("disbursed_count"),
            money(disbursed_amount).label("disbursed_amount"),
            money(collected_principal).label("collected_principal"),
            money(collected_interest).label("collected_interest"),
            money(written_off_amount).label("written_off_amount"),
            loans_closed.label("loans_closed"),
            money(amount_due).label("amount_due"),
            money(collected_on_time).label("collected_on_time"),
        )

    disbursements = movement(
        Loan.disbursed_on, disbursed_count=one, disbursed_amount=Loan.principal
    ).where(Loan.disbursed_on.between(start, end), in_centre)
    write_offs = movement(
        Loan.written_off_on, written_off_amount=func.coalesce(Loan.written_off_amount, 0)
    ).where(Loan.written_off_on.between(start, end), in_centre)
    closings = movement(Loan.closed_on, loans_closed=one).where(
        Loan.status == "repaid", Loan.closed_on.between(start, end), in_centre
    )
    collections = movement(
        Allocation.paid_on,
        collected_principal=Allocation.principal,
        collected_interest=Allocation.interest,
    ).where(Allocation.paid_on.between(start, end))
    if centre_id is not None:
        collections = collections.join(Loan, Loan.id == Allocation.loan_id).where(in_centre)

    falls_due = and_(
        Installment.due_on.between(start, end),
        or_(Loan.written_off_on.is_(None), Installment.due_on < Loan.written_off_on),
        in_centre,
    )
    dues = (
        movement(
            Installment.due_on, amount_due=Installment.principal_due + Installment.interest_due
        )
        .join(Loan, Loan.id == Installment.loan_id)
        .where(falls_due)
    )
    # Dated by the installment's due date: the part of each due paid by then.
    paid_on_time = (
        movement(Installment.due_on, collected_on_time=Allocation.principal + Allocation.interest)
        .select_from(Allocation)
        .join(Installment, Installment.id == Allocation.installment_id)
        .join(Loan, Loan.id == Installment.loan_id)
        .where(falls_due, Allocation.paid_on <= Installment.due_on)
    )

    movements = union_all(
        disbursements, write_offs, closings, collections, dues, paid_on_time
    ).subquery("movements")
    year, month = year_of(movements.c.day), month_of(movements.c.day)
    return select(
        year.label("year"),
        month.label("month"),
        func.sum(movements.c.disbursed_count).label("disbursed_count"),
        money_sum(movements.c.disbursed_amount).label("disbursed_amount"),
        money_sum(movements.c.collected_principal).label("collected_principal"),
        money_sum(movements.c.collected_interest).label("collected_interest"),
        money_sum(movements.c.written_off_amount).label("written_off_amount"),
        func.sum(movements.c.loans_closed).label("loans_closed"),
        money_sum(movements.c.amount_due).label("amount_due"),
        money_sum(movements.c.collected_on_time).label("collected_on_time"),
    ).group_by(year, month)


def _row(period: date | None, sums: _Sums) -> FlowsRow:
    return FlowsRow(
        key=period,
        label=TOTAL_LABEL if period is None else period.isoformat(),
        period_start=period,
        on_time_repayment_rate=share(sums.collected_on_time, sums.amount_due),
        **{name: getattr(sums, name) for name in FIGURES},
    )


def shape(
    start: date, end: date, interval: Interval, monthly: Sequence[Row[Any]]
) -> tuple[list[FlowsRow], FlowsRow]:
    by_period = {period: _Sums() for period in periods(start, end, interval)}
    for row in monthly:
        month_sums = _Sums(**{name: getattr(row, name) for name in FIGURES})
        by_period[period_start(date(row.year, row.month, 1), interval)].add(month_sums)
    total = _Sums()
    for sums in by_period.values():
        total.add(sums)
    return [_row(period, sums) for period, sums in by_period.items()], _row(None, total)


async def flows_report(
    session: AsyncSession, *, start: date, end: date, interval: Interval, centre_id: int | None
) -> FlowsReport:
    ensure_range_fits(start, end, interval)
    monthly = (await session.execute(flows_statement(start, end, centre_id))).all()
    rows, total = shape(start, end, interval, monthly)
    return FlowsReport(
        from_=start, to=end, interval=interval, centre_id=centre_id, rows=rows, total=total
    )
