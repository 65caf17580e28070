"""POST /api/v1/loans/schedule-preview: a calculator that stores nothing."""

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.loans.models import Installment, Loan
from tests.helpers import Api, error_fields

WORKED_EXAMPLE: dict[str, Any] = {
    "principal": "10000.00",
    "annual_rate": "24.00",
    "term": 12,
    "repayment_frequency": "monthly",
    "interest_method": "declining_balance",
    "amortization": "equal_installments",
    "grace_periods": 0,
    "disbursed_on": "2025-01-15",
}


async def test_preview_gives_designs_worked_example_and_stores_nothing(
    as_viewer: Api, session: AsyncSession
) -> None:
    loans_before = (await session.execute(select(func.count(Loan.id)))).scalar_one()
    installments_before = (await session.execute(select(func.count(Installment.id)))).scalar_one()

    response = await as_viewer.post("/api/v1/loans/schedule-preview", WORKED_EXAMPLE)

    assert response.status_code == 200
    body = response.json()
    installments = body["installments"]
    assert len(installments) == 12
    assert installments[0] == {
        "seq": 1,
        "due_on": "2025-02-15",
        "principal_due": "745.60",
        "interest_due": "200.00",
        "total_due": "945.60",
        "balance_after": "9254.40",
    }
    assert (installments[1]["interest_due"], installments[1]["principal_due"]) == (
        "185.09",
        "760.51",
    )
    assert installments[11] == {
        "seq": 12,
        "due_on": "2026-01-15",
        "principal_due": "927.01",
        "interest_due": "18.54",
        "total_due": "945.55",
        "balance_after": "0.00",
    }
    assert body["totals"] == {"principal": "10000.00", "interest": "1347.15", "total": "11347.15"}
    assert (await session.execute(select(func.count(Loan.id)))).scalar_one() == loans_before
    assert (
        await session.execute(select(func.count(Installment.id)))
    ).scalar_one() == installments_before


async def test_preview_from_a_month_end_first_due_date_with_grace_and_flat_interest(
    as_adviser: Api,
) -> None:
    body = {
        **WORKED_EXAMPLE,
        "principal": "1200.00",
        "term": 4,
        "grace_periods": 1,
        "interest_method": "flat",
        "disbursed_on": "2025-01-10",
        "first_due_on": "2025-01-31",
    }
    response = await as_adviser.post("/api/v1/loans/schedule-preview", body)
    assert response.status_code == 200
    # Flat: I = round(1200 * 24 % * 4 / 12) = 96.00, 24.00 per installment; principal in
    # three equal parts after one grace period.
    assert [
        (line["due_on"], line["principal_due"], line["interest_due"], line["balance_after"])
        for line in response.json()["installments"]
    ] == [
        ("2025-01-31", "0.00", "24.00", "1200.00"),
        ("2025-02-28", "400.00", "24.00", "800.00"),
        ("2025-03-31", "400.00", "24.00", "400.00"),
        ("2025-04-30", "400.00", "24.00", "0.00"),
    ]
    assert response.json()["totals"] == {
        "principal": "1200.00",
        "interest": "96.00",
        "total": "1296.00",
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"grace_periods": 12}, "grace_periods"),
        ({"principal": "150000.01"}, "principal"),
        ({"first_due_on": "2025-01-14"}, "first_due_on"),
        ({"principal": "0"}, "principal"),
        ({"principal": "100.001"}, "principal"),
        ({"term": 0}, "term"),
        ({"term": 361}, "term"),
        ({"annual_rate": "101"}, "annual_rate"),
        ({"repayment_frequency": "daily"}, "repayment_frequency"),
        ({"amortization": "balloon"}, "amortization"),
        ({"disbursed_on": "2025-02-30"}, "disbursed_on"),
        ({"disbursed_on": "9999-12-31"}, "disbursed_on"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
async def test_invalid_terms_are_422_naming_the_field(
    as_adviser: Api, overrides: dict[str, Any], field: str
) -> None:
    response = await as_adviser.post(
        "/api/v1/loans/schedule-preview", {**WORKED_EXAMPLE, **overrides}
    )
    assert response.status_code == 422
    assert error_fields(response) == [field]


async def test_preview_needs_a_token(client: AsyncClient) -> None:
    response = await client.post("/api/v1/loans/schedule-preview", json=WORKED_EXAMPLE)
    assert response.status_code == 401
