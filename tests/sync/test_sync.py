"""`POST /api/v1/sync`: a day's queued field work, run in order, each operation as its single
call; sent twice, each effect once."""

from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.coaching.models import CoachingSession
from app.core.audit import AuditEvent
from app.enterprises.models import Enterprise
from app.followups.models import FollowUp
from app.holders.models import Holder
from app.loans.models import LoanStatus, LoanTransaction, TransactionKind
from tests.helpers import Api
from tests.sync.factories import (
    FieldWorld,
    enterprise_body,
    follow_up_body,
    holder_body,
    operation,
    repayment_body,
    send_batch,
    session_body,
)


async def count(session: AsyncSession, model: Any) -> int:
    return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def repayment_count(session: AsyncSession, loan_id: int) -> int:
    stmt = select(func.count()).where(
        LoanTransaction.loan_id == loan_id, LoanTransaction.kind == TransactionKind.repayment
    )
    return (await session.execute(stmt)).scalar_one()


async def effects(session: AsyncSession, world: FieldWorld) -> dict[str, int]:
    return {
        "holders": await count(session, Holder),
        "sessions": await count(session, CoachingSession),
        "enterprises": await count(session, Enterprise),
        "follow_ups": await count(session, FollowUp),
        "repayments": await repayment_count(session, world.active_loan.id),
        "audit": await count(session, AuditEvent),
    }


def offline_day(world: FieldWorld, tag: str = "") -> list[dict[str, Any]]:
    loan = world.active_loan.id
    return [
        operation("h", "/api/v1/holders", holder_body(), key=f"{tag}h"),
        operation("s", "/api/v1/coaching-sessions", session_body("$ref:h.id"), key=f"{tag}s"),
        operation("e", "/api/v1/enterprises", enterprise_body("$ref:h.id"), key=f"{tag}e"),
        operation("f", "/api/v1/follow-ups", follow_up_body("$ref:e.id"), key=f"{tag}f"),
        operation("r", f"/api/v1/loans/{loan}/repayments", repayment_body("120.00"), key=f"{tag}r"),
    ]


async def audit_trail(session: AsyncSession, after_id: int) -> list[tuple[Any, ...]]:
    rows = (
        (await session.execute(select(AuditEvent).where(AuditEvent.id > after_id))).scalars().all()
    )
    return [(r.entity, r.action, r.actor_id, r.centre_id, tuple(sorted(r.changes))) for r in rows]


async def last_audit_id(session: AsyncSession) -> int:
    return (await session.execute(select(func.coalesce(func.max(AuditEvent.id), 0)))).scalar_one()


async def test_an_offline_day_goes_in_once_however_often_it_is_sent(
    world: FieldWorld, session: AsyncSession, as_adviser: Api
) -> None:
    before = await effects(session, world)
    operations = offline_day(world)

    first = await send_batch(as_adviser, operations)
    assert first.status_code == 200, first.json()
    results = first.json()["results"]
    assert [r["ref"] for r in results] == ["h", "s", "e", "f", "r"]
    assert [r["status"] for r in results] == [201] * 5, results
    holder_id = results[0]["body"]["id"]
    assert results[0]["location"] == f"/api/v1/holders/{holder_id}"
    assert results[0]["etag"] == '"1"'
    assert results[1]["body"]["holder_ids"] == [holder_id]
    assert results[2]["body"]["owner_ids"] == [holder_id]
    assert results[3]["body"]["enterprise_id"] == results[2]["body"]["id"]
    assert results[4]["body"]["amount"] == "120.00"
    after = await effects(session, world)
    for name in ("holders", "sessions", "enterprises", "follow_ups", "repayments"):
        assert after[name] == before[name] + 1, name
    holder = (await session.execute(select(Holder).where(Holder.id == holder_id))).scalar_one()
    assert holder.centre_id == world.centre.id

    again = await send_batch(as_adviser, operations)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert await effects(session, world) == after


async def test_each_operation_is_audited_as_its_single_call_would_be(
    world: FieldWorld, session: AsyncSession, as_adviser: Api
) -> None:
    start = await last_audit_id(session)
    batch = await send_batch(as_adviser, offline_day(world, "batch-"))
    assert [r["status"] for r in batch.json()["results"]] == [201] * 5
    middle = await last_audit_id(session)
    by_batch = await audit_trail(session, start)

    holder = await as_adviser.post("/api/v1/holders", holder_body())
    holder_id = holder.json()["id"]
    await as_adviser.post("/api/v1/coaching-sessions", session_body(holder_id))
    enterprise = await as_adviser.post("/api/v1/enterprises", enterprise_body(holder_id))
    await as_adviser.post("/api/v1/follow-ups", follow_up_body(enterprise.json()["id"]))
    await as_adviser.post(
        f"/api/v1/loans/{world.active_loan.id}/repayments", repayment_body("120.00")
    )
    by_single_calls = await audit_trail(session, middle)
    assert by_batch
    assert Counter(by_batch) == Counter(by_single_calls)


