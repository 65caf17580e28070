"""Calendar arithmetic for reports, done in Python so that SQL only compares dates.

Thresholds on ages and days past due become date parameters (a borrower is at least N
years old at D exactly when born on or before `years_before(D, N)`), which every database
compares alike.
"""

import calendar
from datetime import date
from enum import StrEnum

__all__ = [
    "Interval",
    "add_months",
    "period_end",
    "period_start",
    "periods",
    "years_before",
]


class Interval(StrEnum):
    month = "month"
    quarter = "quarter"
    year = "year"


_MONTHS_PER_PERIOD = {Interval.month: 1, Interval.quarter: 3, Interval.year: 12}


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months, clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def years_before(day: date, years: int) -> date:
    """The latest birth date of someone at least `years` old on `day`.

    Age counts whole years with the birthday reached on its calendar day; a 29 February
    birthday is reached on 1 March in common years, so on a 29 February `day` the answer
    in a common year is 28 February.
    """
    year = day.year - years
    last = calendar.monthrange(year, day.month)[1]
    return date(year, day.month, min(day.day, last))


def period_start(day: date, interval: Interval) -> date:
    """The first day of the calendar month, quarter or year containing `day`."""
    if interval is Interval.year:
        return date(day.year, 1, 1)
    if interval is Interval.quarter:
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, day.month, 1)


def period_end(start: date, interval: Interval) -> date:
    """The last day of the period that begins on `start`."""
    following = add_months(start, _MONTHS_PER_PERIOD[interval])
    return date.fromordinal(following.toordinal() - 1)


def periods(first: date, last: date, interval: Interval) -> list[date]:
    """First days of every calendar period that meets [first, last], in order."""
    starts = []
    start = period_start(first, interval)
    while start <= last:
        starts.append(start)
        start = add_months(start, _MONTHS_PER_PERIOD[interval])
    return starts


def count_periods(first: date, last: date, interval: Interval) -> int:
    """How many periods `periods(first, last, interval)` would return, without listing them."""
    begin, end = period_start(first, interval), period_start(last, interval)
    months = (end.year - begin.year) * 12 + end.month - begin.month
    return months // _MONTHS_PER_PERIOD[interval] + 1
