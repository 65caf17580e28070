"""Records dated exactly on the dates the tests ask the reports about, so that every
boundary docs/ARITHMETIC.md names is met on purpose, not by the luck of the random generator.

For each as-of date D (`EdgeDates.as_of`):
- loans exactly 0 (an installment due on D itself), 1, 2, 30, 31, 60, 61, 90, 91, 180,
  181, 365 and 366 days past due at D, so that PAR1/PAR30/PAR90 and every aging bucket
  meet their bounds on both sides;
- borrowers who turn 25, 30 and 36 on D, and others who turn so the day after D (age
  bands at D);
- enterprises created exactly 12 (24) months before D and closed on D (survivors: closing
  on the anniversary counts as surviving), closed the day before D (not surviving),
  created a day too late to be in the 12-month base, created on D; follow-ups visited on
  D (counted at D) and the day after (not counted);
- holders first coached exactly 6 months before D with a loan disbursed on D, or on the
  day of that first session (the window includes both ends), first coached a day too late for the base, with a loan a day
  after the window, and one whose earlier session they missed (absent).

For each date D of `EdgeDates.as_of` and `EdgeDates.bounds` (the flows' and coaching
ranges' ends): a loan disbursed on D, a payment on D, an installment due on D paid on D
(on time), a write-off on D that is also an installment's due date (after a part payment),
a loan repaid in full on D, and coaching sessions on D, the day before and the day after.

Dates after the portfolio's `today` are never used. The calendar arithmetic is written
here again on purpose, independently of `app.reports.dates`.
"""

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from app.loans.schedule import (
    Amortization,
    Frequency,
    InterestMethod,
    ScheduleTerms,
    generate_schedule,
)

ONE_DAY = timedelta(days=1)
PAST_DUE_DAYS = (0, 1, 2, 30, 31, 60, 61, 90, 91, 180, 181, 365, 366)
BAND_AGES = (25, 30, 36)


@dataclass(frozen=True)
class EdgeDates:
    as_of: Sequence[date] = ()
    bounds: Sequence[date] = ()


def shift_months(day: date, months: int) -> date:
    """Whole calendar months later (earlier when negative), on the month's last day when
    the day does not exist there."""
    total = day.year * 12 + (day.month - 1) + months
    year, month = total // 12, total % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def birthday_years_before(day: date, years: int) -> date:
    """A birth date whose `years`-th birthday is `day` (a 29 February day gives 28 February
    in a common year)."""
    year = day.year - years
    return date(year, day.month, min(day.day, calendar.monthrange(year, day.month)[1]))


@dataclass
class EdgeHolder:
    """A holder to insert, and what to attach to it once it has an id."""

    centre_id: int
    birth_date: date
    enrolled_on: date
    gender: str
    loans: list[dict[str, Any]]  # keyword arguments of `edge_loan` (without holder)
    sessions: list[tuple[date, str]]  # (held_on, attendance)


@dataclass
class EdgeEnterprise:
    centre_id: int
    created_on: date
    closed_on: date | None
    visits: list[tuple[date, int]]  # (visited_on, employees_count)
    owner: int  # index of its owner among the edge holders


def edge_loan(
    *,
    disbursed_on: date,
    first_due_on: date | None = None,
    term: int = 6,
    principal: str = "6000.00",
    annual_rate: str = "24.00",
    pay_on_due: Sequence[int] = (),
    paid_in_full_on: date | None = None,
    payments: Sequence[tuple[date, str]] = (),
    write_off_on_due: int | None = None,
) -> dict[str, Any]:
    """A monthly declining-balance loan. `pay_on_due` pays installments (by index) in full
    exactly on their due dates; `paid_in_full_on` pays everything on that day;
    `write_off_on_due` writes the loan off on that installment's due date."""
    return {
        "disbursed_on": disbursed_on,
        "first_due_on": first_due_on,
        "term": term,
        "principal": Decimal(principal),
        "annual_rate": Decimal(annual_rate),
        "pay_on_due": tuple(pay_on_due),
        "paid_in_full_on": paid_in_full_on,
        "payments": tuple((day, Decimal(amount)) for day, amount in payments),
        "write_off_on_due": write_off_on_due,
    }


def loan_terms(spec: dict[str, Any]) -> ScheduleTerms:
    return ScheduleTerms(
        principal=spec["principal"],
        annual_rate=spec["annual_rate"],
        term=spec["term"],
        frequency=Frequency.MONTHLY,
        interest_method=InterestMethod.DECLINING_BALANCE,
        amortization=Amortization.EQUAL_INSTALLMENTS,
        grace_periods=0,
        disbursed_on=spec["disbursed_on"],
        first_due_on=spec["first_due_on"],
    )


def loan_events(
    spec: dict[str, Any],
) -> tuple[ScheduleTerms, list[tuple[date, Decimal]], date | None]:
    """(terms, payments as (paid_on, amount), write-off date) of an `edge_loan`."""
    terms = loan_terms(spec)
    schedule = generate_schedule(terms)
    payments = [(schedule[index].due_on, schedule[index].total_due) for index in spec["pay_on_due"]]
    payments += list(spec["payments"])
    if spec["paid_in_full_on"] is not None:
        payments.append((spec["paid_in_full_on"], sum(item.total_due for item in schedule)))
    index = spec["write_off_on_due"]
    write_off_on = None if index is None else schedule[index].due_on
    return terms, payments, write_off_on


