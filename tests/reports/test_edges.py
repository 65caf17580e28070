"""The generated portfolio meets every boundary on the dates the reports are compared at
(tests/reports/edges.py), so that the comparisons with the reference would catch an
off-by-one day on either side."""

from collections import Counter
from datetime import date, timedelta

import pytest

from tests.reports import reference
from tests.reports.edges import BAND_AGES, PAST_DUE_DAYS, birthday_years_before, shift_months
from tests.reports.plan import EDGES, IMPACT_DATES, PORTFOLIO_DATES, TODAY
from tests.reports.reference import Snapshot, is_outstanding, loan_position

ONE_DAY = timedelta(days=1)


@pytest.mark.parametrize("as_of", PORTFOLIO_DATES, ids=str)
async def test_portfolio_boundaries_are_met_on_each_date(snapshot: Snapshot, as_of: date) -> None:
    outstanding = [loan for loan in snapshot.loans.values() if is_outstanding(loan, as_of)]
    days_past_due = Counter(
        loan_position(snapshot, loan, as_of).days_past_due for loan in outstanding
    )
    assert all(days_past_due[days] for days in PAST_DUE_DAYS if days), days_past_due
    assert any(loan.disbursed_on == as_of for loan in outstanding)
    assert any(  # an installment due on the day itself: not overdue yet
        installment.due_on == as_of
        for loan in outstanding
        for installment in snapshot.installments[loan.id]
    )
    paid_today = {
        a.loan_id for rows in snapshot.allocations.values() for a in rows if a.paid_on == as_of
    }
    assert paid_today & {loan.id for loan in outstanding}
    births = {snapshot.holders[loan.holder_id].birth_date for loan in outstanding}
    for age in BAND_AGES:  # turning that age on the day, and the day after
        born = birthday_years_before(as_of, age)
        assert born in births and born + ONE_DAY in births
        assert reference.age_at(born, as_of) == age
        assert reference.age_at(born + ONE_DAY, as_of) == age - 1
    assert not any(
        is_outstanding(loan, as_of)
        for loan in snapshot.loans.values()
        if loan.written_off_on == as_of or loan.closed_on == as_of
    )
    assert any(loan.written_off_on == as_of for loan in snapshot.loans.values())
    assert any(loan.closed_on == as_of for loan in snapshot.loans.values())


@pytest.mark.parametrize("as_of", IMPACT_DATES, ids=str)
async def test_impact_boundaries_are_met_on_each_date(snapshot: Snapshot, as_of: date) -> None:
    enterprises = list(snapshot.enterprises.values())
    for months in (12, 24):
        anniversary_start = shift_months(as_of, -months)
        created = {(e.created_on, e.closed_on) for e in enterprises}
        assert (anniversary_start, as_of) in created  # closes on its anniversary: survives
        assert (anniversary_start, as_of - ONE_DAY) in created
        assert (anniversary_start + ONE_DAY, None) in created
    assert any(e.created_on == as_of for e in enterprises)
    visits = [f for rows in snapshot.follow_ups.values() for f in rows]
    assert any(f.visited_on == as_of and f.employees_count is not None for f in visits)
    start = shift_months(as_of, -6)
    first_attended: dict[int, date] = {}
    for item in sorted(snapshot.sessions.values(), key=lambda s: s.held_on):
        for holder_id in snapshot.attended[item.id]:
            first_attended.setdefault(holder_id, item.held_on)
    disbursed = {
        (loan.holder_id, loan.disbursed_on)
        for loan in snapshot.loans.values()
        if loan.disbursed_on is not None
    }
    window_end = shift_months(start, 6)
    assert any(
        first == start and (holder_id, window_end) in disbursed
        for holder_id, first in first_attended.items()
    )
    assert any(
        first == start and (holder_id, start) in disbursed
        for holder_id, first in first_attended.items()
    )
    assert any(first == start + ONE_DAY for first in first_attended.values())


@pytest.mark.parametrize("day", sorted({*EDGES.as_of, *EDGES.bounds}), ids=str)
async def test_flow_and_coaching_boundaries_are_met_on_each_range_end(
    snapshot: Snapshot, day: date
) -> None:
    loans = list(snapshot.loans.values())
    assert any(loan.disbursed_on == day for loan in loans)
    assert any(loan.written_off_on == day for loan in loans)
    assert any(loan.closed_on == day for loan in loans)
    written_off_due = [
        installment
        for loan in loans
        if loan.written_off_on == day
        for installment in snapshot.installments[loan.id]
        if installment.due_on == day
    ]
    assert written_off_due, "a write-off on an installment's due date"
    paid_on_due = [
        allocation
        for loan in loans
        for installment in snapshot.installments[loan.id]
        if installment.due_on == day
        for allocation in snapshot.allocations[loan.id]
        if allocation.installment_id == installment.id and allocation.paid_on == day
    ]
    assert paid_on_due, "an installment paid exactly on its due date"
    held = {item.held_on for item in snapshot.sessions.values()}
    assert day in held and day - ONE_DAY in held
    assert day + ONE_DAY in held or day == TODAY
