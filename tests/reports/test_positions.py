"""`loan_positions_as_of` (history) and `current_loan_positions` (summary columns) against
`ledger.position_as_of`, loan by loan, on a generated portfolio."""

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.loans.models import LoanTransaction
from app.loans.positions import current_loan_positions, loan_positions_as_of
from tests.reports.generator import GeneratedPortfolio
from tests.reports.plan import TODAY
from tests.reports.reference import Snapshot, is_outstanding, loan_position

PAST_DATES = [
    TODAY - timedelta(days=1),
    TODAY - timedelta(days=45),
    TODAY - timedelta(days=180),
    TODAY - timedelta(days=400),
    TODAY - timedelta(days=800),
    date(2025, 2, 28),
]


def expected_positions(snap: Snapshot, as_of: date) -> dict[int, tuple[Any, ...]]:
    expected = {}
    for loan in snap.loans.values():
        if not is_outstanding(loan, as_of):
            continue
        position = loan_position(snap, loan, as_of)
        oldest = (
            None if position.days_past_due == 0 else as_of - timedelta(days=position.days_past_due)
        )
        expected[loan.id] = (
            loan.centre_id,
            loan.holder_id,
            loan.lender_id,
            loan.product_id,
            position.outstanding_principal,
            position.arrears_amount,
            oldest,
        )
    return expected


async def actual_positions(session: AsyncSession, statement: Any) -> dict[int, tuple[Any, ...]]:
    rows = (await session.execute(statement)).all()
    assert len(rows) == len({row.loan_id for row in rows}), "one row per loan"
    return {
        row.loan_id: (
            row.centre_id,
            row.holder_id,
            row.lender_id,
            row.product_id,
            row.outstanding_principal,
            row.arrears_amount,
            row.oldest_overdue_due_on,
        )
        for row in rows
    }


@pytest.mark.parametrize("as_of", [TODAY, *PAST_DATES], ids=str)
async def test_history_positions_match_the_ledger(
    portfolio_session: AsyncSession, snapshot: Snapshot, as_of: date
) -> None:
    expected = expected_positions(snapshot, as_of)
    actual = await actual_positions(portfolio_session, loan_positions_as_of(as_of))
    assert actual == expected
    assert all(isinstance(values[4], Decimal) for values in actual.values())


@pytest.mark.parametrize("as_of", [TODAY, TODAY + timedelta(days=40)], ids=str)
async def test_current_positions_match_the_ledger_from_today_on(
    portfolio_session: AsyncSession, snapshot: Snapshot, as_of: date
) -> None:
    expected = expected_positions(snapshot, as_of)
    actual = await actual_positions(portfolio_session, current_loan_positions(as_of))
    assert actual == expected


async def test_the_portfolio_exercises_every_case(
    portfolio: GeneratedPortfolio, snapshot: Snapshot
) -> None:
    """The generated data covers what the comparisons are meant to catch."""
    loans = list(snapshot.loans.values())
    statuses = {loan.status for loan in loans}
    assert {"active", "repaid", "written_off"} <= statuses
    positions = expected_positions(snapshot, TODAY - timedelta(days=45))
    days = [
        (TODAY - timedelta(days=45) - oldest).days
        for *_, oldest in positions.values()
        if oldest is not None
    ]
    assert any(d <= 30 for d in days) and any(30 < d <= 90 for d in days)
    assert any(d > 90 for d in days)
    assert any(arrears > 0 for *_, arrears, _ in positions.values())


async def test_the_history_holds_backdated_same_day_and_reversed_payments(
    portfolio_session: AsyncSession, portfolio: GeneratedPortfolio
) -> None:
    rows = (
        await portfolio_session.execute(
            select(
                LoanTransaction.id,
                LoanTransaction.loan_id,
                LoanTransaction.kind,
                LoanTransaction.effective_on,
                LoanTransaction.reversed,
            ).where(LoanTransaction.kind.in_(["repayment", "reversal", "write_off"]))
        )
    ).all()
    kinds = Counter(row.kind for row in rows)
    assert kinds["reversal"] > 5 and kinds["write_off"] > 3
    live = sorted(
        (row for row in rows if row.kind == "repayment" and not row.reversed), key=lambda r: r.id
    )
    by_loan: dict[int, list[Any]] = {}
    for row in live:
        by_loan.setdefault(row.loan_id, []).append(row)
    entered_out_of_order = [
        loan_id
        for loan_id, payments in by_loan.items()
        if [p.effective_on for p in payments] != sorted(p.effective_on for p in payments)
    ]
    same_day = [
        loan_id
        for loan_id, payments in by_loan.items()
        if len({p.effective_on for p in payments}) < len(payments)
    ]
    assert len(entered_out_of_order) > 20 and len(same_day) > 5


async def test_positions_is_usable_as_a_subquery(portfolio_session: AsyncSession) -> None:
    positions = loan_positions_as_of(TODAY - timedelta(days=45)).subquery()
    statement = select(
        positions.c.centre_id,
        func.count(),
        func.sum(positions.c.outstanding_principal),
    ).group_by(positions.c.centre_id)
    rows = (await portfolio_session.execute(statement)).all()
    assert len(rows) == 3
    assert all(count > 0 for _, count, _ in rows)
