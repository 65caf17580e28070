"""Repayments, idempotency, backdating, reversals and write-offs through the API, on DESIGN's
worked example: 10000.00 at 24 %, 12 monthly installments of 945.60 (the last 945.55),
disbursed 2025-01-15, first due 2025-02-15; total owed 11347.15. Today is 2025-06-30."""

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import AuditEvent
from app.loans.models import Allocation, IdempotencyRecord, LoanTransaction
from tests.helpers import Api, error_fields
from tests.loans.factories import LoanWorld, make_active_loan, make_application, repay

TOTAL_OWED = "11347.15"


async def worked_example(session: AsyncSession, world: LoanWorld) -> str:
    loan = await make_active_loan(session, world.admin_actor, world.holder, world.product)
    await session.commit()
    return f"/api/v1/loans/{loan.id}"


async def repayment_count(session: AsyncSession, url: str) -> int:
    loan_id = int(url.rsplit("/", 1)[1])
    stmt = (
        select(func.count())
        .select_from(LoanTransaction)
        .where(LoanTransaction.loan_id == loan_id, LoanTransaction.kind == "repayment")
    )
    return int((await session.execute(stmt)).scalar_one())


async def test_a_repayment_is_allocated_interest_first_and_answered_with_201(
    as_adviser: Api, world: LoanWorld, session: AsyncSession
) -> None:
    url = await worked_example(session, world)
    response = await as_adviser.post(
        f"{url}/repayments", {"amount": 945.6, "paid_on": "2025-02-15", "reference": "REC-1"}
    )
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"{url}/transactions/{body['id']}"
    assert body == {
        "id": body["id"],
        "loan_id": int(url.rsplit("/", 1)[1]),
        "kind": "repayment",
        "amount": "945.60",
        "paid_on": "2025-02-15",
        "principal_portion": "745.60",
        "interest_portion": "200.00",
        "reference": "REC-1",
        "reversed": False,
    }
    loan = (await as_adviser.get(url)).json()
    assert (loan["outstanding_principal"], loan["paid_interest"]) == ("9254.40", "200.00")
    assert loan["version"] == 4  # applied, approved, disbursed, repaid: one change each
    audit_row = (
        await session.execute(
            select(AuditEvent).where(AuditEvent.entity == "loan", AuditEvent.action == "repayment")
        )
    ).scalar_one()
    assert (audit_row.entity_id, audit_row.centre_id, audit_row.actor_id) == (
        loan["id"],
        world.centre.id,
        world.adviser.id,
    )
    assert audit_row.changes["amount"] == "945.60"
    assert audit_row.changes["transaction_id"] == body["id"]


async def test_same_idempotency_key_and_body_replays_the_original_answer(
    as_adviser: Api, world: LoanWorld, session: AsyncSession
) -> None:
    url = await worked_example(session, world)
    body = {"amount": "945.60", "paid_on": "2025-02-15", "reference": "REC-7"}
    first = await as_adviser.post(f"{url}/repayments", body, **{"Idempotency-Key": "pay-001"})
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers

    # The same meaning written differently (a number instead of a string) is the same body.
    again = await as_adviser.post(
        f"{url}/repayments",
        {"paid_on": "2025-02-15", "amount": 945.6, "reference": "REC-7"},
        **{"Idempotency-Key": "pay-001"},
    )
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert again.json() == first.json()
    assert await repayment_count(session, url) == 1
    assert (await as_adviser.get(url)).json()["outstanding_principal"] == "9254.40"

    other_body = await as_adviser.post(
        f"{url}/repayments",
        {**body, "amount": "100.00"},
        **{"Idempotency-Key": "pay-001"},
    )
    assert other_body.status_code == 409
    assert await repayment_count(session, url) == 1

    # Keys are scoped to the loan.
    other_loan = await make_active_loan(session, world.admin_actor, world.holder, world.product)
    await session.commit()
    elsewhere = await as_adviser.post(
        f"/api/v1/loans/{other_loan.id}/repayments", body, **{"Idempotency-Key": "pay-001"}
    )
    assert elsewhere.status_code == 201
    assert elsewhere.json()["id"] != first.json()["id"]
    stored = (
        await session.execute(select(func.count()).select_from(IdempotencyRecord))
    ).scalar_one()
    assert stored == 2


