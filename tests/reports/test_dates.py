"""Calendar helpers, in Python and in SQL (`AddMonths` on each database)."""

from datetime import date, timedelta

import pytest
from sqlalchemy import Date, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.sql import AddMonths
from app.reports.dates import (
    Interval,
    add_months,
    count_periods,
    period_end,
    period_start,
    periods,
    years_before,
)
from tests.reports.reference import age_at, plus_months

EDGE_DAYS = [
    date(2024, 1, 31),
    date(2024, 2, 29),
    date(2023, 2, 28),
    date(2024, 3, 31),
    date(2024, 8, 31),
    date(2024, 12, 31),
    date(2025, 5, 31),
    date(2024, 6, 30),
    date(2024, 7, 15),
]


@pytest.mark.parametrize("months", [-12, -1, 1, 6, 12, 24])
async def test_add_months_in_sql_clamps_like_python(session: AsyncSession, months: int) -> None:
    statement = select(*[AddMonths(literal(day, Date()), months) for day in EDGE_DAYS])
    row = (await session.execute(statement)).one()
    assert list(row) == [add_months(day, months) for day in EDGE_DAYS]
    assert list(row) == [plus_months(day, months) for day in EDGE_DAYS]


def test_add_months_examples() -> None:
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2024, 8, 31), 6) == date(2025, 2, 28)
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2025, 3, 31), -1) == date(2025, 2, 28)


def test_years_before_is_the_last_birth_date_of_that_age() -> None:
    for day in [date(2028, 2, 29), date(2027, 2, 28), date(2027, 3, 1), date(2026, 11, 29)]:
        for years in (18, 25, 30, 36):
            cutoff = years_before(day, years)
            assert age_at(cutoff, day) >= years
            assert age_at(cutoff + timedelta(days=1), day) < years
    assert years_before(date(2028, 2, 29), 25) == date(2003, 2, 28)
    assert years_before(date(2028, 2, 29), 24) == date(2004, 2, 29)


def test_periods_cover_every_calendar_period_meeting_the_range() -> None:
    assert periods(date(2025, 1, 31), date(2025, 3, 1), Interval.month) == [
        date(2025, 1, 1),
        date(2025, 2, 1),
        date(2025, 3, 1),
    ]
    assert periods(date(2024, 12, 31), date(2025, 4, 1), Interval.quarter) == [
        date(2024, 10, 1),
        date(2025, 1, 1),
        date(2025, 4, 1),
    ]
    assert periods(date(2025, 6, 1), date(2025, 6, 1), Interval.year) == [date(2025, 1, 1)]
    assert period_start(date(2025, 8, 17), Interval.quarter) == date(2025, 7, 1)
    assert period_end(date(2024, 2, 1), Interval.month) == date(2024, 2, 29)
    assert period_end(date(2025, 10, 1), Interval.quarter) == date(2025, 12, 31)
    for first, last in [
        (date(1993, 8, 31), date(2026, 11, 1)),
        (date(2025, 1, 1), date(2025, 1, 1)),
    ]:
        for interval in Interval:
            assert count_periods(first, last, interval) == len(periods(first, last, interval))
