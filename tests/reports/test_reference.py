"""Every figure of every report, for every grouping, at several dates and ranges, equals the
Python reference (tests/reports/reference.py) on a generated portfolio, to the centime."""

from datetime import date, timedelta
from typing import Any

import pytest
from httpx import AsyncClient

from tests.reports import reference
from tests.reports.generator import GeneratedPortfolio
from tests.reports.plan import COACHING_RANGES, FLOW_RANGES, IMPACT_DATES, PORTFOLIO_DATES, TODAY
from tests.reports.reference import Snapshot

PORTFOLIO_GROUPS = [
    "centre",
    "lender",
    "product",
    "sector",
    "gender",
    "area",
    "region",
    "age_band",
    "adviser",
]


async def get_json(
    client: AsyncClient, path: str, headers: dict[str, str], **params: str | int
) -> dict[str, Any]:
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("as_of", PORTFOLIO_DATES, ids=str)
@pytest.mark.parametrize("group_by", PORTFOLIO_GROUPS)
async def test_portfolio_equals_the_reference(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    snapshot: Snapshot,
    as_of: date,
    group_by: str,
) -> None:
    body = await get_json(
        report_client,
        "/api/v1/reports/portfolio",
        national_headers,
        as_of=as_of.isoformat(),
        group_by=group_by,
    )
    expected = reference.portfolio(snapshot, as_of, group_by, None)
    assert body == expected
    assert body["rows"], "the generated portfolio has outstanding loans at every date tested"


@pytest.mark.parametrize("as_of", [TODAY, TODAY - timedelta(days=45)], ids=str)
@pytest.mark.parametrize("group_by", ["adviser", "age_band", "product"])
async def test_portfolio_of_one_centre_equals_the_reference(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    portfolio: GeneratedPortfolio,
    snapshot: Snapshot,
    as_of: date,
    group_by: str,
) -> None:
    centre_id = portfolio.centre_ids[1]
    body = await get_json(
        report_client,
        "/api/v1/reports/portfolio",
        national_headers,
        as_of=as_of.isoformat(),
        group_by=group_by,
        centre_id=centre_id,
    )
    assert body == reference.portfolio(snapshot, as_of, group_by, centre_id)


async def test_portfolio_defaults_to_today_by_centre(
    report_client: AsyncClient, national_headers: dict[str, str], snapshot: Snapshot
) -> None:
    body = await get_json(report_client, "/api/v1/reports/portfolio", national_headers)
    assert body == reference.portfolio(snapshot, TODAY, "centre", None)


@pytest.mark.parametrize(("start", "end", "interval"), FLOW_RANGES, ids=str)
async def test_flows_equal_the_reference(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    snapshot: Snapshot,
    start: date,
    end: date,
    interval: str,
) -> None:
    body = await get_json(
        report_client,
        "/api/v1/reports/flows",
        national_headers,
        **{"from": start.isoformat(), "to": end.isoformat(), "interval": interval},
    )
    assert body == reference.flows(snapshot, start, end, interval, None)


async def test_flows_of_one_centre_and_the_default_interval(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    portfolio: GeneratedPortfolio,
    snapshot: Snapshot,
) -> None:
    start, end, centre_id = TODAY - timedelta(days=700), TODAY, portfolio.centre_ids[2]
    body = await get_json(
        report_client,
        "/api/v1/reports/flows",
        national_headers,
        **{"from": start.isoformat(), "to": end.isoformat(), "centre_id": str(centre_id)},
    )
    assert body == reference.flows(snapshot, start, end, "month", centre_id)
    assert any(row["written_off_amount"] != "0.00" for row in body["rows"])
    assert any(row["loans_closed"] > 0 for row in body["rows"])


@pytest.mark.parametrize("group_by", ["adviser", "kind", "centre", "month"])
@pytest.mark.parametrize(("start", "end"), COACHING_RANGES, ids=str)
async def test_coaching_equals_the_reference(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    snapshot: Snapshot,
    start: date,
    end: date,
    group_by: str,
) -> None:
    body = await get_json(
        report_client,
        "/api/v1/reports/coaching",
        national_headers,
        **{"from": start.isoformat(), "to": end.isoformat(), "group_by": group_by},
    )
    assert body == reference.coaching(snapshot, start, end, group_by, None)
    assert body["rows"]


async def test_coaching_of_one_centre_defaults_to_advisers(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    portfolio: GeneratedPortfolio,
    snapshot: Snapshot,
) -> None:
    start, end, centre_id = TODAY - timedelta(days=900), TODAY, portfolio.centre_ids[0]
    body = await get_json(
        report_client,
        "/api/v1/reports/coaching",
        national_headers,
        **{"from": start.isoformat(), "to": end.isoformat(), "centre_id": str(centre_id)},
    )
    assert body == reference.coaching(snapshot, start, end, "adviser", centre_id)


@pytest.mark.parametrize("as_of", IMPACT_DATES, ids=str)
@pytest.mark.parametrize("group_by", ["centre", "sector", "gender", "area"])
async def test_impact_equals_the_reference(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    snapshot: Snapshot,
    as_of: date,
    group_by: str,
) -> None:
    body = await get_json(
        report_client,
        "/api/v1/reports/impact",
        national_headers,
        as_of=as_of.isoformat(),
        group_by=group_by,
    )
    assert body == reference.impact(snapshot, as_of, group_by, None)


async def test_impact_of_one_centre_defaults_to_today_by_centre(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    portfolio: GeneratedPortfolio,
    snapshot: Snapshot,
) -> None:
    centre_id = portfolio.centre_ids[0]
    body = await get_json(
        report_client, "/api/v1/reports/impact", national_headers, centre_id=centre_id
    )
    assert body == reference.impact(snapshot, TODAY, "centre", centre_id)
    (row,) = body["rows"]
    assert row["survival_rate_12m"] is not None and row["loan_uptake_6m"] is not None
