"""The yearly activity report and the portfolio trend equal the Python reference
(tests/reports/reference.py) on a generated portfolio with records dated on the year
boundaries (31 December, 1 January) and backdated and reversed payments; their files hold
the JSON figures; bad input is a 422 or a 404."""

import csv
import io
import random
import zipfile
from datetime import date
from typing import Any

import pytest
from httpx import AsyncClient
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.core.config import Settings
from app.reports.activity_file import COLUMNS
from tests.helpers import auth
from tests.reports import reference
from tests.reports.edges import EdgeDates
from tests.reports.generator import GeneratedPortfolio, PortfolioSize, generate_portfolio
from tests.reports.reference import Snapshot
from tests.users.factories import make_user

SEED = 20261231
# Records exactly on the last day of 2024 and 2025 (year-end positions, ages, jobs) and on
# both sides of each new year (disbursements, payments, sessions on D, D-1 and D+1).
YEAR_ENDS = [date(2024, 12, 31), date(2025, 12, 31)]
NEW_YEARS = [date(2025, 1, 1), date(2026, 1, 1)]


@pytest.fixture(scope="module")
async def portfolio(
    portfolio_session: AsyncSession, portfolio_size: PortfolioSize, report_settings: Settings
) -> GeneratedPortfolio:
    today = report_settings.today()
    generated = await generate_portfolio(
        portfolio_session,
        random.Random(SEED),
        today=today,
        size=portfolio_size,
        edges=EdgeDates(as_of=[*YEAR_ENDS, today], bounds=[*YEAR_ENDS, *NEW_YEARS]),
    )
    await portfolio_session.commit()
    return generated


