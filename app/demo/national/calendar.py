"""Dates of the generated history: a programme that grows over the years, with seasons."""

import bisect
import itertools
import random
from datetime import UTC, date, datetime, timedelta

# Relative activity by calendar month: the autumn farming campaign and the trade before
# Eid al-Adha are busy, August is quiet.
MONTH_ACTIVITY = (0.85, 0.90, 1.05, 1.00, 0.95, 1.15, 0.80, 0.65, 1.20, 1.30, 1.15, 0.90)


class DaySampler:
    """Draws days in [start, end] with a weight that grows linearly from `growth_from` at
    `start` to 1 at `end` (the programme scaling up), times the month's activity."""

    def __init__(self, start: date, end: date, growth_from: float = 0.35) -> None:
        self.start = start
        span = max(1, (end - start).days)
        weights = [
            (growth_from + (1 - growth_from) * offset / span)
            * MONTH_ACTIVITY[(start + timedelta(days=offset)).month - 1]
            for offset in range(span + 1)
        ]
        self.cumulative = list(itertools.accumulate(weights))

    def draw(self, rng: random.Random) -> date:
        offset = bisect.bisect_left(self.cumulative, rng.random() * self.cumulative[-1])
        return self.start + timedelta(days=min(offset, len(self.cumulative) - 1))


def at_office_hours(rng: random.Random, day: date) -> datetime:
    """A moment of `day` between 08:00 and 18:00 UTC (to the minute)."""
    minutes = int(rng.random() * 600)
    return datetime(day.year, day.month, day.day, 8 + minutes // 60, minutes % 60, tzinfo=UTC)


def add_days(day: date, days: int) -> date:
    return day + timedelta(days=days)
