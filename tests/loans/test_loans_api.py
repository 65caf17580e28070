"""Loan applications, lifecycle, roles, scope, list filters and as-of figures."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.audit import AuditEvent
from app.core.config import Settings
from app.loans.models import Installment, LoanTransaction
from tests.centres.factories import make_centre
from tests.enterprises.factories import make_enterprise
from tests.helpers import Api, error_fields
from tests.holders.factories import make_holder
from tests.loans.factories import (
    LoanWorld,
    make_active_loan,
    make_application,
    make_lender,
    make_product,
    repay,
)
from tests.users.factories import make_user


def application(world: LoanWorld, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "holder_id": world.holder.id,
        "product_id": world.product.id,
        "principal": "10000.00",
        "term": 12,
        "purpose": "Machine à coudre industrielle",
        "applied_on": "2025-01-06",
    }
    body.update(overrides)
    return body


async def test_adviser_applies_and_the_loan_copies_the_product_and_the_holders_centre(
    as_adviser: Api, world: LoanWorld, session: AsyncSession
) -> None:
    enterprise = await make_enterprise(session, world.centre, [world.holder])
    await session.commit()

    response = await as_adviser.post(
        "/api/v1/loans", application(world, enterprise_id=enterprise.id, grace_periods=1)
    )

    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/api/v1/loans/{body['id']}"
    assert response.headers["etag"] == '"1"'
    expected = {
        "id": body["id"],
        "holder_id": world.holder.id,
        "enterprise_id": enterprise.id,
        "product_id": world.product.id,
        "lender_id": world.lender.id,
        "centre_id": world.centre.id,
        "principal": "10000.00",
        "annual_rate": "24.00",
        "term": 12,
        "repayment_frequency": "monthly",
        "interest_method": "declining_balance",
        "amortization": "equal_installments",
        "grace_periods": 1,
        "purpose": "Machine à coudre industrielle",
        "reference": None,
        "status": "submitted",
        "applied_on": "2025-01-06",
        "approved_on": None,
        "rejected_on": None,
        "rejection_reason": None,
        "disbursed_on": None,
        "first_due_on": None,
        "closed_on": None,
        "written_off_on": None,
        "written_off_amount": None,
        "write_off_reason": None,
        "as_of": "2025-06-30",
        "outstanding_principal": "0.00",
        "arrears_amount": "0.00",
        "days_past_due": 0,
        "next_due_on": None,
        "next_due_amount": None,
        "paid_principal": "0.00",
        "paid_interest": "0.00",
        "created_by": world.adviser.id,
        "version": 1,
    }
    assert {key: body[key] for key in expected} == expected
    assert set(body) == set(expected) | {"created_at", "updated_at"}

    event_row = (
        await session.execute(
            select(AuditEvent).where(
                AuditEvent.entity == "loan", AuditEvent.entity_id == body["id"]
            )
        )
    ).scalar_one()
    assert (event_row.action, event_row.centre_id, event_row.actor_id) == (
        "apply",
        world.centre.id,
        world.adviser.id,
    )


async def test_rate_may_be_given_and_applied_on_defaults_to_today(
    as_admin: Api, world: LoanWorld
) -> None:
    body = application(world, annual_rate="18.5")
    del body["applied_on"]
    response = await as_admin.post("/api/v1/loans", body)
    assert response.status_code == 201
    assert (response.json()["annual_rate"], response.json()["applied_on"]) == (
        "18.50",
        "2025-06-30",
    )


async def test_application_rules_are_422_naming_the_field(
    as_adviser: Api, world: LoanWorld, session: AsyncSession
) -> None:
    other_centre = await make_centre(session)
    stranger = await make_holder(session, other_centre)
    partner = await make_holder(session, world.centre)
    not_owned = await make_enterprise(session, world.centre, [partner])
    elsewhere = await make_enterprise(session, other_centre, [stranger])
    retired = await make_product(session, world.lender, is_active=False)
    dropped = await make_holder(session, world.centre, status="dropped")
    await session.commit()

    cases: list[tuple[dict[str, Any], str]] = [
        ({"principal": "999.99"}, "principal"),
        ({"principal": "50000.01"}, "principal"),
        ({"term": 2}, "term"),
        ({"term": 37}, "term"),
        ({"grace_periods": 4}, "grace_periods"),
        ({"term": 3, "grace_periods": 3}, "grace_periods"),
        ({"product_id": retired.id}, "product_id"),
        ({"product_id": 999999}, "product_id"),
        ({"holder_id": stranger.id}, "holder_id"),
        ({"holder_id": 999999}, "holder_id"),
        ({"holder_id": dropped.id}, "holder_id"),
        ({"enterprise_id": not_owned.id}, "enterprise_id"),
        ({"enterprise_id": elsewhere.id}, "enterprise_id"),
        ({"enterprise_id": 999999}, "enterprise_id"),
        ({"applied_on": "2025-07-01"}, "applied_on"),
        ({"purpose": "   "}, "purpose"),
        ({"principal": "100.123"}, "principal"),
        ({"holder_id": 2**40}, "holder_id"),
    ]
    for overrides, field in cases:
        response = await as_adviser.post("/api/v1/loans", application(world, **overrides))
        assert response.status_code == 422, (overrides, response.json())
        assert error_fields(response) == [field], overrides


async def test_principal_above_the_legal_ceiling_is_refused_whatever_the_product(
    as_admin: Api,
    world: LoanWorld,
    session: AsyncSession,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "max_loan_principal", Decimal("8000.00"))
    response = await as_admin.post("/api/v1/loans", application(world))
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "principal", "message": "must not exceed the legal ceiling of 8000.00 MAD"}
    ]


async def test_who_may_do_what(
    as_admin: Api, as_manager: Api, as_adviser: Api, as_viewer: Api, world: LoanWorld
) -> None:
    assert (await as_manager.post("/api/v1/loans", application(world))).status_code == 403
    assert (await as_viewer.post("/api/v1/loans", application(world))).status_code == 403
    loan = (await as_adviser.post("/api/v1/loans", application(world))).json()
    url = f"/api/v1/loans/{loan['id']}"

    assert (await as_adviser.post(f"{url}/approve", {})).status_code == 403
    assert (await as_viewer.post(f"{url}/approve", {})).status_code == 403
    assert (await as_adviser.post(f"{url}/reject", {"reason": "x"})).status_code == 403
    assert (
        await as_manager.post(f"{url}/approve", {"approved_on": "2025-01-08"})
    ).status_code == 200
    assert (
        await as_viewer.post(f"{url}/disburse", {"disbursed_on": "2025-01-15"})
    ).status_code == 403
    assert (
        await as_adviser.post(f"{url}/disburse", {"disbursed_on": "2025-01-15"})
    ).status_code == 200
    repayment = {"amount": "100.00", "paid_on": "2025-02-01"}
    assert (await as_manager.post(f"{url}/repayments", repayment)).status_code == 403
    assert (await as_viewer.post(f"{url}/repayments", repayment)).status_code == 403
    paid = await as_adviser.post(f"{url}/repayments", repayment)
    assert paid.status_code == 201
    reverse = f"{url}/transactions/{paid.json()['id']}/reverse"
    assert (await as_adviser.post(reverse, {"reason": "erreur"})).status_code == 403
    assert (await as_viewer.post(reverse, {"reason": "erreur"})).status_code == 403
    assert (await as_manager.post(reverse, {"reason": "erreur"})).status_code == 200
    write_off = {"written_off_on": "2025-06-30", "reason": "faillite"}
    assert (await as_adviser.post(f"{url}/write-off", write_off)).status_code == 403
    assert (await as_viewer.post(f"{url}/write-off", write_off)).status_code == 403
    assert (await as_admin.post(f"{url}/write-off", write_off)).status_code == 200
    assert (await as_viewer.get(url)).status_code == 200


async def test_lifecycle_transitions_and_wrong_ones_are_409(
    as_manager: Api, as_adviser: Api, world: LoanWorld, session: AsyncSession
) -> None:
    loan = (await as_adviser.post("/api/v1/loans", application(world))).json()
    url = f"/api/v1/loans/{loan['id']}"
    disburse = {"disbursed_on": "2025-01-15"}

    assert (await as_manager.post(f"{url}/disburse", disburse)).status_code == 409
    assert (
        await as_manager.post(f"{url}/write-off", {"written_off_on": "2025-02-01", "reason": "x"})
    ).status_code == 409
    assert (
        await as_adviser.post(f"{url}/repayments", {"amount": "1", "paid_on": "2025-02-01"})
    ).status_code == 409

    approved = await as_manager.post(f"{url}/approve")
    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["approved_on"]) == ("approved", "2025-06-30")
    assert approved.headers["etag"] == '"2"'
    assert (await as_manager.post(f"{url}/approve")).status_code == 409
    assert (await as_manager.post(f"{url}/reject", {"reason": "trop tard"})).status_code == 409

    too_early = await as_manager.post(f"{url}/disburse", {"disbursed_on": "2025-06-29"})
    assert too_early.status_code == 422
    assert error_fields(too_early) == ["disbursed_on"]
    disbursed = await as_manager.post(
        f"{url}/disburse", {"disbursed_on": "2025-06-30", "first_due_on": "2025-07-31"}
    )
    assert disbursed.status_code == 200
    body = disbursed.json()
    assert (body["status"], body["disbursed_on"], body["first_due_on"]) == (
        "active",
        "2025-06-30",
        "2025-07-31",
    )
    assert (body["outstanding_principal"], body["next_due_on"], body["next_due_amount"]) == (
        "10000.00",
        "2025-07-31",
        "945.60",
    )
    assert (body["version"], disbursed.headers["etag"]) == (3, '"3"')
    assert (await as_manager.post(f"{url}/disburse", disburse)).status_code == 409
    assert (await as_manager.post(f"{url}/approve")).status_code == 409
    assert (await as_manager.post(f"{url}/reject", {"reason": "x"})).status_code == 409

    due_dates = (
        await session.execute(
            select(Installment.due_on)
            .where(Installment.loan_id == loan["id"])
            .order_by(Installment.seq)
        )
    ).scalars()
    assert list(due_dates)[:3] == [date(2025, 7, 31), date(2025, 8, 31), date(2025, 9, 30)]
    transactions = (await as_manager.get(f"{url}/transactions")).json()
    assert transactions["total"] == 1
    assert {
        key: transactions["items"][0][key]
        for key in ("kind", "amount", "effective_on", "reversed", "reverses_id", "created_by")
    } == {
        "kind": "disbursement",
        "amount": "10000.00",
        "effective_on": "2025-06-30",
        "reversed": False,
        "reverses_id": None,
        "created_by": world.manager.id,
    }

    actions = (
        await session.execute(
            select(AuditEvent.action, AuditEvent.centre_id)
            .where(AuditEvent.entity == "loan", AuditEvent.entity_id == loan["id"])
            .order_by(AuditEvent.id)
        )
    ).all()
    assert [tuple(row) for row in actions] == [
        ("apply", world.centre.id),
        ("approve", world.centre.id),
        ("disburse", world.centre.id),
    ]


async def test_rejection_needs_a_reason_and_ends_the_application(
    as_manager: Api, as_adviser: Api, world: LoanWorld
) -> None:
    loan = (await as_adviser.post("/api/v1/loans", application(world))).json()
    url = f"/api/v1/loans/{loan['id']}"
    for body in ({"reason": "  "}, {}, {"reason": ""}):
        blank = await as_manager.post(f"{url}/reject", body)
        assert blank.status_code == 422
        assert error_fields(blank) == ["reason"]
    rejected = await as_manager.post(f"{url}/reject", {"reason": "Étude de marché insuffisante"})
    assert rejected.status_code == 200
    assert {key: rejected.json()[key] for key in ("status", "rejected_on", "rejection_reason")} == {
        "status": "rejected",
        "rejected_on": "2025-06-30",
        "rejection_reason": "Étude de marché insuffisante",
    }
    assert (await as_manager.post(f"{url}/approve")).status_code == 409
    assert (
        await as_manager.post(f"{url}/disburse", {"disbursed_on": "2025-06-30"})
    ).status_code == 409


async def test_lifecycle_dates_are_checked(
    as_manager: Api, as_adviser: Api, world: LoanWorld
) -> None:
    loan = (await as_adviser.post("/api/v1/loans", application(world))).json()
    url = f"/api/v1/loans/{loan['id']}"
    for approved_on in ("2025-01-05", "2025-07-01"):
        response = await as_manager.post(f"{url}/approve", {"approved_on": approved_on})
        assert response.status_code == 422
        assert error_fields(response) == ["approved_on"]
    assert (
        await as_manager.post(f"{url}/approve", {"approved_on": "2025-01-06"})
    ).status_code == 200
    cases = [
        ({"disbursed_on": "2025-01-05"}, "disbursed_on"),
        ({"disbursed_on": "2025-07-01"}, "disbursed_on"),
        ({"disbursed_on": "2025-01-15", "first_due_on": "2025-01-14"}, "first_due_on"),
        ({}, "disbursed_on"),
    ]
    for body, field in cases:
        response = await as_manager.post(f"{url}/disburse", body)
        assert response.status_code == 422, body
        assert error_fields(response) == [field]
    disbursed = await as_manager.post(f"{url}/disburse", {"disbursed_on": "2025-01-06"})
    assert disbursed.status_code == 200
    assert disbursed.json()["first_due_on"] == "2025-02-06"


async def test_loans_outside_the_callers_centre_are_404_and_not_listed(
    client: AsyncClient, world: LoanWorld, session: AsyncSession, settings: Settings
) -> None:
    other_centre = await make_centre(session)
    outsider = await make_user(session, "adviser", other_centre)
    national_manager = await make_user(session, "manager", None)
    other_holder = await make_holder(session, other_centre)
    here = await make_application(session, world.admin_actor, world.holder, world.product)
    there = await make_application(session, world.admin_actor, other_holder, world.product)
    await session.commit()
    outsider_api = Api(client, outsider, settings)
    insider_api = Api(client, world.adviser, settings)

    assert (await outsider_api.get(f"/api/v1/loans/{here.id}")).status_code == 404
    assert (await outsider_api.get(f"/api/v1/loans/{here.id}/schedule")).status_code == 404
    assert (await outsider_api.get(f"/api/v1/loans/{here.id}/transactions")).status_code == 404
    assert (
        await outsider_api.post(
            f"/api/v1/loans/{here.id}/repayments", {"amount": 1, "paid_on": "2025-01-01"}
        )
    ).status_code == 404
    listed = (await insider_api.get("/api/v1/loans")).json()
    assert [item["id"] for item in listed["items"]] == [here.id]
    assert (await insider_api.get("/api/v1/loans", centre_id=other_centre.id)).status_code == 404
    assert (await insider_api.get("/api/v1/loans", centre_id=999999)).status_code == 404

    national = Api(client, national_manager, settings)
    everything = (await national.get("/api/v1/loans", sort="id")).json()
    assert [item["id"] for item in everything["items"]] == [here.id, there.id]
    only_there = (await national.get("/api/v1/loans", centre_id=other_centre.id)).json()
    assert [item["id"] for item in only_there["items"]] == [there.id]
    unknown = await national.get("/api/v1/loans", status="closed")
    assert unknown.status_code == 422
    assert error_fields(unknown) == ["status"]
    bad_sort = await national.get("/api/v1/loans", sort="purpose")
    assert bad_sort.status_code == 422
    assert error_fields(bad_sort) == ["sort"]
    assert (await national.get("/api/v1/loans", in_arrears="perhaps")).status_code == 422
    assert (await national.get("/api/v1/loans", min_days_past_due=-1)).status_code == 422
    assert (await client.get("/api/v1/loans")).status_code == 401


async def test_list_filters_are_exact(
    as_manager: Api, world: LoanWorld, session: AsyncSession
) -> None:
    admin = world.admin_actor
    other_lender_product = await make_product(
        session, await make_lender(session), name="Crédit agricole"
    )
    second_holder = await make_holder(session, world.centre)
    enterprise = await make_enterprise(session, world.centre, [second_holder])
    submitted = await make_application(session, admin, world.holder, world.product)
    # First due 2025-07-05: nothing is late yet.
    current = await make_active_loan(
        session, admin, world.holder, world.product, disbursed_on=date(2025, 6, 5)
    )
    # First due 2025-05-20, unpaid: 41 days past due on 2025-06-30.
    late = await make_active_loan(
        session,
        admin,
        second_holder,
        world.product,
        disbursed_on=date(2025, 4, 20),
        enterprise_id=enterprise.id,
    )
    # First due 2025-06-20 unpaid: 10 days past due.
    slightly_late = await make_active_loan(
        session, admin, world.holder, other_lender_product, disbursed_on=date(2025, 5, 20)
    )
    repaid = await make_active_loan(
        session, admin, world.holder, world.product, principal="1000.00", term=3
    )
    await repay(session, admin, repaid, "1040.27", date(2025, 3, 1))
    await session.commit()

    async def ids(**params: Any) -> list[int]:
        response = await as_manager.get("/api/v1/loans", **{"sort": "id", **params})
        assert response.status_code == 200, response.json()
        return [item["id"] for item in response.json()["items"]]

    assert await ids() == [submitted.id, current.id, late.id, slightly_late.id, repaid.id]
    assert await ids(in_arrears=True) == [late.id, slightly_late.id]
    assert await ids(in_arrears=False) == [submitted.id, current.id, repaid.id]
    assert await ids(min_days_past_due=10) == [late.id, slightly_late.id]
    assert await ids(min_days_past_due=11) == [late.id]
    assert await ids(min_days_past_due=41) == [late.id]
    assert await ids(min_days_past_due=42) == []
    assert await ids(min_days_past_due=0) == await ids()
    assert await ids(status="active") == [current.id, late.id, slightly_late.id]
    assert await ids(status="repaid") == [repaid.id]
    assert await ids(holder_id=second_holder.id) == [late.id]
    assert await ids(enterprise_id=enterprise.id) == [late.id]
    assert await ids(product_id=other_lender_product.id) == [slightly_late.id]
    assert await ids(lender_id=other_lender_product.lender_id) == [slightly_late.id]
    assert await ids(lender_id=world.lender.id, in_arrears=True) == [late.id]

    page = (await as_manager.get("/api/v1/loans", in_arrears="true", sort="-id", limit=1)).json()
    assert (page["total"], page["limit"], page["offset"]) == (2, 1, 0)
    item = page["items"][0]
    assert {
        key: item[key]
        for key in ("id", "days_past_due", "arrears_amount", "next_due_on", "outstanding_principal")
    } == {
        "id": slightly_late.id,
        "days_past_due": 10,
        "arrears_amount": "945.60",
        "next_due_on": "2025-07-20",
        "outstanding_principal": "10000.00",
    }
    by_principal = await ids(sort="-principal,id")
    assert by_principal[-1] == repaid.id


async def test_list_statements_do_not_grow_with_the_page(
    as_manager: Api, world: LoanWorld, session: AsyncSession, engine: AsyncEngine
) -> None:
    for day in range(1, 9):
        loan = await make_active_loan(
            session, world.admin_actor, world.holder, world.product, disbursed_on=date(2025, 1, day)
        )
        await repay(session, world.admin_actor, loan, "945.60", date(2025, 2, day))
    await session.commit()
    statements: list[str] = []

    def count(*_args: Any) -> None:
        statements.append("x")

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        await as_manager.get("/api/v1/loans", limit=2)
        small = len(statements)
        statements.clear()
        response = await as_manager.get("/api/v1/loans", limit=8)
        large = len(statements)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(response.json()["items"]) == 8
    assert large == small


async def test_figures_as_of_a_date(
    as_manager: Api, world: LoanWorld, session: AsyncSession
) -> None:
    loan = await make_active_loan(session, world.admin_actor, world.holder, world.product)
    await repay(session, world.admin_actor, loan, "945.60", date(2025, 2, 15))
    await repay(session, world.admin_actor, loan, "500.00", date(2025, 3, 20))
    await session.commit()
    url = f"/api/v1/loans/{loan.id}"

    async def figures(as_of: str | None) -> dict[str, Any]:
        params = {"as_of": as_of} if as_of else {}
        body = (await as_manager.get(url, **params)).json()
        keys = (
            "as_of",
            "outstanding_principal",
            "arrears_amount",
            "days_past_due",
            "next_due_on",
            "next_due_amount",
            "paid_principal",
            "paid_interest",
        )
        return {key: body[key] for key in keys}

    assert await figures("2025-01-14") == {
        "as_of": "2025-01-14",
        "outstanding_principal": "0.00",
        "arrears_amount": "0.00",
        "days_past_due": 0,
        "next_due_on": None,
        "next_due_amount": None,
        "paid_principal": "0.00",
        "paid_interest": "0.00",
    }
    assert await figures("2025-02-15") == {
        "as_of": "2025-02-15",
        "outstanding_principal": "9254.40",
        "arrears_amount": "0.00",
        "days_past_due": 0,
        "next_due_on": "2025-03-15",
        "next_due_amount": "945.60",
        "paid_principal": "745.60",
        "paid_interest": "200.00",
    }
    # Installment 2 (185.09 + 760.51) is overdue from 2025-03-16 until the partial payment.
    assert await figures("2025-03-19") == {
        "as_of": "2025-03-19",
        "outstanding_principal": "9254.40",
        "arrears_amount": "945.60",
        "days_past_due": 4,
        "next_due_on": "2025-04-15",
        "next_due_amount": "945.60",
        "paid_principal": "745.60",
        "paid_interest": "200.00",
    }
    # 500.00 = 185.09 interest + 314.91 principal of installment 2; today is 2025-06-30.
    assert await figures(None) == {
        "as_of": "2025-06-30",
        "outstanding_principal": "8939.49",
        "arrears_amount": "3282.40",
        "days_past_due": 107,
        "next_due_on": "2025-07-15",
        "next_due_amount": "945.60",
        "paid_principal": "1060.51",
        "paid_interest": "385.09",
    }


async def test_schedule_shows_paid_amounts_and_statuses_as_of_a_date(
    as_viewer: Api, world: LoanWorld, session: AsyncSession
) -> None:
    loan = await make_active_loan(session, world.admin_actor, world.holder, world.product)
    pending = await make_application(session, world.admin_actor, world.holder, world.product)
    await repay(session, world.admin_actor, loan, "945.60", date(2025, 2, 10))
    await repay(session, world.admin_actor, loan, "300.00", date(2025, 3, 1))
    await session.commit()

    response = await as_viewer.get(f"/api/v1/loans/{loan.id}/schedule", as_of="2025-03-20")
    assert response.status_code == 200
    body = response.json()
    assert (body["loan_id"], body["as_of"]) == (loan.id, "2025-03-20")
    first, second, third = body["installments"][:3]
    assert first == {
        "seq": 1,
        "due_on": "2025-02-15",
        "principal_due": "745.60",
        "interest_due": "200.00",
        "total_due": "945.60",
        "balance_after": "9254.40",
        "principal_paid": "745.60",
        "interest_paid": "200.00",
        "paid_off_on": "2025-02-10",
        "status": "paid",
    }
    assert (second["principal_paid"], second["interest_paid"], second["status"]) == (
        "114.91",
        "185.09",
        "overdue",
    )
    assert (third["principal_paid"], third["status"]) == ("0.00", "due")
    assert body["totals"] == {
        "principal": "10000.00",
        "interest": "1347.15",
        "total": "11347.15",
        "principal_paid": "860.51",
        "interest_paid": "385.09",
    }
    earlier = (await as_viewer.get(f"/api/v1/loans/{loan.id}/schedule", as_of="2025-03-10")).json()
    assert earlier["installments"][1]["status"] == "partially_paid"
    assert earlier["installments"][0]["status"] == "paid"
    before = (await as_viewer.get(f"/api/v1/loans/{loan.id}/schedule", as_of="2025-02-01")).json()
    assert [line["status"] for line in before["installments"][:2]] == ["due", "due"]
    assert before["installments"][0]["paid_off_on"] is None

    empty = (await as_viewer.get(f"/api/v1/loans/{pending.id}/schedule")).json()
    assert empty["installments"] == []
    assert empty["totals"]["principal"] == "0.00"


async def test_financial_records_cannot_be_changed_or_deleted(
    as_admin: Api, world: LoanWorld, session: AsyncSession, client: AsyncClient
) -> None:
    loan = await make_active_loan(session, world.admin_actor, world.holder, world.product)
    await session.commit()
    transaction_id = (
        await session.execute(select(LoanTransaction.id).where(LoanTransaction.loan_id == loan.id))
    ).scalar_one()
    base = f"/api/v1/loans/{loan.id}"
    assert (
        await as_admin.patch(f"{base}/transactions/{transaction_id}", {"amount": 1})
    ).status_code == 405
    deleted = await client.delete(f"{base}/transactions/{transaction_id}", headers=as_admin.headers)
    assert deleted.status_code == 405
    assert (await client.delete(base, headers=as_admin.headers)).status_code == 405
    assert (await as_admin.patch(f"{base}/schedule", {"seq": 1})).status_code == 405
    count = (
        await session.execute(
            select(func.count())
            .select_from(LoanTransaction)
            .where(LoanTransaction.loan_id == loan.id)
        )
    ).scalar_one()
    assert count == 1


async def test_a_centre_id_naming_no_centre_is_404_even_for_callers_who_see_every_centre(
    client: AsyncClient, as_admin: Api, world: LoanWorld, session: AsyncSession, settings: Settings
) -> None:
    national_viewer = await make_user(session, "viewer", None)
    await make_application(session, world.admin_actor, world.holder, world.product)
    await session.commit()
    for api in (as_admin, Api(client, national_viewer, settings)):
        missing = await api.get("/api/v1/loans", centre_id=999999)
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        own = await api.get("/api/v1/loans", centre_id=world.centre.id)
        assert (own.status_code, own.json()["total"]) == (200, 1)
