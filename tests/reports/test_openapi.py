"""The OpenAPI document describes each report's rows and its file downloads."""

from typing import Any

import pytest
from httpx import AsyncClient

from app.reports.render import XLSX_MEDIA_TYPE

REPORTS = {
    "portfolio": ("PortfolioReport", "PortfolioRow", {"as_of", "group_by", "centre_id", "format"}),
    "flows": ("FlowsReport", "FlowsRow", {"from", "to", "interval", "centre_id", "format"}),
    "coaching": (
        "CoachingReport",
        "CoachingRow",
        {"from", "to", "group_by", "centre_id", "format"},
    ),
    "impact": ("ImpactReport", "ImpactRow", {"as_of", "group_by", "centre_id", "format"}),
}


@pytest.fixture
async def openapi(client: AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


@pytest.mark.parametrize("report", REPORTS)
async def test_each_report_documents_rows_files_and_errors(
    openapi: dict[str, Any], report: str
) -> None:
    report_schema, row_schema, parameters = REPORTS[report]
    operation = openapi["paths"][f"/api/v1/reports/{report}"]["get"]
    assert operation["summary"] and operation["description"]
    assert {parameter["name"] for parameter in operation["parameters"]} == parameters
    content = operation["responses"]["200"]["content"]
    assert content["application/json"]["schema"] == {
        "$ref": f"#/components/schemas/{report_schema}"
    }
    assert set(content) == {"application/json", "text/csv", XLSX_MEDIA_TYPE}
    assert {"401", "404", "422"} <= set(operation["responses"])

    schemas = openapi["components"]["schemas"]
    properties = schemas[report_schema]["properties"]
    assert properties["rows"]["items"] == {"$ref": f"#/components/schemas/{row_schema}"}
    assert "total" in properties


async def test_row_fields_are_those_of_the_contract(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    portfolio_row = set(schemas["PortfolioRow"]["properties"])
    assert portfolio_row == {
        "key",
        "label",
        "active_loans",
        "active_borrowers",
        "outstanding_principal",
        "arrears_amount",
        "par1_amount",
        "par30_amount",
        "par90_amount",
        "par1_ratio",
        "par30_ratio",
        "par90_ratio",
        "aging",
    }
    assert set(schemas["Aging"]["properties"]) == {
        "current",
        "1-30",
        "31-60",
        "61-90",
        "91-180",
        "181-365",
        "366+",
    }
    assert {
        "period_start",
        "disbursed_count",
        "disbursed_amount",
        "collected_principal",
        "collected_interest",
        "written_off_amount",
        "loans_closed",
        "amount_due",
        "collected_on_time",
        "on_time_repayment_rate",
    } <= set(schemas["FlowsRow"]["properties"])
    assert {"from", "to", "interval", "rows", "total"} <= set(schemas["FlowsReport"]["properties"])
    assert set(schemas["CoachingRow"]["properties"]) == {
        "key",
        "label",
        "sessions",
        "hours",
        "holders_reached",
        "female_share",
    }
    assert set(schemas["ImpactRow"]["properties"]) == {
        "key",
        "label",
        "holders",
        "enterprises_created",
        "active_enterprises",
        "closed_enterprises",
        "survival_rate_12m",
        "survival_rate_24m",
        "jobs",
        "coached_holders",
        "loan_uptake_6m",
    }
