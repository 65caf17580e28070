"""Lenders and loan products: admin writes, everyone reads, bounds validated."""

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import AuditEvent
from app.core.config import Settings
from tests.helpers import Api, error_fields
from tests.loans.factories import LoanWorld


def product_body(lender_id: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "lender_id": lender_id,
        "name": "Crédit hebdomadaire",
        "interest_method": "flat",
        "amortization": "equal_principal",
        "annual_rate": "18.5",
        "repayment_frequency": "weekly",
        "min_principal": 500,
        "max_principal": "20000.00",
        "min_term": 8,
        "max_term": 52,
        "max_grace_periods": 2,
    }
    body.update(overrides)
    return body


async def test_admin_creates_reads_and_changes_a_lender(
    as_admin: Api, as_viewer: Api, session: AsyncSession
) -> None:
    created = await as_admin.post(
        "/api/v1/lenders", {"code": "AMC-ALB", "name": "Association Al Amana"}
    )
    assert created.status_code == 201
    body = created.json()
    assert created.headers["location"] == f"/api/v1/lenders/{body['id']}"
    assert created.headers["etag"] == '"1"'
    assert (body["code"], body["name"], body["version"]) == (
        "AMC-ALB",
        "Association Al Amana",
        1,
    )

    read = await as_viewer.get(f"/api/v1/lenders/{body['id']}")
    assert read.status_code == 200
    assert read.json()["name"] == "Association Al Amana"

    stale = await as_admin.patch(
        f"/api/v1/lenders/{body['id']}", {"name": "Al Amana"}, **{"If-Match": '"7"'}
    )
    assert stale.status_code == 412
    changed = await as_admin.patch(
        f"/api/v1/lenders/{body['id']}", {"name": "Al Amana"}, **{"If-Match": '"1"'}
    )
    assert changed.status_code == 200
    assert (changed.json()["name"], changed.json()["version"]) == ("Al Amana", 2)

    listed = await as_viewer.get("/api/v1/lenders", sort="-code")
    assert listed.status_code == 200
    assert "AMC-ALB" in [item["code"] for item in listed.json()["items"]]

    actions = (
        await session.execute(
            select(AuditEvent.action).where(
                AuditEvent.entity == "lender", AuditEvent.entity_id == body["id"]
            )
        )
    ).scalars()
    assert sorted(actions) == ["create", "update"]


async def test_lender_code_is_unique_and_only_admins_write(
    as_admin: Api, as_manager: Api, world: LoanWorld
) -> None:
    duplicate = await as_admin.post("/api/v1/lenders", {"code": world.lender.code, "name": "X"})
    assert duplicate.status_code == 409
    assert error_fields(duplicate) == ["code"]
    refused = await as_manager.post("/api/v1/lenders", {"code": "NEW", "name": "X"})
    assert refused.status_code == 403
    refused_patch = await as_manager.patch(f"/api/v1/lenders/{world.lender.id}", {"name": "Y"})
    assert refused_patch.status_code == 403
    missing = await as_admin.get("/api/v1/lenders/999999")
    assert missing.status_code == 404


async def test_admin_creates_a_product_that_everyone_reads(
    as_admin: Api, as_adviser: Api, world: LoanWorld
) -> None:
    created = await as_admin.post("/api/v1/loan-products", product_body(world.lender.id))
    assert created.status_code == 201
    body = created.json()
    assert created.headers["location"] == f"/api/v1/loan-products/{body['id']}"
    expected = {
        "id": body["id"],
        "lender_id": world.lender.id,
        "name": "Crédit hebdomadaire",
        "interest_method": "flat",
        "amortization": "equal_principal",
        "annual_rate": "18.50",
        "repayment_frequency": "weekly",
        "min_principal": "500.00",
        "max_principal": "20000.00",
        "min_term": 8,
        "max_term": 52,
        "max_grace_periods": 2,
        "is_active": True,
        "version": 1,
    }
    assert {key: body[key] for key in expected} == expected

    read = await as_adviser.get(f"/api/v1/loan-products/{body['id']}")
    assert read.status_code == 200
    assert read.json()["max_principal"] == "20000.00"

    weekly = await as_adviser.get(
        "/api/v1/loan-products", lender_id=world.lender.id, repayment_frequency="weekly"
    )
    assert [item["id"] for item in weekly.json()["items"]] == [body["id"]]
    refused = await as_adviser.post("/api/v1/loan-products", product_body(world.lender.id))
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"min_principal": "30000.00"}, "min_principal"),
        ({"min_principal": "0"}, "min_principal"),
        ({"max_principal": "150000.01"}, "max_principal"),
        ({"min_term": 60}, "min_term"),
        ({"min_term": 0}, "min_term"),
        ({"max_grace_periods": 52}, "max_grace_periods"),
        ({"max_grace_periods": -1}, "max_grace_periods"),
        ({"annual_rate": "100.01"}, "annual_rate"),
        ({"annual_rate": "-1"}, "annual_rate"),
        ({"interest_method": "compound"}, "interest_method"),
        ({"repayment_frequency": "daily"}, "repayment_frequency"),
        ({"lender_id": 999999}, "lender_id"),
        ({"max_principal": "1000.005"}, "max_principal"),
    ],
)
async def test_product_bounds_are_validated(
    as_admin: Api, world: LoanWorld, overrides: dict[str, Any], field: str
) -> None:
    body = product_body(world.lender.id)
    body.update(overrides)
    response = await as_admin.post("/api/v1/loan-products", body)
    assert response.status_code == 422
    assert error_fields(response) == [field]


async def test_the_legal_ceiling_is_a_setting(
    as_admin: Api, world: LoanWorld, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "max_loan_principal", Decimal("15000.00"))
    response = await as_admin.post("/api/v1/loan-products", product_body(world.lender.id))
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "max_principal",
        "message": "must not exceed the legal ceiling of 15000.00 MAD",
    }


async def test_product_patch_checks_bounds_on_the_result_and_honours_if_match(
    as_admin: Api, as_manager: Api, world: LoanWorld
) -> None:
    url = f"/api/v1/loan-products/{world.product.id}"
    # The product allows 1000.00 to 50000.00 and 3 to 36 installments.
    too_low = await as_admin.patch(url, {"max_principal": "900.00"})
    assert too_low.status_code == 422
    assert error_fields(too_low) == ["min_principal"]
    grace = await as_admin.patch(url, {"max_term": 3})
    assert grace.status_code == 422
    assert error_fields(grace) == ["max_grace_periods"]
    assert (await as_manager.patch(url, {"is_active": False})).status_code == 403
    stale = await as_admin.patch(url, {"is_active": False}, **{"If-Match": '"9"'})
    assert stale.status_code == 412
    changed = await as_admin.patch(
        url, {"is_active": False, "annual_rate": 21}, **{"If-Match": '"1"'}
    )
    assert changed.status_code == 200
    assert changed.headers["etag"] == '"2"'
    assert (changed.json()["is_active"], changed.json()["annual_rate"]) == (False, "21.00")
    null = await as_admin.patch(url, {"name": None})
    assert null.status_code == 422
    assert error_fields(null) == ["name"]
