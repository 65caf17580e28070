"""Coaching sessions over HTTP: fields, rules, attendance, permissions, filters, audit."""

from datetime import date, timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.coaching.models import SessionParticipant
from app.core.audit import AuditEvent
from app.users.models import User
from tests.coaching.factories import make_coaching_session
from tests.coaching.world import URL, World, body
from tests.helpers import error_fields


async def test_adviser_logs_an_individual_session(
    client: AsyncClient, session: AsyncSession, world: World
) -> None:
    w = world
    response = await client.post(
        URL,
        headers=w.h(w.adviser),
        json=body(
            w,
            enterprise_id=w.enterprise.id,
            notes="Prix à revoir",
            next_steps="Visiter trois fournisseurs",
        ),
    )

    assert response.status_code == 201
    created = response.json()
    assert response.headers["location"] == f"{URL}/{created['id']}"
    assert response.headers["etag"] == '"1"'
    assert {k: v for k, v in created.items() if k not in ("id", "created_at", "updated_at")} == {
        "centre_id": w.centre_id,
        "adviser_id": w.adviser.id,
        "kind": "advice",
        "format": "individual",
        "mode": "in_person",
        "held_on": "2025-03-12",
        "duration_minutes": 90,
        "topic": "Étude de marché / دراسة السوق",
        "notes": "Prix à revoir",
        "next_steps": "Visiter trois fournisseurs",
        "holder_ids": [w.holders[0].id],
        "participants": [{"holder_id": w.holders[0].id, "attendance": "present"}],
        "enterprise_id": w.enterprise.id,
        "version": 1,
    }
    event_row = (
        await session.execute(
            select(AuditEvent).where(
                AuditEvent.entity == "coaching_session", AuditEvent.entity_id == created["id"]
            )
        )
    ).scalar_one()
    assert (event_row.action, event_row.actor_id, event_row.centre_id) == (
        "create",
        w.adviser.id,
        w.centre_id,
    )
    assert event_row.changes["participants"] == [
        {"holder_id": w.holders[0].id, "attendance": "present"}
    ]

    again = await client.get(f"{URL}/{created['id']}", headers=w.h(w.viewer))
    assert again.status_code == 200
    assert again.json() == created
    assert again.headers["etag"] == '"1"'


async def test_group_training_records_attendance(
    client: AsyncClient, session: AsyncSession, world: World
) -> None:
    w = world
    ids = sorted(h.id for h in w.holders)
    response = await client.post(
        URL,
        headers=w.h(w.adviser),
        json=body(
            w,
            kind="training",
            format="group",
            duration_minutes=180,
            holder_ids=list(reversed(ids)),
            participants=[{"holder_id": ids[1], "attendance": "absent"}],
        ),
    )

    assert response.status_code == 201
    created = response.json()
    assert created["holder_ids"] == ids
    assert created["participants"] == [
        {"holder_id": ids[0], "attendance": "present"},
        {"holder_id": ids[1], "attendance": "absent"},
        {"holder_id": ids[2], "attendance": "present"},
    ]
    stored = (
        await session.execute(
            select(SessionParticipant.holder_id, SessionParticipant.attendance)
            .where(SessionParticipant.session_id == created["id"])
            .order_by(SessionParticipant.holder_id)
        )
    ).all()
    assert [tuple(r) for r in stored] == [
        (ids[0], "present"),
        (ids[1], "absent"),
        (ids[2], "present"),
    ]