async def test_a_replay_still_answers_after_the_payment_closed_the_loan(
    as_adviser: Api, world: LoanWorld, session: AsyncSession
) -> None:
    url = await worked_example(session, world)
    body = {"amount": TOTAL_OWED, "paid_on": "2025-03-01"}
    first = await as_adviser.post(f"{url}/repayments", body, **{"Idempotency-Key": "all"})
    assert first.status_code == 201
    assert (await as_adviser.get(url)).json()["status"] == "repaid"
    again = await as_adviser.post(f"{url}/repayments", body, **{"Idempotency-Key": "all"})
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    without_key = await as_adviser.post(f"{url}/repayments", body)
    assert without_key.status_code == 409


async def test_a_refused_request_stores_nothing_under_its_key(
    as_adviser: Api, world: LoanWorld, session: AsyncSession
) -> None:
    url = await worked_example(session, world)
    refused = await as_adviser.post(
        f"{url}/repayments",
        {"amount": "50.00", "paid_on": "2025-07-01"},
        **{"Idempotency-Key": "k"},
    )
    assert refused.status_code == 422
    accepted = await as_adviser.post(
        f"{url}/repayments",
        {"amount": "50.00", "paid_on": "2025-06-01"},
        **{"Idempotency-Key": "k"},
    )
    assert accepted.status_code == 201
    too_long = await as_adviser.post(
        f"{url}/repayments",
        {"amount": "1.00", "paid_on": "2025-06-01"},
        **{"Idempotency-Key": "x" * 201},
    )
    assert too_long.status_code == 422
    assert error_fields(too_long) == ["Idempotency-Key"]


async def test_an_amount_above_what_is_owed_is_422_stating_the_amount(
    as_adviser: Api, world: LoanWorld, session: AsyncSession
) -> None:
    url = await worked_example(session, world)
    too_much = await as_adviser.post(
        f"{url}/repayments", {"amount": "11347.16", "paid_on": "2025-02-15"}
    )
    assert too_much.status_code == 422
    assert error_fields(too_much) == ["amount"]
    assert too_much.json()["detail"] == (
        "the amount 11347.16 is above what the loan still owes: 11347.15 MAD"
    )
    assert (
        await as_adviser.post(f"{url}/repayments", {"amount": "1000.00", "paid_on": "2025-02-15"})
    ).status_code == 201
    after = await as_adviser.post(
        f"{url}/repayments", {"amount": "10347.16", "paid_on": "2025-03-15"}
    )
    assert after.status_code == 422
    assert "10347.15 MAD" in after.json()["detail"]
    assert await repayment_count(session, url) == 1


async def test_repayment_dates_and_amounts_are_validated(
    as_adviser: Api, world: LoanWorld, session: AsyncSession
) -> None:
    url = await worked_example(session, world)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"amount": "10.00", "paid_on": "2025-01-14"}, "paid_on"),
        ({"amount": "10.00", "paid_on": "2025-07-01"}, "paid_on"),
        ({"amount": "0.00", "paid_on": "2025-02-01"}, "amount"),
        ({"amount": "-5.00", "paid_on": "2025-02-01"}, "amount"),
        ({"amount": "1.005", "paid_on": "2025-02-01"}, "amount"),
        ({"amount": "abc", "paid_on": "2025-02-01"}, "amount"),
        ({"paid_on": "2025-02-01"}, "amount"),
        ({"amount": "10.00"}, "paid_on"),
    ]
    for body, field in cases:
        response = await as_adviser.post(f"{url}/repayments", body)
        assert response.status_code == 422, body
        assert error_fields(response) == [field], body
    on_disbursement_day = await as_adviser.post(
        f"{url}/repayments", {"amount": "10.00", "paid_on": "2025-01-15"}
    )
    assert on_disbursement_day.status_code == 201
    assert await repayment_count(session, url) == 1


async def test_repayments_on_a_loan_that_is_not_active_are_409(
    as_adviser: Api, world: LoanWorld, session: AsyncSession
) -> None:
    submitted = await make_application(session, world.admin_actor, world.holder, world.product)
    await session.commit()
    response = await as_adviser.post(
        f"/api/v1/loans/{submitted.id}/repayments", {"amount": "10.00", "paid_on": "2025-02-01"}
    )
    assert response.status_code == 409
    assert (
        await as_adviser.post(
            "/api/v1/loans/999999/repayments", {"amount": 1, "paid_on": "2025-02-01"}
        )
    ).status_code == 404


