"""Who sees which centre's figures, and what is refused (422, 401, 404)."""

from datetime import timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from tests.helpers import auth
from tests.reports import reference
from tests.reports.factories import centre_user
from tests.reports.generator import GeneratedPortfolio
from tests.reports.plan import TODAY
from tests.reports.reference import Snapshot
from tests.users.factories import make_user

PAST = (TODAY - timedelta(days=45)).isoformat()
RANGE = {"from": (TODAY - timedelta(days=365)).isoformat(), "to": TODAY.isoformat()}
REPORTS: list[tuple[str, dict[str, str]]] = [
    ("portfolio", {"as_of": PAST}),
    ("flows", RANGE),
    ("coaching", RANGE),
    ("impact", {"as_of": PAST}),
]


async def get(client: AsyncClient, report: str, headers: dict[str, str], **params: Any) -> Any:
    return await client.get(f"/api/v1/reports/{report}", params=params, headers=headers)


@pytest.mark.parametrize("role", ["adviser", "manager", "viewer"])
async def test_centre_staff_see_only_their_centre(
    report_client: AsyncClient,
    portfolio_session: AsyncSession,
    report_settings: Settings,
    portfolio: GeneratedPortfolio,
    snapshot: Snapshot,
    role: str,
) -> None:
    own, other = portfolio.centre_ids[0], portfolio.centre_ids[1]
    headers = auth(await centre_user(portfolio_session, role, own), report_settings)

    for report, params in REPORTS:
        refused = await get(report_client, report, headers, centre_id=other, **params)
        assert refused.status_code == 404, (report, refused.text)
        assert refused.json()["title"] == "Not found"

    # Without centre_id, and whatever the grouping, only the caller's centre is counted.
    as_of = TODAY - timedelta(days=45)
    for group_by in ("centre", "adviser", "lender", "gender"):
        body = (
            await get(report_client, "portfolio", headers, as_of=PAST, group_by=group_by)
        ).json()
        assert body == reference.portfolio(snapshot, as_of, group_by, own)
        assert body["centre_id"] == own
    by_centre = (await get(report_client, "portfolio", headers, as_of=PAST)).json()
    assert [row["key"] for row in by_centre["rows"]] == [own]
    own_users = set(portfolio.adviser_ids[own])
    by_adviser = (await get(report_client, "portfolio", headers, group_by="adviser")).json()
    assert {row["key"] for row in by_adviser["rows"]} <= own_users | {"unspecified"}

    coaching = (await get(report_client, "coaching", headers, group_by="centre", **RANGE)).json()
    assert [row["key"] for row in coaching["rows"]] == [own]
    impact = (await get(report_client, "impact", headers, as_of=PAST)).json()
    assert [row["key"] for row in impact["rows"]] == [own]
    flows = (await get(report_client, "flows", headers, centre_id=own, **RANGE)).json()
    assert flows["centre_id"] == own


async def test_national_staff_see_every_centre_or_the_one_they_name(
    report_client: AsyncClient,
    portfolio_session: AsyncSession,
    report_settings: Settings,
    portfolio: GeneratedPortfolio,
) -> None:
    viewer = auth(await make_user(portfolio_session, "viewer", None), report_settings)
    admin = auth(await make_user(portfolio_session, "admin", None), report_settings)
    await portfolio_session.commit()
    for headers in (viewer, admin):
        everything = (await get(report_client, "portfolio", headers, as_of=PAST)).json()
        assert [row["key"] for row in everything["rows"]] == sorted(portfolio.centre_ids)
        assert everything["centre_id"] is None
        one = portfolio.centre_ids[2]
        single = (await get(report_client, "portfolio", headers, as_of=PAST, centre_id=one)).json()
        assert [row["key"] for row in single["rows"]] == [one]
        assert single["total"] == next(r for r in everything["rows"] if r["key"] == one) | {
            "key": None,
            "label": "Total",
        }


@pytest.mark.parametrize(("report", "params"), REPORTS, ids=[r for r, _ in REPORTS])
async def test_a_centre_that_does_not_exist_is_404(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    report: str,
    params: dict[str, str],
) -> None:
    response = await get(report_client, report, national_headers, centre_id=987654, **params)
    assert response.status_code == 404


@pytest.mark.parametrize(("report", "params"), REPORTS, ids=[r for r, _ in REPORTS])
async def test_reports_need_a_token(
    report_client: AsyncClient, report: str, params: dict[str, str]
) -> None:
    response = await get(report_client, report, {}, **params)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("report", "params", "field"),
    [
        ("portfolio", {"group_by": "colour"}, "group_by"),
        ("portfolio", {"format": "pdf"}, "format"),
        ("portfolio", {"as_of": "2025-02-30"}, "as_of"),
        ("portfolio", {"centre_id": "one"}, "centre_id"),
        ("portfolio", {"centre_id": "99999999999"}, "centre_id"),
        ("portfolio", {"as_of": "0001-01-01"}, "as_of"),
        ("impact", {"as_of": "9999-12-31"}, "as_of"),
        ("flows", {"from": "0001-01-01", "to": "0001-12-31", "interval": "year"}, "from"),
        ("impact", {"group_by": "region"}, "group_by"),
        ("coaching", {**RANGE, "group_by": "sector"}, "group_by"),
        ("coaching", {"to": TODAY.isoformat()}, "from"),
        ("coaching", {"from": "2026-05-02", "to": "2026-05-01"}, "from"),
        ("flows", {**RANGE, "interval": "week"}, "interval"),
        ("flows", {"from": "2025-01-01"}, "to"),
        ("flows", {"to": "2025-01-01"}, "from"),
        ("flows", {"from": "2026-05-02", "to": "2026-05-01"}, "from"),
        ("flows", {"from": "1990-01-01", "to": "2026-01-01", "interval": "month"}, "from"),
    ],
)
async def test_bad_parameters_are_422_naming_the_field(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    report: str,
    params: dict[str, str],
    field: str,
) -> None:
    response = await get(report_client, report, national_headers, **params)
    assert response.status_code == 422, response.text
    assert field in [error["field"] for error in response.json()["errors"]]


async def test_flows_accept_up_to_400_periods(
    report_client: AsyncClient, national_headers: dict[str, str]
) -> None:
    just_enough = {"from": "1993-08-31", "to": "2026-11-01", "interval": "month"}  # 400 months
    response = await get(report_client, "flows", national_headers, **just_enough)
    assert response.status_code == 200
    assert len(response.json()["rows"]) == 400
    one_more = {"from": "1993-07-31", "to": "2026-11-01", "interval": "month"}
    assert (await get(report_client, "flows", national_headers, **one_more)).status_code == 422
    long_by_year = {"from": "1900-01-01", "to": "2026-11-01", "interval": "year"}
    response = await get(report_client, "flows", national_headers, **long_by_year)
    assert response.status_code == 200
    assert len(response.json()["rows"]) == 127
