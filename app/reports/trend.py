"""The portfolio trend (`GET /api/v1/reports/portfolio/trend`): the
portfolio's total at each of the last `months` month ends and today, oldest first.

Each point is `app.reports.portfolio.portfolio_report`'s `total` row as of its date, so it
equals `/reports/portfolio?as_of=` by construction, and whatever makes that report fast
for past dates makes the trend fast. The month ends are the last days of the `months`
calendar months before the current one (today's month end is not reached yet; today is
the last point).
"""

import calendar
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import RuleViolation
from app.reports import portfolio
from app.reports.dates import add_months
from app.reports.schemas import PortfolioGroup, PortfolioTrend, TrendPoint

MIN_MONTHS, MAX_MONTHS, DEFAULT_MONTHS = 1, 36, 12


def trend_dates(today: date, months: int) -> list[date]:
    """The last day of each of the `months` months before today's, oldest first, then today."""
    ends = []
    for back in range(months, 0, -1):
        month = add_months(date(today.year, today.month, 1), -back)
        ends.append(date(month.year, month.month, calendar.monthrange(month.year, month.month)[1]))
    return [*ends, today]


async def portfolio_trend(
    session: AsyncSession, *, months: int, today: date, centre_id: int | None
) -> PortfolioTrend:
    if not MIN_MONTHS <= months <= MAX_MONTHS:
        raise RuleViolation("months", f"months must be from {MIN_MONTHS} to {MAX_MONTHS}.")
    points = []
    for day in trend_dates(today, months):
        total = (
            await portfolio.portfolio_report(
                session, as_of=day, today=today, group_by=PortfolioGroup.centre, centre_id=centre_id
            )
        ).total
        points.append(
            TrendPoint(
                as_of=day,
                active_loans=total.active_loans,
                outstanding_principal=total.outstanding_principal,
                par30_ratio=total.par30_ratio,
                par90_ratio=total.par90_ratio,
            )
        )
    return PortfolioTrend(months=months, centre_id=centre_id, points=points)