async def test_participants_alone_name_the_holders(client: AsyncClient, world: World) -> None:
    w = world
    a, b = w.holders[0].id, w.holders[1].id
    payload = body(
        w,
        format="group",
        participants=[
            {"holder_id": b, "attendance": "absent"},
            {"holder_id": a, "attendance": "present"},
        ],
    )
    del payload["holder_ids"]
    response = await client.post(URL, headers=w.h(w.adviser), json=payload)
    assert response.status_code == 201
    assert response.json()["holder_ids"] == sorted([a, b])
    expected = {a: "present", b: "absent"}
    assert response.json()["participants"] == [
        {"holder_id": h, "attendance": expected[h]} for h in sorted(expected)
    ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"holder_ids": []}, "holder_ids"),
        ({"holder_ids": None}, "holder_ids"),
        ({"kind": "coaching"}, "kind"),
        ({"format": "pair"}, "format"),
        ({"mode": "letter"}, "mode"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": 601}, "duration_minutes"),
        ({"topic": "   "}, "topic"),
        ({"held_on": "2025-02-30"}, "held_on"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_schema_rules_are_422(
    client: AsyncClient, world: World, overrides: dict[str, Any], field: str
) -> None:
    response = await client.post(URL, headers=world.h(world.adviser), json=body(world, **overrides))
    assert response.status_code == 422
    assert field in error_fields(response)


async def test_missing_required_fields_are_named(client: AsyncClient, world: World) -> None:
    response = await client.post(URL, headers=world.h(world.adviser), json={})
    assert response.status_code == 422
    assert set(error_fields(response)) == {
        "kind",
        "format",
        "mode",
        "held_on",
        "duration_minutes",
        "topic",
    }


async def test_duration_bounds_are_inclusive(client: AsyncClient, world: World) -> None:
    for minutes in (1, 600):
        response = await client.post(
            URL, headers=world.h(world.adviser), json=body(world, duration_minutes=minutes)
        )
        assert response.status_code == 201
        assert response.json()["duration_minutes"] == minutes


async def test_held_on_today_is_accepted_and_tomorrow_refused(
    client: AsyncClient, world: World
) -> None:
    today = world.settings.today()
    ok = await client.post(
        URL, headers=world.h(world.adviser), json=body(world, held_on=today.isoformat())
    )
    assert ok.status_code == 201
    late = await client.post(
        URL,
        headers=world.h(world.adviser),
        json=body(world, held_on=(today + timedelta(days=1)).isoformat()),
    )
    assert late.status_code == 422
    assert error_fields(late) == ["held_on"]


async def test_business_rules_name_the_field(client: AsyncClient, world: World) -> None:
    w = world
    a, b = w.holders[0].id, w.holders[1].id
    cases: list[tuple[dict[str, Any], str]] = [
        ({"holder_ids": [a, b]}, "holder_ids"),  # individual with two holders
        ({"holder_ids": [a, a], "format": "group"}, "holder_ids"),  # repeated holder
        ({"holder_ids": [w.outsider.id]}, "holder_ids"),  # another centre's holder
        ({"holder_ids": [a, w.outsider.id], "format": "group"}, "holder_ids"),
        ({"holder_ids": [999_999]}, "holder_ids"),  # no such holder
        (
            {"holder_ids": [a], "participants": [{"holder_id": b, "attendance": "absent"}]},
            "participants",
        ),  # attendance of a holder who is not in the session
        ({"participants": [{"holder_id": a, "attendance": "late"}]}, "participants.0.attendance"),
        ({"enterprise_id": w.other_enterprise.id}, "enterprise_id"),
        ({"enterprise_id": 999_999}, "enterprise_id"),
        ({"centre_id": w.other_centre_id}, "centre_id"),
        ({"centre_id": 999_999}, "centre_id"),
    ]
    for overrides, field in cases:
        response = await client.post(URL, headers=w.h(w.adviser), json=body(w, **overrides))
        assert response.status_code == 422, overrides
        assert error_fields(response) == [field], overrides


async def test_another_centres_holder_is_refused_naming_holder_ids(
    client: AsyncClient, session: AsyncSession, world: World
) -> None:
    response = await client.post(
        URL, headers=world.h(world.adviser), json=body(world, holder_ids=[world.outsider.id])
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "holder_ids"
    assert (
        await session.execute(select(AuditEvent).where(AuditEvent.entity == "coaching_session"))
    ).first() is None


async def test_who_may_log_and_for_whom(client: AsyncClient, world: World) -> None:
    w = world
    viewer = await client.post(URL, headers=w.h(w.viewer), json=body(w))
    assert viewer.status_code == 403

    for_colleague = await client.post(
        URL, headers=w.h(w.adviser), json=body(w, adviser_id=w.colleague.id)
    )
    assert for_colleague.status_code == 403
    as_self = await client.post(URL, headers=w.h(w.adviser), json=body(w, adviser_id=w.adviser.id))
    assert as_self.status_code == 201

    no_adviser = await client.post(URL, headers=w.h(w.manager), json=body(w))
    assert no_adviser.status_code == 422
    assert error_fields(no_adviser) == ["adviser_id"]
    for wrong in (w.stranger.id, w.viewer.id, w.manager.id, 999_999):
        refused = await client.post(URL, headers=w.h(w.manager), json=body(w, adviser_id=wrong))
        assert refused.status_code == 422
        assert error_fields(refused) == ["adviser_id"]
    by_manager = await client.post(
        URL, headers=w.h(w.manager), json=body(w, adviser_id=w.colleague.id)
    )
    assert by_manager.status_code == 201
    assert by_manager.json()["adviser_id"] == w.colleague.id

    admin_without_centre = await client.post(
        URL, headers=w.h(w.admin), json=body(w, adviser_id=w.adviser.id)
    )
    assert admin_without_centre.status_code == 422
    assert error_fields(admin_without_centre) == ["centre_id"]
    by_admin = await client.post(
        URL,
        headers=w.h(w.admin),
        json=body(w, adviser_id=w.adviser.id, centre_id=w.centre_id),
    )
    assert by_admin.status_code == 201
    assert (by_admin.json()["centre_id"], by_admin.json()["adviser_id"]) == (
        w.centre_id,
        w.adviser.id,
    )


async def test_edit_permissions(client: AsyncClient, world: World) -> None:
    w = world
    created = (await client.post(URL, headers=w.h(w.adviser), json=body(w))).json()
    url = f"{URL}/{created['id']}"

    assert (await client.get(url, headers=w.h(w.stranger))).status_code == 404
    assert (
        await client.patch(url, headers=w.h(w.stranger), json={"topic": "x"})
    ).status_code == 404
    assert (
        await client.patch(url, headers=w.h(w.colleague), json={"topic": "x"})
    ).status_code == 403
    assert (await client.patch(url, headers=w.h(w.viewer), json={"topic": "x"})).status_code == 403
    assert (await client.get(f"{URL}/999999", headers=w.h(w.adviser))).status_code == 404

    own = await client.patch(url, headers=w.h(w.adviser), json={"topic": "Fixation des prix"})
    assert own.status_code == 200
    assert (own.json()["topic"], own.json()["version"]) == ("Fixation des prix", 2)
    managed = await client.patch(url, headers=w.h(w.manager), json={"duration_minutes": 45})
    assert (managed.status_code, managed.json()["version"]) == (200, 3)
    administered = await client.patch(url, headers=w.h(w.admin), json={"mode": "phone"})
    assert (administered.status_code, administered.json()["mode"]) == (200, "phone")

    reassigned_by_adviser = await client.patch(
        url, headers=w.h(w.adviser), json={"adviser_id": w.colleague.id}
    )
    assert reassigned_by_adviser.status_code == 403
    reassigned = await client.patch(
        url, headers=w.h(w.manager), json={"adviser_id": w.colleague.id}
    )
    assert (reassigned.status_code, reassigned.json()["adviser_id"]) == (200, w.colleague.id)
    # The session is now the colleague's: its first author may no longer change it.
    assert (await client.patch(url, headers=w.h(w.adviser), json={"topic": "y"})).status_code == 403


async def test_patch_honours_if_match_and_audits_changes(
    client: AsyncClient, session: AsyncSession, world: World
) -> None:
    w = world
    created = (await client.post(URL, headers=w.h(w.adviser), json=body(w))).json()
    url = f"{URL}/{created['id']}"

    stale = await client.patch(
        url, headers=w.h(w.adviser) | {"If-Match": '"7"'}, json={"duration_minutes": 30}
    )
    assert stale.status_code == 412
    fresh = await client.patch(
        url, headers=w.h(w.adviser) | {"If-Match": '"1"'}, json={"duration_minutes": 30}
    )
    assert fresh.status_code == 200
    assert fresh.headers["etag"] == '"2"'
    unchanged = await client.patch(url, headers=w.h(w.adviser), json={"duration_minutes": 30})
    assert unchanged.json()["version"] == 2

    events = (
        (
            await session.execute(
                select(AuditEvent)
                .where(AuditEvent.entity == "coaching_session", AuditEvent.action == "update")
                .order_by(AuditEvent.id)
            )
        )
        .scalars()
        .all()
    )
    assert [e.changes for e in events] == [{"duration_minutes": {"from": 90, "to": 30}}]


async def test_patch_rules(client: AsyncClient, world: World) -> None:
    w = world
    created = (await client.post(URL, headers=w.h(w.adviser), json=body(w))).json()
    url = f"{URL}/{created['id']}"
    h = w.h(w.adviser)
    tomorrow = (w.settings.today() + timedelta(days=1)).isoformat()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"holder_ids": [w.holders[0].id, w.holders[1].id]}, "holder_ids"),  # individual
        ({"holder_ids": [w.outsider.id]}, "holder_ids"),
        ({"holder_ids": []}, "holder_ids"),
        ({"topic": None}, "topic"),
        ({"held_on": tomorrow}, "held_on"),
        ({"duration_minutes": 601}, "duration_minutes"),
        ({"enterprise_id": w.other_enterprise.id}, "enterprise_id"),
        (
            {"participants": [{"holder_id": w.holders[1].id, "attendance": "absent"}]},
            "participants",
        ),
        ({"centre_id": w.other_centre_id}, "centre_id"),  # a session does not move centre
    ]
    for overrides, field in cases:
        response = await client.patch(url, headers=h, json=overrides)
        assert response.status_code == 422, overrides
        assert error_fields(response) == [field], overrides
    cleared = await client.patch(url, headers=h, json={"notes": None, "enterprise_id": None})
    assert cleared.status_code == 200
    assert cleared.json()["version"] == 1  # nothing was set, nothing changed