async def test_a_backdated_repayment_reallocates_in_date_order(
    as_adviser: Api, world: LoanWorld, session: AsyncSession
) -> None:
    url = await worked_example(session, world)
    later = (
        await as_adviser.post(f"{url}/repayments", {"amount": "945.60", "paid_on": "2025-03-15"})
    ).json()
    assert (later["principal_portion"], later["interest_portion"]) == ("745.60", "200.00")

    earlier = await as_adviser.post(
        f"{url}/repayments", {"amount": "945.60", "paid_on": "2025-02-15"}
    )
    assert earlier.status_code == 201
    assert (earlier.json()["principal_portion"], earlier.json()["interest_portion"]) == (
        "745.60",
        "200.00",
    )
    items = (await as_adviser.get(f"{url}/transactions")).json()["items"]
    assert [
        (item["kind"], item["effective_on"], item["principal_portion"], item["interest_portion"])
        for item in items
    ] == [
        ("disbursement", "2025-01-15", "10000.00", "0.00"),
        ("repayment", "2025-02-15", "745.60", "200.00"),
        ("repayment", "2025-03-15", "760.51", "185.09"),
    ]
    assert [item["id"] for item in items][1:] == [earlier.json()["id"], later["id"]]
    schedule = (await as_adviser.get(f"{url}/schedule")).json()["installments"]
    assert [(line["paid_off_on"], line["status"]) for line in schedule[:3]] == [
        ("2025-02-15", "paid"),
        ("2025-03-15", "paid"),
        (None, "overdue"),
    ]
    loan = (await as_adviser.get(url, as_of="2025-03-01")).json()
    assert (loan["outstanding_principal"], loan["days_past_due"]) == ("9254.40", 0)
    loan = (await as_adviser.get(url)).json()
    assert (loan["outstanding_principal"], loan["days_past_due"]) == ("8493.89", 76)
    allocations = (
        await session.execute(
            select(Allocation.transaction_id, Allocation.paid_on, Allocation.principal)
            .where(Allocation.loan_id == loan["id"])
            .order_by(Allocation.paid_on)
        )
    ).all()
    assert [tuple(row) for row in allocations] == [
        (earlier.json()["id"], date(2025, 2, 15), Decimal("745.60")),
        (later["id"], date(2025, 3, 15), Decimal("760.51")),
    ]


async def figures(api: Api, url: str) -> dict[str, Any]:
    """Everything about a loan that a payment can change, ids and dates of records aside."""
    loan = (await api.get(url)).json()
    loan_as_of = (await api.get(url, as_of="2025-04-01")).json()
    schedule = (await api.get(f"{url}/schedule")).json()
    keep = (
        "status",
        "closed_on",
        "outstanding_principal",
        "arrears_amount",
        "days_past_due",
        "next_due_on",
        "next_due_amount",
        "paid_principal",
        "paid_interest",
    )
    return {
        "loan": {key: loan[key] for key in keep},
        "as_of": {key: loan_as_of[key] for key in keep},
        "schedule": schedule["installments"],
        "totals": schedule["totals"],
    }


