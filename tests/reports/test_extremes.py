"""The widest valid parameters answer 200 in every format, never a 500, and in JSON the
same figures as the reference."""

from datetime import date
from typing import Any

import pytest
from httpx import AsyncClient

from tests.reports import reference
from tests.reports.reference import Snapshot

CASES = [
    ("portfolio", {"as_of": "1900-01-01", "group_by": "age_band"}),
    ("portfolio", {"as_of": "2999-12-31", "group_by": "age_band"}),
    ("portfolio", {"as_of": "2999-12-31", "group_by": "adviser"}),
    ("impact", {"as_of": "1900-01-01", "group_by": "gender"}),
    ("impact", {"as_of": "2999-12-31", "group_by": "gender"}),
    ("flows", {"from": "1900-01-01", "to": "2299-12-31", "interval": "year"}),
    ("flows", {"from": "2999-12-31", "to": "2999-12-31", "interval": "quarter"}),
    ("coaching", {"from": "1900-01-01", "to": "2999-12-31", "group_by": "month"}),
]


def expected(snapshot: Snapshot, report: str, params: dict[str, str]) -> dict[str, Any]:
    if report in ("portfolio", "impact"):
        compute = reference.portfolio if report == "portfolio" else reference.impact
        return compute(snapshot, date.fromisoformat(params["as_of"]), params["group_by"], None)
    start, end = date.fromisoformat(params["from"]), date.fromisoformat(params["to"])
    if report == "flows":
        return reference.flows(snapshot, start, end, params["interval"], None)
    return reference.coaching(snapshot, start, end, params["group_by"], None)


@pytest.mark.parametrize("report_format", ["json", "csv", "xlsx"])
@pytest.mark.parametrize(("report", "params"), CASES, ids=[f"{r}-{p}" for r, p in CASES])
async def test_extreme_dates_answer_in_every_format(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    snapshot: Snapshot,
    report: str,
    params: dict[str, str],
    report_format: str,
) -> None:
    response = await report_client.get(
        f"/api/v1/reports/{report}",
        params={**params, "format": report_format},
        headers=national_headers,
    )
    assert response.status_code == 200, response.text
    if report_format == "json":
        assert response.json() == expected(snapshot, report, params)