async def test_patch_replaces_holders_and_keeps_attendance(
    client: AsyncClient, session: AsyncSession, world: World
) -> None:
    w = world
    a, b, c = (h.id for h in w.holders)
    created = (
        await client.post(
            URL,
            headers=w.h(w.adviser),
            json=body(
                w,
                format="group",
                holder_ids=[a, b],
                participants=[{"holder_id": b, "attendance": "absent"}],
            ),
        )
    ).json()
    url = f"{URL}/{created['id']}"

    swapped = await client.patch(url, headers=w.h(w.adviser), json={"holder_ids": [b, c]})
    assert swapped.status_code == 200
    assert swapped.json()["participants"] == [
        {"holder_id": b, "attendance": "absent"},
        {"holder_id": c, "attendance": "present"},
    ]
    assert swapped.json()["version"] == 2

    marked = await client.patch(
        url,
        headers=w.h(w.adviser),
        json={"participants": [{"holder_id": b, "attendance": "present"}]},
    )
    assert marked.status_code == 200
    assert marked.json()["participants"] == [
        {"holder_id": b, "attendance": "present"},
        {"holder_id": c, "attendance": "present"},
    ]
    assert marked.json()["version"] == 3

    last_event = (
        await session.execute(
            select(AuditEvent)
            .where(AuditEvent.entity == "coaching_session", AuditEvent.action == "update")
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
    ).scalar_one()
    assert last_event.changes == {
        "participants": {
            "from": [
                {"holder_id": b, "attendance": "absent"},
                {"holder_id": c, "attendance": "present"},
            ],
            "to": [
                {"holder_id": b, "attendance": "present"},
                {"holder_id": c, "attendance": "present"},
            ],
        }
    }
    to_individual = await client.patch(
        url, headers=w.h(w.adviser), json={"format": "individual", "holder_ids": [c]}
    )
    assert to_individual.status_code == 200
    assert to_individual.json()["holder_ids"] == [c]
    rows = (
        await session.execute(
            select(SessionParticipant.holder_id).where(
                SessionParticipant.session_id == created["id"]
            )
        )
    ).scalars()
    assert list(rows) == [c]


async def test_list_filters_and_scope(
    client: AsyncClient, session: AsyncSession, world: World
) -> None:
    w = world
    h0, h1, h2 = w.holders
    s1 = await make_coaching_session(
        session, w.adviser, [h0], held_on=date(2025, 1, 10), kind="advice"
    )
    s2 = await make_coaching_session(
        session,
        w.colleague,
        [h0, h1, h2],
        held_on=date(2025, 2, 10),
        kind="training",
        absent=[h1],
    )
    s3 = await make_coaching_session(
        session,
        w.adviser,
        [h2],
        held_on=date(2025, 3, 10),
        kind="evaluation",
        enterprise_id=w.enterprise.id,
    )
    s4 = await make_coaching_session(session, w.stranger, [w.outsider], held_on=date(2025, 2, 1))
    await session.commit()

    async def ids(user: User, **params: Any) -> list[int]:
        response = await client.get(URL, headers=w.h(user), params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["total"] == len(page["items"])
        return [item["id"] for item in page["items"]]

    assert await ids(w.adviser) == [s3.id, s2.id, s1.id]  # newest first
    assert await ids(w.adviser, sort="held_on") == [s1.id, s2.id, s3.id]
    assert await ids(w.stranger) == [s4.id]
    assert await ids(w.admin, sort="id") == [s1.id, s2.id, s3.id, s4.id]
    assert await ids(w.admin, centre_id=w.other_centre_id) == [s4.id]
    assert await ids(w.adviser, adviser_id=w.adviser.id) == [s3.id, s1.id]
    assert await ids(w.adviser, holder_id=h1.id) == [s2.id]  # an absent holder took part
    assert await ids(w.adviser, holder_id=h2.id) == [s3.id, s2.id]
    assert await ids(w.adviser, holder_id=w.outsider.id) == []
    assert await ids(w.adviser, enterprise_id=w.enterprise.id) == [s3.id]
    assert await ids(w.adviser, kind="training") == [s2.id]
    assert await ids(w.adviser, **{"from": "2025-02-10", "to": "2025-03-09"}) == [s2.id]
    assert await ids(w.adviser, **{"from": "2025-01-10", "to": "2025-01-10"}) == [s1.id]

    listed = (await client.get(URL, headers=w.h(w.adviser), params={"kind": "training"})).json()
    assert listed["items"][0]["participants"] == [
        {"holder_id": h0.id, "attendance": "present"},
        {"holder_id": h1.id, "attendance": "absent"},
        {"holder_id": h2.id, "attendance": "present"},
    ]
    page = (await client.get(URL, headers=w.h(w.adviser), params={"limit": 1, "offset": 1})).json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 1)
    assert [i["id"] for i in page["items"]] == [s2.id]

    bad_queries: list[tuple[dict[str, str | int], int]] = [
        ({"kind": "coaching"}, 422),
        ({"sort": "topic"}, 422),
        ({"from": "2025-03-01", "to": "2025-02-01"}, 422),
        ({"from": "yesterday"}, 422),
        ({"centre_id": w.other_centre_id}, 404),
        ({"centre_id": 999_999}, 404),
    ]
    for params, status in bad_queries:
        response = await client.get(URL, headers=w.h(w.adviser), params=params)
        assert response.status_code == status, params


async def test_list_loads_participants_in_a_fixed_number_of_statements(
    client: AsyncClient, session: AsyncSession, engine: AsyncEngine, world: World
) -> None:
    w = world
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    async def statements_for_list() -> int:
        statements.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            response = await client.get(URL, headers=w.h(w.adviser), params={"limit": 100})
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        assert response.status_code == 200
        return len(statements)

    await make_coaching_session(session, w.adviser, w.holders, held_on=date(2025, 1, 1))
    await session.commit()
    with_one = await statements_for_list()
    for day in range(1, 41):
        await make_coaching_session(
            session, w.adviser, w.holders, held_on=date(2025, 2, 1) + timedelta(day)
        )
    await session.commit()
    with_many = await statements_for_list()
    assert with_many == with_one
