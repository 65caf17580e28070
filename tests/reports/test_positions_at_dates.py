"""`loan_positions_at_dates` (every date in one statement) against the reference, date by
date, and the trend built on it against the portfolio report at each of its dates, before
and after a backdated repayment and a reversal entered through the API."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.loans.models import Loan
from app.loans.positions import loan_positions_as_of, loan_positions_at_dates
from app.reports.trend import trend_dates
from app.users.models import User
from tests.helpers import auth, live_repayments
from tests.reports import reference
from tests.reports.generator import GeneratedPortfolio
from tests.reports.plan import TODAY
from tests.reports.reference import Snapshot, load_snapshot
from tests.reports.test_positions import PAST_DATES, expected_positions
from tests.users.factories import make_user

DATES = sorted({*PAST_DATES, *trend_dates(TODAY, 36), TODAY})


def expected_at(snap: Snapshot, as_of: date, centre_id: int | None) -> dict[int, tuple[Any, ...]]:
    """(centre, holder, outstanding principal, oldest overdue due date) per loan."""
    return {
        loan_id: (centre, holder, outstanding, oldest)
        for loan_id, (centre, holder, _, _, outstanding, _, oldest) in expected_positions(
            snap, as_of
        ).items()
        if centre_id is None or centre == centre_id
    }


async def actual_at(
    session: AsyncSession, dates: list[date], centre_id: int | None
) -> dict[date, dict[int, tuple[Any, ...]]]:
    in_centre = None if centre_id is None else Loan.centre_id == centre_id
    rows = (await session.execute(loan_positions_at_dates(dates, in_centre))).all()
    found: dict[date, dict[int, tuple[Any, ...]]] = {day: {} for day in dates}
    for row in rows:
        assert row.loan_id not in found[row.as_of], "one row per loan and date"
        found[row.as_of][row.loan_id] = (
            row.centre_id,
            row.holder_id,
            row.outstanding_principal,
            row.oldest_overdue_due_on,
        )
    return found


async def test_every_date_matches_the_reference(
    portfolio_session: AsyncSession, snapshot: Snapshot
) -> None:
    actual = await actual_at(portfolio_session, DATES, None)
    for day in DATES:
        assert actual[day] == expected_at(snapshot, day, None), day
        assert all(isinstance(values[2], Decimal) for values in actual[day].values())


async def test_one_centre_and_one_date(
    portfolio_session: AsyncSession, snapshot: Snapshot, portfolio: GeneratedPortfolio
) -> None:
    centre_id = portfolio.centre_ids[1]
    actual = await actual_at(portfolio_session, DATES, centre_id)
    for day in DATES:
        assert actual[day] == expected_at(snapshot, day, centre_id), day
    for day in (TODAY - timedelta(days=45), TODAY):
        alone = await actual_at(portfolio_session, [day], centre_id)
        assert alone[day] == expected_at(snapshot, day, centre_id)


async def test_the_same_figures_as_the_single_date_statement(
    portfolio_session: AsyncSession,
) -> None:
    """Against `loan_positions_as_of` itself, on dates between the trend's month ends."""
    dates = [TODAY - timedelta(days=days) for days in (400, 123, 61, 60, 59, 2, 1, 0)]
    actual = await actual_at(portfolio_session, sorted(dates), None)
    for day in dates:
        rows = (await portfolio_session.execute(loan_positions_as_of(day))).all()
        assert actual[day] == {
            row.loan_id: (
                row.centre_id,
                row.holder_id,
                row.outstanding_principal,
                row.oldest_overdue_due_on,
            )
            for row in rows
        }, day


def test_dates_are_required() -> None:
    with pytest.raises(ValueError, match="at least one date"):
        loan_positions_at_dates([])


async def trend_equals_portfolio(
    client: AsyncClient, headers: dict[str, str], centre_id: int | None
) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"months": 36}
    if centre_id is not None:
        params["centre_id"] = centre_id
    response = await client.get("/api/v1/reports/portfolio/trend", params=params, headers=headers)
    assert response.status_code == 200, response.text
    points: list[dict[str, Any]] = response.json()["points"]
    for point in points:
        params = {"as_of": point["as_of"]}
        if centre_id is not None:
            params["centre_id"] = centre_id
        report = await client.get("/api/v1/reports/portfolio", params=params, headers=headers)
        total = report.json()["total"]
        assert point == {name: total[name] for name in point if name != "as_of"} | {
            "as_of": point["as_of"]
        }
    return points


async def test_the_trend_follows_backdated_writes_and_reversals(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    portfolio_session: AsyncSession,
    portfolio: GeneratedPortfolio,
    report_settings: Settings,
) -> None:
    """Runs last in the module: it writes into the module's portfolio."""
    centre_id = portfolio.centre_ids[0]
    before = await trend_equals_portfolio(report_client, national_headers, centre_id)
    admin: User = await make_user(portfolio_session, "admin", None)
    await portfolio_session.commit()
    headers = auth(admin, report_settings)
    snap = await load_snapshot(portfolio_session)
    active = [
        loan
        for loan in snap.loans.values()
        if loan.status == "active"
        and loan.centre_id == centre_id
        and loan.disbursed_on is not None
        and loan.disbursed_on < TODAY - timedelta(days=200)
    ]
    assert len(active) >= 2
    first, second = active[0], active[1]
    backdated = await report_client.post(
        f"/api/v1/loans/{first.id}/repayments",
        json={"amount": "100.00", "paid_on": (TODAY - timedelta(days=150)).isoformat()},
        headers=headers,
    )
    assert backdated.status_code == 201, backdated.text
    repayments = await live_repayments(report_client, second.id, headers)
    assert repayments, "the second loan has a repayment to reverse"
    reversed_one = await report_client.post(
        f"/api/v1/loans/{second.id}/transactions/{repayments[0]['id']}/reverse",
        json={"reason": "Chèque rejeté"},
        headers=headers,
    )
    assert reversed_one.status_code == 200, reversed_one.text

    after = await trend_equals_portfolio(report_client, national_headers, centre_id)
    assert after != before, "the writes changed some point"
    await trend_equals_portfolio(report_client, national_headers, None)
    snap_after = await load_snapshot(portfolio_session)
    body = (
        await report_client.get(
            "/api/v1/reports/portfolio/trend",
            params={"months": 36, "centre_id": centre_id},
            headers=national_headers,
        )
    ).json()
    assert body == reference.trend(snap_after, 36, TODAY, centre_id)
