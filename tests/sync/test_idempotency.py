"""`Idempotency-Key` on every creating or acting POST: a retry replays the first answer and
has no second effect; another body under the same key is 409."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import AuditEvent
from app.core.db import utcnow
from app.core.idempotency import IdempotentRequest
from app.loans import lifecycle
from app.loans import repayments as loan_repayments
from app.users.service import actor_of
from tests.helpers import Api, auth
from tests.sync.factories import (
    FieldWorld,
    LiveApp,
    enterprise_body,
    field_day,
    follow_up_body,
    holder_body,
    loan_body,
    make_field_world,
    make_other_adviser,
    repayment_body,
    session_body,
)

Setup = Callable[[AsyncSession, FieldWorld], Awaitable[tuple[str, dict[str, Any], dict[str, Any]]]]


@dataclass(frozen=True)
class Case:
    """An idempotent operation: who sends it, and its URL, body and another body."""

    name: str
    role: str
    setup: Setup


async def holders(_s: AsyncSession, w: FieldWorld) -> tuple[str, dict[str, Any], dict[str, Any]]:
    body = holder_body()
    return "/api/v1/holders", body, {**body, "first_name": "Salma"}


async def enterprises(
    _s: AsyncSession, w: FieldWorld
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    body = enterprise_body(w.holder.id)
    return "/api/v1/enterprises", body, {**body, "jobs_at_creation": 3}


async def sessions(_s: AsyncSession, w: FieldWorld) -> tuple[str, dict[str, Any], dict[str, Any]]:
    body = session_body(w.holder.id)
    return "/api/v1/coaching-sessions", body, {**body, "duration_minutes": 90}


async def follow_ups(_s: AsyncSession, w: FieldWorld) -> tuple[str, dict[str, Any], dict[str, Any]]:
    body = follow_up_body(w.enterprise.id)
    return "/api/v1/follow-ups", body, {**body, "monthly_revenue": "9000.00"}


async def loans(_s: AsyncSession, w: FieldWorld) -> tuple[str, dict[str, Any], dict[str, Any]]:
    body = loan_body(w.holder.id, w.product_id)
    return "/api/v1/loans", body, {**body, "principal": "9000.00"}


async def approve(_s: AsyncSession, w: FieldWorld) -> tuple[str, dict[str, Any], dict[str, Any]]:
    day = field_day()
    return (
        f"/api/v1/loans/{w.application.id}/approve",
        {"approved_on": day.isoformat()},
        {"approved_on": (day - timedelta(days=1)).isoformat()},
    )


async def reject(_s: AsyncSession, w: FieldWorld) -> tuple[str, dict[str, Any], dict[str, Any]]:
    return (
        f"/api/v1/loans/{w.application.id}/reject",
        {"reason": "Debt ratio too high"},
        {"reason": "Incomplete file"},
    )


async def disburse(s: AsyncSession, w: FieldWorld) -> tuple[str, dict[str, Any], dict[str, Any]]:
    day = field_day()
    await lifecycle.approve_loan(
        s, actor_of(w.admin), w.application.id, approved_on=day - timedelta(days=5), today=day
    )
    await s.commit()
    return (
        f"/api/v1/loans/{w.application.id}/disburse",
        {"disbursed_on": day.isoformat()},
        {"disbursed_on": (day - timedelta(days=1)).isoformat()},
    )


async def write_off(_s: AsyncSession, w: FieldWorld) -> tuple[str, dict[str, Any], dict[str, Any]]:
    body = {"written_off_on": field_day().isoformat(), "reason": "Enterprise closed"}
    return f"/api/v1/loans/{w.active_loan.id}/write-off", body, {**body, "reason": "Moved away"}


async def repayments(_s: AsyncSession, w: FieldWorld) -> tuple[str, dict[str, Any], dict[str, Any]]:
    return (
        f"/api/v1/loans/{w.active_loan.id}/repayments",
        repayment_body("250.00"),
        repayment_body("25.00"),
    )


async def reverse(s: AsyncSession, w: FieldWorld) -> tuple[str, dict[str, Any], dict[str, Any]]:
    day = field_day()
    outcome = await loan_repayments.record_repayment(
        s,
        actor_of(w.admin),
        w.active_loan.id,
        loan_repayments.NewRepayment(amount=Decimal("300.00"), paid_on=day, reference=None),
        today=day,
    )
    await s.commit()
    return (
        f"/api/v1/loans/{w.active_loan.id}/transactions/{outcome.id}/reverse",
        {"reason": "Cheque returned unpaid"},
        {"reason": "Entered twice"},
    )


CASES = [
    Case("holders", "adviser", holders),
    Case("enterprises", "adviser", enterprises),
    Case("coaching-sessions", "adviser", sessions),
    Case("follow-ups", "adviser", follow_ups),
    Case("loans", "adviser", loans),
    Case("approve", "manager", approve),
    Case("reject", "manager", reject),
    Case("disburse", "adviser", disburse),
    Case("write-off", "manager", write_off),
    Case("repayments", "adviser", repayments),
    Case("reverse", "manager", reverse),
]


async def audit_count(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(AuditEvent))).scalar_one()


def api_for(role: str, as_adviser: Api, as_manager: Api) -> Api:
    return as_adviser if role == "adviser" else as_manager


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_a_retry_replays_the_first_answer_and_another_body_is_409(
    case: Case, world: FieldWorld, session: AsyncSession, as_adviser: Api, as_manager: Api
) -> None:
    api = api_for(case.role, as_adviser, as_manager)
    url, body, other = await case.setup(session, world)
    before = await audit_count(session)

    first = await api.post(url, body, **{"Idempotency-Key": "field-1"})
    assert first.status_code in (200, 201), first.json()
    assert "idempotent-replayed" not in first.headers
    after_first = await audit_count(session)
    assert after_first > before

    again = await api.post(url, body, **{"Idempotency-Key": "field-1"})
    assert again.status_code == first.status_code
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    for header in ("location", "etag"):
        assert again.headers.get(header) == first.headers.get(header)
    assert await audit_count(session) == after_first

    conflict = await api.post(url, other, **{"Idempotency-Key": "field-1"})
    assert conflict.status_code == 409
    assert conflict.headers["content-type"] == "application/problem+json"
    assert "different request body" in conflict.json()["detail"]
    assert await audit_count(session) == after_first

    stored = (
        await session.execute(select(func.count()).select_from(IdempotentRequest))
    ).scalar_one()
    assert stored == 1


async def test_a_key_is_scoped_to_the_user_and_the_path(
    world: FieldWorld, session: AsyncSession, as_adviser: Api, client: Any, settings: Any
) -> None:
    colleague = Api(client, await make_other_adviser(session, world), settings)
    await session.commit()
    body = session_body(world.holder.id)
    mine = await as_adviser.post("/api/v1/coaching-sessions", body, **{"Idempotency-Key": "k"})
    theirs = await colleague.post("/api/v1/coaching-sessions", body, **{"Idempotency-Key": "k"})
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    # The same key on another path is another key too.
    holder = await as_adviser.post("/api/v1/holders", holder_body(), **{"Idempotency-Key": "k"})
    assert holder.status_code == 201
    assert "idempotent-replayed" not in holder.headers


async def test_a_refused_request_stores_nothing_and_its_key_can_be_reused(
    world: FieldWorld, session: AsyncSession, as_adviser: Api
) -> None:
    body = session_body(world.holder.id, duration_minutes=0)
    refused = await as_adviser.post("/api/v1/coaching-sessions", body, **{"Idempotency-Key": "r"})
    assert refused.status_code == 422
    out_of_scope = session_body(world.elsewhere_holder.id)
    hidden = await as_adviser.post(
        "/api/v1/coaching-sessions", out_of_scope, **{"Idempotency-Key": "r"}
    )
    assert hidden.status_code == 422
    accepted = await as_adviser.post(
        "/api/v1/coaching-sessions", session_body(world.holder.id), **{"Idempotency-Key": "r"}
    )
    assert accepted.status_code == 201
    assert "idempotent-replayed" not in accepted.headers


async def test_an_expired_key_is_forgotten_and_purged(
    world: FieldWorld, session: AsyncSession, as_adviser: Api
) -> None:
    body = holder_body()
    first = await as_adviser.post("/api/v1/holders", body, **{"Idempotency-Key": "old"})
    assert first.status_code == 201
    second = await as_adviser.post("/api/v1/holders", holder_body(), **{"Idempotency-Key": "x"})
    assert second.status_code == 201
    await session.execute(
        update(IdempotentRequest).values(created_at=utcnow() - timedelta(hours=25))
    )
    await session.commit()

    # The same key after the TTL is a new request (here a duplicate CIN: 409, not a replay).
    again = await as_adviser.post("/api/v1/holders", body, **{"Idempotency-Key": "old"})
    assert again.status_code == 409
    assert "idempotent-replayed" not in again.headers
    # One in ten new keys purges the expired ones.
    fresh = [f"new-{n}" for n in range(10)]
    for key in fresh:
        created = await as_adviser.post(
            "/api/v1/coaching-sessions", session_body(world.holder.id), **{"Idempotency-Key": key}
        )
        assert created.status_code == 201
    keys = (await session.execute(select(IdempotentRequest.key))).scalars().all()
    assert sorted(keys) == fresh


async def test_the_openapi_document_shows_the_header_on_each_operation(client: Any) -> None:
    document = (await client.get("/openapi.json")).json()
    paths = {
        "/api/v1/holders": "post",
        "/api/v1/enterprises": "post",
        "/api/v1/coaching-sessions": "post",
        "/api/v1/follow-ups": "post",
        "/api/v1/loans": "post",
        "/api/v1/loans/{loan_id}/approve": "post",
        "/api/v1/loans/{loan_id}/reject": "post",
        "/api/v1/loans/{loan_id}/disburse": "post",
        "/api/v1/loans/{loan_id}/write-off": "post",
        "/api/v1/loans/{loan_id}/repayments": "post",
        "/api/v1/loans/{loan_id}/transactions/{transaction_id}/reverse": "post",
    }
    for path, method in paths.items():
        parameters = document["paths"][path][method].get("parameters", [])
        headers = [p for p in parameters if p["in"] == "header"]
        assert [p["name"] for p in headers] == ["Idempotency-Key"], path
        assert "IDEMPOTENCY_TTL_HOURS" in headers[0]["description"]
    preview = document["paths"]["/api/v1/loans/schedule-preview"]["post"]
    assert not [p for p in preview.get("parameters", []) if p["name"] == "Idempotency-Key"]


async def send_at_once(
    live: LiveApp, case: Case, key: str | None, times: int
) -> tuple[int, list[Any]]:
    """A fresh world, then the case's request sent `times` times concurrently (with the same
    key, or none); returns the audit rows it added and the responses."""
    async with live.sessionmaker() as session:
        world = await make_field_world(session)
        await session.commit()
        url, body, _other = await case.setup(session, world)
        user = world.adviser if case.role == "adviser" else world.manager
        before = await audit_count(session)
    transport = ASGITransport(app=live.app)
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        headers = auth(user, live.settings)
        if key is not None:
            headers["Idempotency-Key"] = key
        responses = await asyncio.gather(
            *(client.post(url, json=body, headers=headers) for _ in range(times))
        )
    async with live.sessionmaker() as session:
        return await audit_count(session) - before, list(responses)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_two_concurrent_sends_with_one_key_have_one_effect_on_postgresql(
    case: Case, live_postgres: LiveApp
) -> None:
    single_effect, [alone] = await send_at_once(live_postgres, case, key=None, times=1)
    assert alone.status_code in (200, 201), alone.json()

    effect, responses = await send_at_once(live_postgres, case, key="at-once", times=2)

    assert effect == single_effect > 0
    statuses = sorted(r.status_code for r in responses)
    done = [r for r in responses if r.status_code == alone.status_code]
    assert statuses in ([alone.status_code, 409], [alone.status_code] * 2), statuses
    originals = [r for r in done if "idempotent-replayed" not in r.headers]
    assert len(originals) == 1
    for response in done:
        assert response.json() == originals[0].json()
    for response in responses:
        if response.status_code == 409:
            assert "same time" in response.json()["detail"]
