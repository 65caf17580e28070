"""The portfolio as of a stored month end (app/loans/month_ends.py), and as of an earlier
day of its month, on a generated portfolio: equal to the Python reference for every
grouping and for one centre, read from the stored rows (a row changed by hand shows in the
reports of its month), and still equal to the reference after a backdated repayment, a
reversal and a write-off entered through the API before the stored month ends."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.loans.models import Loan, MonthEndPosition
from app.loans.month_ends import differing_loans, month_ends_before, store_month_end
from app.users.models import User
from tests.helpers import auth, live_repayments
from tests.reports import reference
from tests.reports.generator import GeneratedPortfolio
from tests.reports.plan import TODAY
from tests.reports.reference import Snapshot, load_snapshot
from tests.reports.test_reference import PORTFOLIO_GROUPS, get_json
from tests.users.factories import make_user

# 2025-02-28 is also one of the dates the reference tests compare at (tests/reports/plan.py).
STORED = [date(2025, 2, 28), *month_ends_before(TODAY, 8)]
CHECKED = [date(2025, 2, 28), date(2026, 6, 30), date(2026, 10, 31)]


@pytest.fixture(scope="module")
async def stored(portfolio_session: AsyncSession, portfolio: GeneratedPortfolio) -> list[date]:
    for month_end in STORED:
        assert await store_month_end(portfolio_session, month_end, today=TODAY) > 0
    await portfolio_session.commit()
    return STORED


async def portfolio_at(
    client: AsyncClient, headers: dict[str, str], as_of: date, group_by: str, **more: int
) -> dict[str, object]:
    return await get_json(
        client,
        "/api/v1/reports/portfolio",
        headers,
        as_of=as_of.isoformat(),
        group_by=group_by,
        **more,
    )


def total_outstanding(body: dict[str, object]) -> Decimal:
    total = body["total"]
    assert isinstance(total, dict)
    return Decimal(total["outstanding_principal"])


# Days of stored months before their end: the first, the middle and the day before the end.
EARLIER_IN_MONTH = [
    day
    for month_end in CHECKED
    for day in (month_end.replace(day=1), month_end.replace(day=15), month_end - timedelta(days=1))
]
# Every grouping at the stored month ends; three on the days before them.
CASES = [(day, group_by) for day in CHECKED for group_by in PORTFOLIO_GROUPS] + [
    (day, group_by) for day in EARLIER_IN_MONTH for group_by in ("centre", "gender", "lender")
]


@pytest.mark.parametrize(("as_of", "group_by"), CASES, ids=str)
async def test_a_stored_month_equals_the_reference(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    snapshot: Snapshot,
    stored: list[date],
    as_of: date,
    group_by: str,
) -> None:
    body = await portfolio_at(report_client, national_headers, as_of, group_by)
    assert body == reference.portfolio(snapshot, as_of, group_by, None)
    assert body["rows"]


@pytest.mark.parametrize(
    ("as_of", "group_by"),
    [(CHECKED[1], "product"), (CHECKED[1] - timedelta(days=10), "adviser")],
    ids=str,
)
async def test_one_centre_in_a_stored_month(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    portfolio: GeneratedPortfolio,
    snapshot: Snapshot,
    stored: list[date],
    as_of: date,
    group_by: str,
) -> None:
    centre_id = portfolio.centre_ids[1]
    body = await portfolio_at(report_client, national_headers, as_of, group_by, centre_id=centre_id)
    assert body == reference.portfolio(snapshot, as_of, group_by, centre_id)


async def test_the_report_reads_the_stored_rows(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    portfolio_session: AsyncSession,
    stored: list[date],
) -> None:
    """A stored row changed by hand changes the report at its month end and on the days of
    its month before, which are computed from it, and no report of another month."""
    as_of = CHECKED[1]
    before = await portfolio_at(report_client, national_headers, as_of, "centre")
    the_day_before = await portfolio_at(
        report_client, national_headers, as_of - timedelta(days=1), "centre"
    )
    month_before = await portfolio_at(
        report_client, national_headers, as_of.replace(day=1) - timedelta(days=1), "centre"
    )
    loan_id = await portfolio_session.scalar(
        select(MonthEndPosition.loan_id).where(MonthEndPosition.month_end == as_of).limit(1)
    )
    bump = update(MonthEndPosition).where(
        MonthEndPosition.month_end == as_of, MonthEndPosition.loan_id == loan_id
    )
    await portfolio_session.execute(
        bump.values(outstanding_principal=MonthEndPosition.outstanding_principal + 1)
    )
    await portfolio_session.commit()
    try:
        changed = await portfolio_at(report_client, national_headers, as_of, "centre")
        assert total_outstanding(changed) == total_outstanding(before) + 1
        assert await differing_loans(portfolio_session, as_of) == [loan_id]
        changed_before = await portfolio_at(
            report_client, national_headers, as_of - timedelta(days=1), "centre"
        )
        assert total_outstanding(changed_before) == total_outstanding(the_day_before) + 1
        unchanged = await portfolio_at(
            report_client, national_headers, as_of.replace(day=1) - timedelta(days=1), "centre"
        )
        assert unchanged == month_before
    finally:
        await portfolio_session.execute(
            bump.values(outstanding_principal=MonthEndPosition.outstanding_principal - 1)
        )
        await portfolio_session.commit()
    assert await portfolio_at(report_client, national_headers, as_of, "centre") == before


async def test_backdated_writes_keep_the_stored_month_ends_exact(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    portfolio_session: AsyncSession,
    portfolio: GeneratedPortfolio,
    report_settings: Settings,
    stored: list[date],
) -> None:
    """Runs last in the module: it writes into the module's portfolio."""
    admin: User = await make_user(portfolio_session, "admin", None)
    await portfolio_session.commit()
    headers = auth(admin, report_settings)
    snap = await load_snapshot(portfolio_session)
    active = sorted(
        (
            loan
            for loan in snap.loans.values()
            if loan.status == "active"
            and loan.disbursed_on is not None
            and loan.disbursed_on < date(2026, 3, 1)
        ),
        key=lambda loan: loan.id,
    )
    repaid_now, reversed_in = active[0], active[1]

    def last_event_on(loan: Loan) -> date:
        assert loan.disbursed_on is not None
        paid = [a.paid_on for a in snap.allocations.get(loan.id, [])]
        return max([loan.disbursed_on, *paid])

    # A loan nothing was paid on since before the stored month ends: written off in them.
    written_off = min(active[2:], key=last_event_on)
    written_off_on = last_event_on(written_off) + timedelta(days=1)
    assert written_off_on < STORED[-2]

    backdated = await report_client.post(
        f"/api/v1/loans/{repaid_now.id}/repayments",
        json={"amount": "250.00", "paid_on": "2026-04-10"},
        headers=headers,
    )
    assert backdated.status_code == 201, backdated.text
    repayments = await live_repayments(report_client, reversed_in.id, headers)
    assert repayments, "the loan has a repayment to reverse"
    assert date.fromisoformat(repayments[0]["effective_on"]) < STORED[-1]
    reversal = await report_client.post(
        f"/api/v1/loans/{reversed_in.id}/transactions/{repayments[0]['id']}/reverse",
        json={"reason": "Chèque rejeté"},
        headers=headers,
    )
    assert reversal.status_code == 200, reversal.text
    write_off = await report_client.post(
        f"/api/v1/loans/{written_off.id}/write-off",
        json={"written_off_on": written_off_on.isoformat(), "reason": "Entreprise fermée"},
        headers=headers,
    )
    assert write_off.status_code == 200, write_off.text

    portfolio_session.expire_all()  # the writes went through the API's own sessions
    after = await load_snapshot(portfolio_session)
    for month_end in stored:
        assert await differing_loans(portfolio_session, month_end) == [], month_end
    reversed_on = date.fromisoformat(repayments[0]["effective_on"])
    around_the_writes = [
        day + timedelta(days=shift)
        for day in (date(2026, 4, 10), reversed_on, written_off_on)
        for shift in (-1, 0, 1)
    ]
    for as_of in [*CHECKED, *EARLIER_IN_MONTH, *around_the_writes]:
        for group_by in ("centre", "gender"):
            body = await portfolio_at(report_client, national_headers, as_of, group_by)
            assert body == reference.portfolio(after, as_of, group_by, None), as_of
