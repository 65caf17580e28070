"""The portfolio trend (`GET /api/v1/reports/portfolio/trend`): the
portfolio's total at each of the last `months` month ends and today, oldest first.

Each point is the `total` row of `app.reports.portfolio.portfolio_report` as of its date
(active loans, outstanding principal, PAR30 and PAR90 ratios), computed for every date in
one statement over `app.loans.positions.loan_positions_at_dates`: the loans and the
allocations since the first date are read once, not once per date. The month ends are
the last days of the `months` calendar months before the current one (today's month end
is not reached yet; today is the last point).
"""

import calendar
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import RuleViolation
from app.core.sql import money_sum, money_sum_where
from app.loans.models import Loan
from app.loans.positions import loan_positions_at_dates
from app.reports.common import share
from app.reports.dates import add_months
from app.reports.portfolio import more_days_past_due_than
from app.reports.schemas import PortfolioTrend, TrendPoint

MIN_MONTHS, MAX_MONTHS, DEFAULT_MONTHS = 1, 36, 12


def trend_dates(today: date, months: int) -> list[date]:
    """The last day of each of the `months` months before today's, oldest first, then today."""
    ends = []
    for back in range(months, 0, -1):
        month = add_months(date(today.year, today.month, 1), -back)
        ends.append(date(month.year, month.month, calendar.monthrange(month.year, month.month)[1]))
    return [*ends, today]


def trend_statement(dates: list[date], centre_id: int | None) -> Select[Any]:
    """Per date with an outstanding loan: active loans, outstanding principal and the PAR30
    and PAR90 amounts, as the portfolio report's total computes them."""
    in_centre = None if centre_id is None else Loan.centre_id == centre_id
    positions = loan_positions_at_dates(dates, in_centre).subquery("positions")
    outstanding = positions.c.outstanding_principal

    def par_amount(days: int) -> Any:
        late = more_days_past_due_than(positions.c.oldest_overdue_due_on, positions.c.as_of, days)
        return money_sum_where(outstanding, late).label(f"par{days}_amount")

    return select(
        positions.c.as_of,
        func.count().label("active_loans"),
        money_sum(outstanding).label("outstanding_principal"),
        par_amount(30),
        par_amount(90),
    ).group_by(positions.c.as_of)


async def portfolio_trend(
    session: AsyncSession, *, months: int, today: date, centre_id: int | None
) -> PortfolioTrend:
    if not MIN_MONTHS <= months <= MAX_MONTHS:
        raise RuleViolation("months", f"months must be from {MIN_MONTHS} to {MAX_MONTHS}.")
    dates = trend_dates(today, months)
    totals = {
        row.as_of: row for row in (await session.execute(trend_statement(dates, centre_id))).all()
    }
    points = []
    for day in dates:
        row = totals.get(day)
        outstanding = Decimal(row.outstanding_principal) if row else Decimal("0.00")
        points.append(
            TrendPoint(
                as_of=day,
                active_loans=row.active_loans if row else 0,
                outstanding_principal=outstanding,
                par30_ratio=share(row.par30_amount, outstanding) if row else None,
                par90_ratio=share(row.par90_amount, outstanding) if row else None,
            )
        )
    return PortfolioTrend(months=months, centre_id=centre_id, points=points)