async def test_after_a_reversal_every_figure_is_as_if_the_payment_never_happened(
    as_adviser: Api, as_manager: Api, world: LoanWorld, session: AsyncSession
) -> None:
    url = await worked_example(session, world)
    twin = await worked_example(session, world)
    payments = [("945.60", "2025-02-15"), ("1200.00", "2025-03-10"), ("400.00", "2025-04-20")]
    ids = []
    for amount, paid_on in payments:
        response = await as_adviser.post(
            f"{url}/repayments", {"amount": amount, "paid_on": paid_on}
        )
        ids.append(response.json()["id"])
    for amount, paid_on in (payments[0], payments[2]):
        await as_adviser.post(f"{twin}/repayments", {"amount": amount, "paid_on": paid_on})
    before_reversal = (await as_adviser.get(f"{url}/transactions")).json()["items"][2]

    reversed_ = await as_manager.post(
        f"{url}/transactions/{ids[1]}/reverse", {"reason": "Chèque sans provision"}
    )

    assert reversed_.status_code == 200
    entry = reversed_.json()
    assert {key: entry[key] for key in entry if key not in ("id", "created_at")} == {
        "loan_id": int(url.rsplit("/", 1)[1]),
        "kind": "reversal",
        "amount": "1200.00",
        "effective_on": "2025-06-30",
        "principal_portion": before_reversal["principal_portion"],
        "interest_portion": before_reversal["interest_portion"],
        "reference": None,
        "reversed": False,
        "reverses_id": ids[1],
        "reason": "Chèque sans provision",
        "created_by": world.manager.id,
    }
    assert await figures(as_adviser, url) == await figures(as_adviser, twin)
    items = (await as_adviser.get(f"{url}/transactions")).json()["items"]
    assert [(item["kind"], item["reversed"]) for item in items] == [
        ("disbursement", False),
        ("repayment", False),
        ("repayment", True),
        ("repayment", False),
        ("reversal", False),
    ]
    twin_items = (await as_adviser.get(f"{twin}/transactions")).json()["items"]
    assert (items[3]["principal_portion"], items[3]["interest_portion"]) == (
        twin_items[2]["principal_portion"],
        twin_items[2]["interest_portion"],
    )

    again = await as_manager.post(f"{url}/transactions/{ids[1]}/reverse", {"reason": "encore"})
    assert again.status_code == 409
    disbursement_id = items[0]["id"]
    not_a_repayment = await as_manager.post(
        f"{url}/transactions/{disbursement_id}/reverse", {"reason": "x"}
    )
    assert not_a_repayment.status_code == 409
    reversal_of_reversal = await as_manager.post(
        f"{url}/transactions/{entry['id']}/reverse", {"reason": "x"}
    )
    assert reversal_of_reversal.status_code == 409
    blank = await as_manager.post(f"{url}/transactions/{ids[0]}/reverse", {"reason": " "})
    assert (blank.status_code, error_fields(blank)) == (422, ["reason"])
    foreign = twin_items[1]["id"]
    assert (
        await as_manager.post(f"{url}/transactions/{foreign}/reverse", {"reason": "x"})
    ).status_code == 404
    one = await as_adviser.get(f"{url}/transactions/{ids[1]}")
    assert (one.status_code, one.json()["reversed"]) == (200, True)
    actions = (
        await session.execute(
            select(AuditEvent.action).where(
                AuditEvent.entity == "loan", AuditEvent.entity_id == entry["loan_id"]
            )
        )
    ).scalars()
    assert list(actions).count("reversal") == 1


async def test_full_repayment_closes_the_loan_and_a_reversal_reopens_it(
    as_adviser: Api, as_manager: Api, world: LoanWorld, session: AsyncSession
) -> None:
    url = await worked_example(session, world)
    await as_adviser.post(f"{url}/repayments", {"amount": "5000.00", "paid_on": "2025-02-10"})
    last = await as_adviser.post(
        f"{url}/repayments", {"amount": "6347.15", "paid_on": "2025-04-02"}
    )
    assert last.status_code == 201
    loan = (await as_adviser.get(url)).json()
    assert {
        key: loan[key] for key in ("status", "closed_on", "outstanding_principal", "next_due_on")
    } == {
        "status": "repaid",
        "closed_on": "2025-04-02",
        "outstanding_principal": "0.00",
        "next_due_on": None,
    }
    as_of = (await as_adviser.get(url, as_of="2025-04-01")).json()
    assert as_of["outstanding_principal"] != "0.00"
    assert (
        await as_adviser.post(f"{url}/repayments", {"amount": "1.00", "paid_on": "2025-04-03"})
    ).status_code == 409
    assert (
        await as_manager.post(f"{url}/write-off", {"written_off_on": "2025-05-01", "reason": "x"})
    ).status_code == 409

    reversal = await as_manager.post(
        f"{url}/transactions/{last.json()['id']}/reverse", {"reason": "virement annulé"}
    )
    assert reversal.status_code == 200
    reopened = (await as_adviser.get(url)).json()
    assert (reopened["status"], reopened["closed_on"]) == ("active", None)
    assert reopened["outstanding_principal"] == as_of["outstanding_principal"]


