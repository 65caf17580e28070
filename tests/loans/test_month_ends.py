"""Stored month ends (app/loans/month_ends.py): the rows stored at a month end equal each
loan's position then, computed by the Python reference from the ledger, the positions
computed from them for every earlier day of the month equal the reference's, and both
stay equal after every kind of write dated on or before them: a backdated repayment, a statement's
batch, a reversal, a write-off, a backdated disbursement and a taken-over loan."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import RuleViolation
from app.loans import lifecycle, repayments, rules, takeover
from app.loans.applications import LoanApplication
from app.loans.models import Loan, MonthEndPosition
from app.loans.month_ends import (
    differing_loans,
    last_closed_month_end,
    month_end_of,
    month_ends_before,
    positions_from_month_end,
    store_month_end,
    stored_month_end_positions,
    stored_month_ends,
)
from tests.holders.factories import make_holder
from tests.loans.factories import CEILING, TODAY, LoanWorld, make_active_loan, repay
from tests.loans.test_repayments_of_loans import repayments_owed
from tests.reports.reference import Snapshot, load_snapshot
from tests.reports.test_positions import actual_positions, expected_positions

MONTH_ENDS = month_ends_before(TODAY, 5)  # 2025-01-31 .. 2025-05-31


async def new_loan(session: AsyncSession, world: LoanWorld, disbursed_on: date) -> Loan:
    holder = await make_holder(session, world.centre)
    return await make_active_loan(
        session,
        world.admin_actor,
        holder,
        world.product,
        principal="6000.00",
        term=6,
        disbursed_on=disbursed_on,
        today=TODAY,
    )


def days_that_can_differ(snap: Snapshot, month_end: date) -> list[date]:
    """The days of `month_end`'s month, before it, on which a position can differ from the
    day before or after: a position changes only on an event (a disbursement, a payment, a
    due date, a write-off, a loan's end), so the first day, the day before the month end
    and every event day with the days either side of it cover every distinct state."""
    events = {
        day
        for loan in snap.loans.values()
        for day in (loan.disbursed_on, loan.closed_on, loan.written_off_on)
        if day is not None
    }
    events.update(i.due_on for rows in snap.installments.values() for i in rows)
    events.update(a.paid_on for rows in snap.allocations.values() for a in rows)
    first = month_end.replace(day=1)
    days = {first, month_end - timedelta(days=1)}
    for event in events:
        days.update(event + timedelta(days=shift) for shift in (-1, 0, 1))
    return sorted(day for day in days if first <= day < month_end)


async def assert_exact(session: AsyncSession) -> None:
    """Every stored month end holds, loan for loan, the reference position then, and every
    earlier day of its month on which a position can change, computed from it, is the
    reference position that day."""
    snap = await load_snapshot(session)
    for month_end in await stored_month_ends(session):
        stored = await actual_positions(session, stored_month_end_positions(month_end, None))
        assert stored == expected_positions(snap, month_end), month_end
        assert await differing_loans(session, month_end) == []
        for as_of in days_that_can_differ(snap, month_end):
            from_month_end = positions_from_month_end(as_of, month_end, None)
            assert await actual_positions(session, from_month_end) == expected_positions(
                snap, as_of
            ), as_of


@pytest.fixture
async def loans(session: AsyncSession, world: LoanWorld) -> list[Loan]:
    made = [await new_loan(session, world, date(2024, 12, 10)) for _ in range(4)]
    for loan in made:
        await repay(session, world.admin_actor, loan, "1000.00", date(2025, 1, 12), today=TODAY)
    for month_end in MONTH_ENDS:
        await store_month_end(session, month_end, today=TODAY)
    await session.commit()
    return made


def test_the_end_of_a_month() -> None:
    ends = [month_end_of(date(2024, month, 1)) for month in range(1, 13)]
    assert [end.day for end in ends] == [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    assert month_end_of(date(2025, 2, 28)) == date(2025, 2, 28)
    assert month_end_of(date(2025, 12, 31)) == date(2025, 12, 31)
    assert month_end_of(date(2025, 12, 1)) == date(2025, 12, 31)


def test_the_month_ends_that_can_be_stored() -> None:
    assert last_closed_month_end(date(2025, 6, 30)) == date(2025, 5, 31)
    assert last_closed_month_end(date(2025, 3, 1)) == date(2025, 2, 28)
    assert month_ends_before(date(2024, 3, 15), 3) == [
        date(2023, 12, 31),
        date(2024, 1, 31),
        date(2024, 2, 29),
    ]


@pytest.mark.parametrize(
    ("day", "rule"),
    [
        (date(2025, 5, 30), "must be the last day of a month"),
        (date(2025, 6, 30), "must be the end of a month that is over"),
        (date(2025, 7, 31), "must be the end of a month that is over"),
    ],
)
async def test_only_closed_month_ends_are_stored(
    session: AsyncSession, day: date, rule: str
) -> None:
    with pytest.raises(RuleViolation) as raised:
        await store_month_end(session, day, today=TODAY)
    assert raised.value.errors is not None
    assert [(e.field, e.message) for e in raised.value.errors] == [("month_end", rule)]


async def test_stored_rows_are_the_positions_then(session: AsyncSession, loans: list[Loan]) -> None:
    assert await stored_month_ends(session) == MONTH_ENDS
    counts = {
        month_end: await session.scalar(
            select(func.count()).where(MonthEndPosition.month_end == month_end)
        )
        for month_end in MONTH_ENDS
    }
    assert counts == dict.fromkeys(MONTH_ENDS, len(loans))
    await assert_exact(session)


async def test_storing_again_replaces_the_rows(
    session: AsyncSession, world: LoanWorld, loans: list[Loan]
) -> None:
    assert await store_month_end(session, MONTH_ENDS[-1], today=TODAY) == len(loans)
    assert await stored_month_ends(session) == MONTH_ENDS
    await assert_exact(session)


async def test_backdated_repayments_and_a_statement_batch(
    session: AsyncSession, world: LoanWorld, loans: list[Loan]
) -> None:
    actor = world.admin_actor
    # Before every stored month end, then between two of them.
    await repay(session, actor, loans[0], "700.00", date(2025, 1, 20), today=TODAY)
    await repay(session, actor, loans[1], "1500.00", date(2025, 3, 31), today=TODAY)
    # A statement: two loans in one batch, dated inside the stored months.
    locked = await rules.lock_loans(session, actor, [loans[2].id, loans[3].id], rules.REPAY_ROLES)
    outcomes = await repayments.record_repayments_of_loans(
        session,
        actor,
        [
            (locked[loans[2].id], [repayments.NewRepayment(Decimal("800.00"), date(2025, 2, 3))]),
            (locked[loans[3].id], [repayments.NewRepayment(Decimal("4000"), date(2025, 4, 9))]),
        ],
        today=TODAY,
    )
    assert outcomes == [1, 1]
    await session.commit()
    await assert_exact(session)


async def test_a_reversal_and_a_write_off(
    session: AsyncSession, world: LoanWorld, loans: list[Loan]
) -> None:
    actor = world.admin_actor
    owed = await repayments_owed(session, loans[0].id)
    paid = await repay(session, actor, loans[0], str(owed), date(2025, 2, 14), today=TODAY)
    await session.commit()
    repaid = await session.get(Loan, loans[0].id)
    assert repaid is not None and repaid.status == "repaid"
    await assert_exact(session)
    # The loan repaid in February is outstanding again at every stored month end from then.
    await repayments.reverse_transaction(
        session, actor, loans[0].id, paid, reason="Chèque rejeté", today=TODAY
    )
    await lifecycle.write_off_loan(
        session,
        actor,
        loans[1].id,
        written_off_on=date(2025, 3, 15),
        reason="Entreprise fermée",
        today=TODAY,
    )
    # Written off on a stored month end itself: outstanding every earlier day of April.
    await lifecycle.write_off_loan(
        session,
        actor,
        loans[2].id,
        written_off_on=date(2025, 4, 30),
        reason="Entreprise fermée",
        today=TODAY,
    )
    await session.commit()
    at_april = await actual_positions(session, stored_month_end_positions(date(2025, 4, 30), None))
    assert loans[0].id in at_april
    assert loans[1].id not in at_april and loans[2].id not in at_april
    april_29 = positions_from_month_end(date(2025, 4, 29), date(2025, 4, 30), None)
    assert loans[2].id in await actual_positions(session, april_29)
    await assert_exact(session)


async def test_a_backdated_disbursement_and_a_taken_over_loan(
    session: AsyncSession, world: LoanWorld, loans: list[Loan]
) -> None:
    backdated = await new_loan(session, world, date(2025, 3, 2))
    holder = await make_holder(session, world.centre)
    [taken] = await takeover.take_over_loans(
        session,
        world.admin_actor,
        [
            takeover.TakenOverLoan(
                application=LoanApplication(
                    holder_id=holder.id,
                    product_id=world.product.id,
                    principal=Decimal("3000.00"),
                    term=6,
                    purpose="Reprise d'un prêt",
                    applied_on=date(2024, 11, 20),
                ),
                disbursed_on=date(2024, 12, 1),
            )
        ],
        today=TODAY,
        legal_ceiling=CEILING,
    )
    assert isinstance(taken, Loan)
    await session.commit()
    at_january = await actual_positions(
        session, stored_month_end_positions(date(2025, 1, 31), None)
    )
    at_march = await actual_positions(session, stored_month_end_positions(date(2025, 3, 31), None))
    assert taken.id in at_january and backdated.id not in at_january
    assert backdated.id in at_march
    await assert_exact(session)


async def test_a_write_in_the_current_month_changes_nothing_stored(
    session: AsyncSession, world: LoanWorld, loans: list[Loan]
) -> None:
    before = await actual_positions(session, stored_month_end_positions(MONTH_ENDS[-1], None))
    await repay(session, world.admin_actor, loans[2], "500.00", date(2025, 6, 3), today=TODAY)
    await session.commit()
    after = await actual_positions(session, stored_month_end_positions(MONTH_ENDS[-1], None))
    assert after == before
    await assert_exact(session)