def boundary_loans(day: date) -> list[dict[str, Any]]:
    """Movements dated exactly on `day` (see the module docstring)."""
    return [
        edge_loan(disbursed_on=day),
        edge_loan(
            disbursed_on=day - timedelta(days=45),
            first_due_on=day - timedelta(days=15),
            payments=[(day, "1000.00")],
        ),
        edge_loan(disbursed_on=day - timedelta(days=20), first_due_on=day, pay_on_due=[0]),
        edge_loan(
            disbursed_on=day - timedelta(days=30),
            first_due_on=day,
            payments=[(day - timedelta(days=5), "500.00")],
            write_off_on_due=0,
        ),
        edge_loan(
            disbursed_on=day - timedelta(days=60),
            term=2,
            principal="1000.00",
            annual_rate="0.00",
            paid_in_full_on=day,
        ),
    ]


def past_due_loans(day: date) -> list[dict[str, Any]]:
    return [
        edge_loan(disbursed_on=day - timedelta(days=days + 15), first_due_on=day - timedelta(days))
        for days in PAST_DUE_DAYS
    ]


def _add_holder(
    holders: list[EdgeHolder],
    centre_id: int,
    day: date,
    *,
    birth_date: date | None = None,
    enrolled_on: date | None = None,
    gender: str = "female",
    loans: Sequence[dict[str, Any]] = (),
    sessions: Sequence[tuple[date, str]] = (),
) -> None:
    """A holder planned for the edges of `day` (27 years old, enrolled 9 months before)."""
    holders.append(
        EdgeHolder(
            centre_id=centre_id,
            birth_date=birth_date or birthday_years_before(day, 27),
            enrolled_on=enrolled_on or shift_months(day, -9),
            gender=gender,
            loans=list(loans),
            sessions=list(sessions),
        )
    )


def plan_edges(
    edges: EdgeDates, today: date, centre_ids: Sequence[int]
) -> tuple[list[EdgeHolder], list[EdgeEnterprise]]:
    """Every edge record for `edges`, spread over the centres, none dated after `today`."""
    holders: list[EdgeHolder] = []
    enterprises: list[EdgeEnterprise] = []
    days = sorted({*edges.as_of, *edges.bounds})
    for number, day in enumerate(days):
        centre_id = centre_ids[number % len(centre_ids)]

        holder = partial(_add_holder, holders, centre_id, day)

        # One borrower with several loans: distinct borrowers are not loans.
        owner = len(holders)
        holder(
            loans=boundary_loans(day),
            sessions=[(day - ONE_DAY, "present"), (day, "present"), (day + ONE_DAY, "present")],
        )
        if day not in edges.as_of:
            continue
        holder(gender="male", loans=past_due_loans(day))
        for age in BAND_AGES:
            born = birthday_years_before(day, age)
            for birth_date in (born, born + ONE_DAY):
                holder(
                    birth_date=birth_date,
                    enrolled_on=birthday_years_before(day, 1),
                    loans=[edge_loan(disbursed_on=day - timedelta(days=20))],
                )
        start = shift_months(day, -6)
        after_window = shift_months(start, 6) + ONE_DAY
        holder(
            enrolled_on=start - ONE_DAY,
            sessions=[(start, "present")],
            loans=[edge_loan(disbursed_on=day)],
        )
        holder(
            enrolled_on=start - ONE_DAY,
            sessions=[(start, "present")],
            loans=[edge_loan(disbursed_on=start)],
        )
        holder(
            enrolled_on=start - ONE_DAY,
            sessions=[(start + ONE_DAY, "present")],
            loans=[edge_loan(disbursed_on=day)],
        )
        holder(
            enrolled_on=start - ONE_DAY,
            gender="male",
            sessions=[(start, "present")],
            loans=[edge_loan(disbursed_on=after_window)],
        )
        holder(
            enrolled_on=start - timedelta(days=30),
            sessions=[(start - timedelta(days=10), "absent"), (start, "present")],
            loans=[edge_loan(disbursed_on=start - ONE_DAY)],
        )

        for months in (12, 24):
            anniversary_start = shift_months(day, -months)
            enterprises += [
                EdgeEnterprise(centre_id, anniversary_start, day, [], owner),
                EdgeEnterprise(centre_id, anniversary_start, day - ONE_DAY, [], owner),
                EdgeEnterprise(centre_id, anniversary_start + ONE_DAY, None, [], owner),
            ]
        enterprises.append(
            EdgeEnterprise(centre_id, day, None, [(day, 7), (day + ONE_DAY, 9)], owner),
        )

    return _until(holders, enterprises, today)


def _until(
    holders: list[EdgeHolder], enterprises: list[EdgeEnterprise], today: date
) -> tuple[list[EdgeHolder], list[EdgeEnterprise]]:
    """Drops what would be dated after `today` (sessions, visits, payments, loans)."""
    for item in holders:
        item.sessions = [(held_on, mark) for held_on, mark in item.sessions if held_on <= today]
        item.loans = [spec for spec in item.loans if _loan_until(spec, today)]
    for enterprise in enterprises:
        enterprise.visits = [(on, count) for on, count in enterprise.visits if on <= today]
    return holders, [e for e in enterprises if e.closed_on is None or e.closed_on <= today]


def _loan_until(spec: dict[str, Any], today: date) -> bool:
    terms, payments, write_off_on = loan_events(spec)
    dates: list[date] = [terms.disbursed_on, *(day for day, _ in payments)]
    if write_off_on is not None:
        dates.append(write_off_on)
    return max(dates) <= today
