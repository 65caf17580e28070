"""Small helpers shared by the demo seeders."""

import random
from datetime import date, timedelta


def random_day(rng: random.Random, start: date, end: date) -> date:
    """A day drawn uniformly from [start, end] (start when end is before it)."""
    return start + timedelta(days=rng.randint(0, max(0, (end - start).days)))


def pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    """One value of (value, weight) pairs, drawn by weight."""
    values = [value for value, _ in weighted]
    weights = [weight for _, weight in weighted]
    return rng.choices(values, weights=weights)[0]