async def get_json(
    client: AsyncClient, path: str, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def years(snapshot: Snapshot, today: date, centre_id: int | None) -> list[int]:
    first = reference.first_record_year(snapshot, centre_id)
    assert first is not None
    return list(range(first, today.year + 1))


async def test_every_year_equals_the_reference(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    snapshot: Snapshot,
    report_settings: Settings,
) -> None:
    today = report_settings.today()
    reported = years(snapshot, today, None)
    assert {2024, 2025, today.year} <= set(reported)
    for year in reported:
        body = await get_json(
            report_client, "/api/v1/reports/activity", national_headers, year=year
        )
        assert body == reference.activity(snapshot, year, today, None), year
    busy = await get_json(report_client, "/api/v1/reports/activity", national_headers, year=2025)
    # The generated year has something in every section.
    assert busy["holders"]["supported"] > 0 and busy["enterprises"]["created"] > 0
    assert busy["loans"]["disbursed_count"] > 0 and busy["coaching"]["sessions"] > 0
    assert busy["loans"]["par30_ratio_at_year_end"] is not None


async def test_one_centre_equals_the_reference(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    portfolio: GeneratedPortfolio,
    snapshot: Snapshot,
    report_settings: Settings,
) -> None:
    today = report_settings.today()
    for centre_id in portfolio.centre_ids[:2]:
        for year in (2025, today.year):
            body = await get_json(
                report_client,
                "/api/v1/reports/activity",
                national_headers,
                year=year,
                centre_id=centre_id,
            )
            assert body == reference.activity(snapshot, year, today, centre_id)


async def test_year_boundaries_are_met(
    report_client: AsyncClient, national_headers: dict[str, str], snapshot: Snapshot
) -> None:
    """Records on 31 December count in their year only, those on 1 January in the next."""
    on_new_year = [
        loan for loan in snapshot.loans.values() if loan.disbursed_on == date(2026, 1, 1)
    ]
    on_year_end = [
        loan for loan in snapshot.loans.values() if loan.disbursed_on == date(2025, 12, 31)
    ]
    assert on_new_year and on_year_end
    sessions_on = {s.held_on for s in snapshot.sessions.values()}
    assert {date(2025, 12, 31), date(2026, 1, 1)} <= sessions_on
    body_2025 = await get_json(
        report_client, "/api/v1/reports/activity", national_headers, year=2025
    )
    expected_2025 = sum(
        1
        for loan in snapshot.loans.values()
        if loan.disbursed_on is not None
        and date(2025, 1, 1) <= loan.disbursed_on <= date(2025, 12, 31)
    )
    assert body_2025["loans"]["disbursed_count"] == expected_2025


async def test_trend_points_equal_the_portfolio_report(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    portfolio: GeneratedPortfolio,
    snapshot: Snapshot,
    report_settings: Settings,
) -> None:
    today = report_settings.today()
    transactions = await snapshot_transactions(report_client, national_headers, portfolio)
    assert transactions["reversal"] > 0, "the generated portfolio has reversed payments"
    body = await get_json(report_client, "/api/v1/reports/portfolio/trend", national_headers)
    assert body == reference.trend(snapshot, 12, today, None)
    assert [p["as_of"] for p in body["points"]][-2:] == ["2026-10-31", today.isoformat()]
    for point in body["points"]:
        portfolio_body = await get_json(
            report_client, "/api/v1/reports/portfolio", national_headers, as_of=point["as_of"]
        )
        total = portfolio_body["total"]
        assert point == {name: total[name] for name in point if name != "as_of"} | {
            "as_of": point["as_of"]
        }
    centre_id = portfolio.centre_ids[1]
    one = await get_json(
        report_client,
        "/api/v1/reports/portfolio/trend",
        national_headers,
        months=36,
        centre_id=centre_id,
    )
    assert len(one["points"]) == 37
    assert one == reference.trend(snapshot, 36, today, centre_id)
    single = await get_json(
        report_client, "/api/v1/reports/portfolio/trend", national_headers, months=1
    )
    assert [p["as_of"] for p in single["points"]] == ["2026-10-31", today.isoformat()]


async def snapshot_transactions(
    client: AsyncClient, headers: dict[str, str], portfolio: GeneratedPortfolio
) -> dict[str, int]:
    """How many transactions of each kind the generated loans have (through the API)."""
    counts: dict[str, int] = {}
    for loan_id in portfolio.loan_ids[:60]:
        body = await get_json(client, f"/api/v1/loans/{loan_id}/transactions", headers, limit=500)
        for item in body["items"]:
            counts[item["kind"]] = counts.get(item["kind"], 0) + 1
    return counts


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"year": 2027}, "year"),
        ({"year": 1990}, "year"),
        ({"year": "abc"}, "year"),
        ({}, "year"),
    ],
)
async def test_activity_bad_years_are_422(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    params: dict[str, Any],
    field: str,
) -> None:
    response = await report_client.get(
        "/api/v1/reports/activity", params=params, headers=national_headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert any(error["field"] == field for error in response.json()["errors"])


async def test_year_before_the_first_record_is_422(
    report_client: AsyncClient, national_headers: dict[str, str], snapshot: Snapshot
) -> None:
    first = reference.first_record_year(snapshot, None)
    assert first is not None
    before = await report_client.get(
        "/api/v1/reports/activity", params={"year": first - 1}, headers=national_headers
    )
    assert before.status_code == 422
    assert before.json()["errors"][0]["field"] == "year"
    on = await report_client.get(
        "/api/v1/reports/activity", params={"year": first}, headers=national_headers
    )
    assert on.status_code == 200


@pytest.mark.parametrize("months", [0, 37, -1, "x"])
async def test_trend_months_out_of_range_is_422(
    report_client: AsyncClient, national_headers: dict[str, str], months: Any
) -> None:
    response = await report_client.get(
        "/api/v1/reports/portfolio/trend", params={"months": months}, headers=national_headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "months"


async def test_another_centre_is_404(
    report_client: AsyncClient,
    portfolio_session: AsyncSession,
    portfolio: GeneratedPortfolio,
    report_settings: Settings,
) -> None:
    own, other = portfolio.centre_ids[0], portfolio.centre_ids[1]
    centre = await portfolio_session.get(Centre, own)
    viewer = await make_user(portfolio_session, "viewer", centre)
    await portfolio_session.commit()
    headers = auth(viewer, report_settings)
    for path, params in (
        ("/api/v1/reports/activity", {"year": 2025}),
        ("/api/v1/reports/portfolio/trend", {}),
    ):
        response = await report_client.get(
            path, params={**params, "centre_id": other}, headers=headers
        )
        assert response.status_code == 404, path
        missing = await report_client.get(
            path, params={**params, "centre_id": 999999}, headers=headers
        )
        assert missing.status_code == 404
        mine = await report_client.get(path, params=params, headers=headers)
        assert mine.status_code == 200
        assert mine.json()["centre_id"] == own


async def test_csv_and_excel_hold_the_json_figures(
    report_client: AsyncClient, national_headers: dict[str, str]
) -> None:
    body = await get_json(report_client, "/api/v1/reports/activity", national_headers, year=2025)
    response = await report_client.get(
        "/api/v1/reports/activity",
        params={"year": 2025, "format": "csv"},
        headers=national_headers,
    )
    assert response.status_code == 200
    assert 'filename="activity-2025.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert list(rows[0]) == list(COLUMNS)
    by_figure = {(r["section"], r["figure"], r["category"]): r for r in rows}
    assert by_figure[("holders", "supported", "")]["count"] == str(body["holders"]["supported"])
    assert (
        by_figure[("loans", "disbursed_amount", "")]["amount"] == body["loans"]["disbursed_amount"]
    )
    for key, value in body["holders"]["by_age_band"].items():
        assert by_figure[("holders", "by_age_band", key)]["count"] == str(value)
    for key, value in body["loans"]["by_lender"].items():
        line = by_figure[("loans", "by_lender", key)]
        assert (line["count"], line["amount"]) == (str(value["count"]), value["amount"])
        assert line["label"] == body["loans"]["lender_names"][key]
    for key, value in body["coaching"]["by_kind"].items():
        line = by_figure[("coaching", "by_kind", key)]
        assert (line["count"], line["hours"]) == (str(value["sessions"]), value["hours"])

    workbook_response = await report_client.get(
        "/api/v1/reports/activity",
        params={"year": 2025, "format": "xlsx"},
        headers=national_headers,
    )
    assert workbook_response.status_code == 200
    workbook = load_workbook(io.BytesIO(workbook_response.content))
    assert workbook.sheetnames == ["Activity", "Categories", "Parameters"]
    sheet_rows = list(workbook["Activity"].iter_rows(values_only=True))
    assert len(sheet_rows) == len(rows) + 1
    for line, cells in zip(rows, sheet_rows[1:], strict=True):
        assert cells[:3] == (line["section"], line["figure"], line["category"] or None)
        if line["amount"]:
            assert f"{cells[5]:.2f}" == line["amount"]
    # One native chart per category table.
    archive_names = zipfile.ZipFile(io.BytesIO(workbook_response.content)).namelist()
    charts = [name for name in archive_names if name.startswith("xl/charts/chart")]
    assert len(charts) == 8