async def test_write_off_records_the_principal_outstanding_at_that_date(
    as_adviser: Api, as_manager: Api, world: LoanWorld, session: AsyncSession
) -> None:
    url = await worked_example(session, world)
    await as_adviser.post(f"{url}/repayments", {"amount": "945.60", "paid_on": "2025-02-15"})
    await as_adviser.post(f"{url}/repayments", {"amount": "300.00", "paid_on": "2025-03-20"})
    cases: list[tuple[dict[str, Any], str]] = [
        ({"written_off_on": "2025-07-01", "reason": "x"}, "written_off_on"),
        ({"written_off_on": "2025-01-14", "reason": "x"}, "written_off_on"),
        ({"written_off_on": "2025-03-19", "reason": "x"}, "written_off_on"),
        ({"written_off_on": "2025-05-01", "reason": "  "}, "reason"),
        ({"written_off_on": "2025-05-01"}, "reason"),
    ]
    for body, field in cases:
        response = await as_manager.post(f"{url}/write-off", body)
        assert response.status_code == 422, body
        assert error_fields(response) == [field], body

    response = await as_manager.post(
        f"{url}/write-off", {"written_off_on": "2025-05-01", "reason": "Activité arrêtée"}
    )

    assert response.status_code == 200
    loan = response.json()
    # Principal repaid: 745.60 + (300.00 - 185.09) = 860.51.
    assert {
        key: loan[key]
        for key in (
            "status",
            "written_off_on",
            "written_off_amount",
            "write_off_reason",
            "closed_on",
            "outstanding_principal",
            "arrears_amount",
            "days_past_due",
            "next_due_on",
        )
    } == {
        "status": "written_off",
        "written_off_on": "2025-05-01",
        "written_off_amount": "9139.49",
        "write_off_reason": "Activité arrêtée",
        "closed_on": None,
        "outstanding_principal": "0.00",
        "arrears_amount": "0.00",
        "days_past_due": 0,
        "next_due_on": None,
    }
    before = (await as_manager.get(url, as_of="2025-04-30")).json()
    assert (before["outstanding_principal"], before["days_past_due"]) == ("9139.49", 46)
    on_write_off = (await as_manager.get(url, as_of="2025-05-01")).json()
    assert (
        on_write_off["outstanding_principal"],
        on_write_off["arrears_amount"],
        on_write_off["days_past_due"],
        on_write_off["next_due_on"],
    ) == ("0.00", "0.00", 0, None)
    items = (await as_manager.get(f"{url}/transactions")).json()["items"]
    assert {key: items[-1][key] for key in ("kind", "amount", "effective_on", "reason")} == {
        "kind": "write_off",
        "amount": "9139.49",
        "effective_on": "2025-05-01",
        "reason": "Activité arrêtée",
    }
    assert (
        await as_manager.post(f"{url}/write-off", {"written_off_on": "2025-05-01", "reason": "x"})
    ).status_code == 409
    assert (
        await as_adviser.post(f"{url}/repayments", {"amount": "10.00", "paid_on": "2025-06-01"})
    ).status_code == 409
    assert (
        await as_manager.post(f"{url}/transactions/{items[1]['id']}/reverse", {"reason": "x"})
    ).status_code == 409
    filtered = (await as_manager.get("/api/v1/loans", status="written_off")).json()
    assert [item["id"] for item in filtered["items"]] == [loan["id"]]
    actions = (
        await session.execute(
            select(AuditEvent.action, AuditEvent.centre_id).where(
                AuditEvent.entity == "loan", AuditEvent.entity_id == loan["id"]
            )
        )
    ).all()
    assert ("write_off", world.centre.id) in [tuple(row) for row in actions]


async def test_transactions_are_ordered_by_effective_date_then_id_in_an_envelope(
    as_adviser: Api, world: LoanWorld, session: AsyncSession
) -> None:
    loan = await make_active_loan(session, world.admin_actor, world.holder, world.product)
    second = await repay(session, world.admin_actor, loan, "100.00", date(2025, 4, 1))
    first = await repay(session, world.admin_actor, loan, "100.00", date(2025, 3, 1))
    third = await repay(session, world.admin_actor, loan, "100.00", date(2025, 4, 1))
    await session.commit()
    page = (await as_adviser.get(f"/api/v1/loans/{loan.id}/transactions", limit=2, offset=1)).json()
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
    assert [item["id"] for item in page["items"]] == [first, second]
    rest = (await as_adviser.get(f"/api/v1/loans/{loan.id}/transactions", offset=3)).json()
    assert [item["id"] for item in rest["items"]] == [third]
    item = rest["items"][0]
    assert set(item) == {
        "id",
        "loan_id",
        "kind",
        "amount",
        "effective_on",
        "principal_portion",
        "interest_portion",
        "reference",
        "reversed",
        "reverses_id",
        "reason",
        "created_at",
        "created_by",
    }
    assert item["created_by"] == world.admin.id
    assert item["created_at"].endswith("Z") or item["created_at"].endswith("+00:00")