async def test_mixed_outcomes_each_get_their_own_result(
    world: FieldWorld, session: AsyncSession, as_adviser: Api
) -> None:
    before = await effects(session, world)
    operations = [
        operation("ok-holder", "/api/v1/holders", holder_body()),
        operation(
            "hidden",
            f"/api/v1/holders/{world.elsewhere_holder.id}",
            {"phone": "+212612345678"},
            method="PATCH",
        ),
        operation("bad", "/api/v1/holders", holder_body(birth_date="1950-01-01")),
        operation("bad-session", "/api/v1/coaching-sessions", session_body("$ref:bad.id")),
        operation("chained", "/api/v1/follow-ups", follow_up_body("$ref:bad-session.id")),
        operation("ok-session", "/api/v1/coaching-sessions", session_body("$ref:ok-holder.id")),
    ]
    response = await send_batch(as_adviser, operations)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 404, 422, 424, 424, 201]
    assert results[2]["body"]["errors"][0]["field"] == "birth_date"
    for dependent in results[3:5]:
        assert dependent["body"]["status"] == 424
        assert dependent["body"]["title"] == "Failed dependency"
    assert "'bad'" in results[3]["body"]["detail"]
    assert "'bad-session'" in results[4]["body"]["detail"]
    after = await effects(session, world)
    assert after["holders"] == before["holders"] + 1
    assert after["sessions"] == before["sessions"] + 1
    assert after["follow_ups"] == before["follow_ups"]


async def test_an_advisers_batch_cannot_approve_a_loan(
    world: FieldWorld, session: AsyncSession, as_adviser: Api
) -> None:
    before = await effects(session, world)
    response = await send_batch(
        as_adviser,
        [
            operation("h", "/api/v1/holders", holder_body()),
            operation("approve", f"/api/v1/loans/{world.application.id}/approve", {}),
            operation("s", "/api/v1/coaching-sessions", session_body("$ref:h.id")),
        ],
    )
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 403, 201]
    assert results[1]["body"]["title"] == "Forbidden"
    await session.refresh(world.application)
    assert world.application.status == LoanStatus.submitted
    after = await effects(session, world)
    assert (after["holders"], after["sessions"]) == (before["holders"] + 1, before["sessions"] + 1)


async def test_a_stale_if_match_is_412_with_the_current_version(
    world: FieldWorld, as_adviser: Api
) -> None:
    path = f"/api/v1/holders/{world.holder.id}"
    current = await as_adviser.get(path)
    etag = current.headers["etag"]
    change = {"phone": "+212612345678"}
    batch = [
        {**operation("fresh", path, change, method="PATCH"), "if_match": etag},
        {
            **operation("stale", path, {"phone": "+212699999999"}, method="PATCH"),
            "if_match": etag,
        },
    ]
    response = await send_batch(as_adviser, batch)
    fresh, stale = response.json()["results"]
    assert fresh["status"] == 200
    assert fresh["body"]["phone"] == "+212612345678"
    assert stale["status"] == 412
    assert stale["etag"] == fresh["etag"] != etag
    reloaded = await as_adviser.get(path)
    assert reloaded.json()["phone"] == "+212612345678"

    # Resent whole (the first answer was lost): the change is replayed, not refused as stale.
    again = await send_batch(as_adviser, batch)
    assert again.json()["results"][0] == fresh
    assert (await as_adviser.get(path)).json()["version"] == reloaded.json()["version"]


async def assert_refused_and_nothing_written(
    api: Api, session: AsyncSession, world: FieldWorld, body: Any, field: str
) -> None:
    before = await effects(session, world)
    response = await api.post("/api/v1/sync", body)
    assert response.status_code == 422, response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert any(e["field"].startswith(field) for e in response.json()["errors"]), response.json()
    assert await effects(session, world) == before


async def test_a_malformed_batch_is_422_and_runs_nothing(
    world: FieldWorld, session: AsyncSession, as_adviser: Api
) -> None:
    valid = operation("h", "/api/v1/holders", holder_body())
    cases: list[tuple[Any, str]] = [
        (
            {
                "operations": [valid]
                + [operation(f"x{i}", "/api/v1/holders", holder_body()) for i in range(500)]
            },
            "operations",
        ),
        ({"operations": [valid, {**valid, "idempotency_key": "other"}]}, "operations.1.ref"),
        ({"operations": [valid, operation("u", "/api/v1/nowhere", {})]}, "operations.1.path"),
        (
            {
                "operations": [
                    valid,
                    operation("a", f"/api/v1/holders/{world.holder.id}/anonymise", None),
                ]
            },
            "operations.1.path",
        ),
        ({"operations": [valid, operation("q", "/api/v1/holders?x=1", {})]}, "operations.1.path"),
        (
            {"operations": [valid, {**operation("d", "/api/v1/holders", {}), "method": "DELETE"}]},
            "operations.1.method",
        ),
        (
            {
                "operations": [
                    operation("s", "/api/v1/coaching-sessions", session_body("$ref:h.id")),
                    valid,
                ]
            },
            "operations.0",
        ),
        ({"operations": valid}, "operations"),
        ({"operations": []}, "operations"),
    ]
    for body, field in cases:
        await assert_refused_and_nothing_written(as_adviser, session, world, body, field)


async def test_a_batch_needs_a_token(client: Any) -> None:
    response = await client.post("/api/v1/sync", json={"operations": []})
    assert response.status_code == 401
