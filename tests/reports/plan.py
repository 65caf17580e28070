"""The dates the generated portfolio is built around and the reports are checked at."""

from datetime import date, timedelta

from tests.reports.edges import EdgeDates

TODAY = date(2026, 11, 29)
SEED = 20261129

# The dates and ranges the reports are compared with the reference at; the generated
# portfolio has records dated exactly on each (tests/reports/edges.py).
PORTFOLIO_DATES = [
    TODAY,  # the current-state fast path
    TODAY - timedelta(days=1),
    TODAY - timedelta(days=45),
    TODAY - timedelta(days=400),
    date(2025, 2, 28),
]
IMPACT_DATES = [TODAY, TODAY - timedelta(days=200), date(2025, 2, 28), date(2025, 3, 1)]
FLOW_RANGES = [
    (TODAY - timedelta(days=400), TODAY, "month"),
    (date(2024, 1, 15), TODAY, "quarter"),
    (date(2023, 3, 1), TODAY - timedelta(days=10), "year"),
    (date(2025, 2, 10), date(2025, 2, 20), "month"),
]
COACHING_RANGES = [(TODAY - timedelta(days=365), TODAY), (date(2024, 6, 1), date(2025, 5, 31))]
EDGES = EdgeDates(
    as_of=sorted({*PORTFOLIO_DATES, *IMPACT_DATES}),
    bounds=sorted(
        {day for start, end, _ in FLOW_RANGES for day in (start, end)}
        | {day for start, end in COACHING_RANGES for day in (start, end)}
    ),
)