async def test_a_backdated_payment_completing_the_loan_closes_it_on_the_latest_payment_date(
    as_adviser: Api, world: LoanWorld, session: AsyncSession
) -> None:
    """1000.00 at 24 % over 3 months (346.75, 346.75, 346.77; 1040.27 in all). 100.00 paid on
    2025-05-01 is entered first, then 940.27 backdated to 2025-03-01: replayed in date order,
    the 2025-05-01 payment completes the last installment, so the loan closes on that date
    although it was not the payment entered last."""
    loan = await make_active_loan(
        session, world.admin_actor, world.holder, world.product, principal="1000.00", term=3
    )
    await session.commit()
    url = f"/api/v1/loans/{loan.id}"
    later = await as_adviser.post(
        f"{url}/repayments", {"amount": "100.00", "paid_on": "2025-05-01"}
    )
    assert (later.json()["principal_portion"], later.json()["interest_portion"]) == (
        "80.00",
        "20.00",
    )
    backdated = await as_adviser.post(
        f"{url}/repayments", {"amount": "940.27", "paid_on": "2025-03-01"}
    )
    assert backdated.status_code == 201
    assert (backdated.json()["principal_portion"], backdated.json()["interest_portion"]) == (
        "900.00",
        "40.27",
    )

    keys = ("status", "closed_on", "outstanding_principal", "arrears_amount", "days_past_due")
    loan_now = (await as_adviser.get(url)).json()
    assert {key: loan_now[key] for key in keys} == {
        "status": "repaid",
        "closed_on": "2025-05-01",
        "outstanding_principal": "0.00",
        "arrears_amount": "0.00",
        "days_past_due": 0,
    }
    # The day before, the last installment (due 2025-04-15) still lacked 100.00 of principal.
    day_before = (await as_adviser.get(url, as_of="2025-04-30")).json()
    assert {key: day_before[key] for key in keys[2:]} == {
        "outstanding_principal": "100.00",
        "arrears_amount": "100.00",
        "days_past_due": 15,
    }
    on_closing = (await as_adviser.get(url, as_of="2025-05-01")).json()
    assert {key: on_closing[key] for key in keys[2:]} == {
        "outstanding_principal": "0.00",
        "arrears_amount": "0.00",
        "days_past_due": 0,
    }
    schedule = (await as_adviser.get(f"{url}/schedule")).json()["installments"]
    assert [line["paid_off_on"] for line in schedule] == ["2025-03-01", "2025-03-01", "2025-05-01"]
    transactions = (await as_adviser.get(f"{url}/transactions")).json()["items"]
    assert [(item["effective_on"], item["principal_portion"]) for item in transactions[1:]] == [
        ("2025-03-01", "900.00"),
        ("2025-05-01", "100.00"),
    ]


async def test_transactions_take_a_whitelisted_sort_like_every_collection(
    as_adviser: Api, world: LoanWorld, session: AsyncSession
) -> None:
    loan = await make_active_loan(session, world.admin_actor, world.holder, world.product)
    later = await repay(session, world.admin_actor, loan, "100.00", date(2025, 4, 1))
    earlier = await repay(session, world.admin_actor, loan, "100.00", date(2025, 3, 1))
    await session.commit()
    url = f"/api/v1/loans/{loan.id}/transactions"

    newest_first = await as_adviser.get(url, sort="-effective_on")
    assert newest_first.status_code == 200
    items = newest_first.json()["items"]
    assert [item["id"] for item in items[:2]] == [later, earlier]
    assert items[-1]["kind"] == "disbursement"
    by_id = (await as_adviser.get(url, sort="id")).json()["items"]
    assert [item["id"] for item in by_id][1:] == [later, earlier]

    unknown = await as_adviser.get(url, sort="amount")
    assert unknown.status_code == 422
    assert error_fields(unknown) == ["sort"]
