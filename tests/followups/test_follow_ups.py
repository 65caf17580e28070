"""Enterprise follow-ups over HTTP: fields, rules, permissions, filters, and the status
the latest follow-up gives its enterprise (with its audit trail)."""

from datetime import date, timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import AuditEvent
from app.enterprises.models import Enterprise
from app.users.models import User
from tests.followups.factories import make_follow_up
from tests.followups.world import URL, World, body
from tests.helpers import error_fields


async def enterprise_state(session: AsyncSession, enterprise_id: int) -> tuple[str, date | None]:
    row = (
        await session.execute(
            select(Enterprise.status, Enterprise.closed_on)
            .where(Enterprise.id == enterprise_id)
            .execution_options(populate_existing=True)
        )
    ).one()
    return row.status, row.closed_on


async def status_events(session: AsyncSession, enterprise_id: int) -> list[dict[str, Any]]:
    events = (
        await session.execute(
            select(AuditEvent)
            .where(
                AuditEvent.entity == "enterprise",
                AuditEvent.entity_id == enterprise_id,
                AuditEvent.action == "status_from_follow_up",
            )
            .order_by(AuditEvent.id)
        )
    ).scalars()
    return [e.changes for e in events]


async def test_adviser_records_a_follow_up(
    client: AsyncClient, session: AsyncSession, world: World
) -> None:
    w = world
    response = await client.post(
        URL,
        headers=w.h(w.adviser),
        json=body(
            w,
            monthly_revenue="8500.5",
            employees_count=2,
            risk_level="low",
            needs=["marketing", "accounting"],
            notes="Nouvelle clientèle — زبناء جدد",
            next_follow_up_on="2025-07-01",
        ),
    )
    assert response.status_code == 201
    created = response.json()
    assert response.headers["location"] == f"{URL}/{created['id']}"
    assert response.headers["etag"] == '"1"'
    assert {k: v for k, v in created.items() if k not in ("id", "created_at", "updated_at")} == {
        "enterprise_id": w.enterprise.id,
        "centre_id": w.centre_id,
        "adviser_id": w.adviser.id,
        "visited_on": "2025-04-03",
        "mode": "field_visit",
        "enterprise_status": "active",
        "monthly_revenue": "8500.50",
        "employees_count": 2,
        "risk_level": "low",
        "needs": ["marketing", "accounting"],
        "notes": "Nouvelle clientèle — زبناء جدد",
        "next_follow_up_on": "2025-07-01",
        "version": 1,
    }
    created_event = (
        await session.execute(
            select(AuditEvent).where(
                AuditEvent.entity == "follow_up", AuditEvent.entity_id == created["id"]
            )
        )
    ).scalar_one()
    assert (created_event.action, created_event.actor_id) == ("create", w.adviser.id)
    assert created_event.changes["monthly_revenue"] == "8500.50"

    fetched = await client.get(f"{URL}/{created['id']}", headers=w.h(w.viewer))
    assert fetched.status_code == 200
    assert fetched.json() == created
    # Already active: nothing to change, nothing audited.
    assert await status_events(session, w.enterprise.id) == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"mode": "letter"}, "mode"),
        ({"enterprise_status": "bankrupt"}, "enterprise_status"),
        ({"risk_level": "extreme"}, "risk_level"),
        ({"needs": ["marketing", "marketing"]}, "needs"),
        ({"needs": ["luck"]}, "needs.0"),
        ({"monthly_revenue": "-0.01"}, "monthly_revenue"),
        ({"monthly_revenue": "10.005"}, "monthly_revenue"),
        ({"monthly_revenue": "lots"}, "monthly_revenue"),
        ({"employees_count": -1}, "employees_count"),
        ({"employees_count": 501}, "employees_count"),
        ({"visited_on": "2025-13-01"}, "visited_on"),
        ({"enterprise_id": "seven"}, "enterprise_id"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_schema_rules_are_422(
    client: AsyncClient, world: World, overrides: dict[str, Any], field: str
) -> None:
    response = await client.post(URL, headers=world.h(world.adviser), json=body(world, **overrides))
    assert response.status_code == 422
    assert field in error_fields(response)


async def test_required_fields_and_accepted_bounds(client: AsyncClient, world: World) -> None:
    w = world
    missing = await client.post(URL, headers=w.h(w.adviser), json={})
    assert missing.status_code == 422
    assert set(error_fields(missing)) == {
        "enterprise_id",
        "visited_on",
        "mode",
        "enterprise_status",
    }
    for overrides in (
        {"monthly_revenue": 0, "employees_count": 0},
        {"monthly_revenue": 1250.75, "employees_count": 500, "needs": list(_all_needs())},
    ):
        ok = await client.post(URL, headers=w.h(w.adviser), json=body(w, **overrides))
        assert ok.status_code == 201, ok.text


def _all_needs() -> tuple[str, ...]:
    return (
        "financing",
        "marketing",
        "accounting",
        "supply",
        "training",
        "equipment",
        "legal",
        "premises",
        "other",
    )


async def test_business_rules_name_the_field(client: AsyncClient, world: World) -> None:
    w = world
    today = w.settings.today()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"enterprise_id": w.project.id}, "enterprise_id"),
        ({"enterprise_id": w.foreign.id}, "enterprise_id"),
        ({"enterprise_id": 999_999}, "enterprise_id"),
        ({"visited_on": (today + timedelta(days=1)).isoformat()}, "visited_on"),
        ({"visited_on": "2024-05-31"}, "visited_on"),  # before the enterprise was created
        ({"next_follow_up_on": "2025-04-03"}, "next_follow_up_on"),
        ({"next_follow_up_on": "2025-04-02"}, "next_follow_up_on"),
    ]
    for overrides, field in cases:
        response = await client.post(URL, headers=w.h(w.adviser), json=body(w, **overrides))
        assert response.status_code == 422, overrides
        assert error_fields(response) == [field], overrides
    today_ok = await client.post(
        URL,
        headers=w.h(w.adviser),
        json=body(w, visited_on=today.isoformat(), next_follow_up_on=None),
    )
    assert today_ok.status_code == 201
    creation_day = await client.post(
        URL, headers=w.h(w.adviser), json=body(w, visited_on="2024-06-01")
    )
    assert creation_day.status_code == 201


async def test_permissions(client: AsyncClient, world: World) -> None:
    w = world
    assert (await client.post(URL, headers=w.h(w.viewer), json=body(w))).status_code == 403
    assert (
        await client.post(URL, headers=w.h(w.adviser), json=body(w, adviser_id=w.colleague.id))
    ).status_code == 403
    no_adviser = await client.post(URL, headers=w.h(w.manager), json=body(w))
    assert (no_adviser.status_code, error_fields(no_adviser)) == (422, ["adviser_id"])
    wrong_adviser = await client.post(
        URL, headers=w.h(w.manager), json=body(w, adviser_id=w.stranger.id)
    )
    assert (wrong_adviser.status_code, error_fields(wrong_adviser)) == (422, ["adviser_id"])
    by_admin = await client.post(URL, headers=w.h(w.admin), json=body(w, adviser_id=w.colleague.id))
    assert (by_admin.status_code, by_admin.json()["adviser_id"]) == (201, w.colleague.id)

    created = (await client.post(URL, headers=w.h(w.adviser), json=body(w))).json()
    url = f"{URL}/{created['id']}"
    assert (await client.get(url, headers=w.h(w.stranger))).status_code == 404
    assert (
        await client.patch(url, headers=w.h(w.stranger), json={"notes": "x"})
    ).status_code == 404
    assert (
        await client.patch(url, headers=w.h(w.colleague), json={"notes": "x"})
    ).status_code == 403
    assert (await client.patch(url, headers=w.h(w.viewer), json={"notes": "x"})).status_code == 403
    own = await client.patch(url, headers=w.h(w.adviser), json={"notes": "Stock renouvelé"})
    assert (own.status_code, own.json()["version"]) == (200, 2)
    managed = await client.patch(url, headers=w.h(w.manager), json={"risk_level": "high"})
    assert (managed.status_code, managed.json()["version"]) == (200, 3)
    assert (await client.get(f"{URL}/999999", headers=w.h(w.adviser))).status_code == 404


async def test_patch_rules_and_if_match(client: AsyncClient, world: World) -> None:
    w = world
    created = (
        await client.post(URL, headers=w.h(w.adviser), json=body(w, next_follow_up_on="2025-06-01"))
    ).json()
    url = f"{URL}/{created['id']}"
    h = w.h(w.adviser)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"next_follow_up_on": "2025-04-01"}, "next_follow_up_on"),
        ({"visited_on": "2025-06-01"}, "next_follow_up_on"),  # would leave next before visit
        ({"visited_on": "2024-01-01"}, "visited_on"),
        ({"visited_on": None}, "visited_on"),
        ({"enterprise_id": w.second.id}, "enterprise_id"),  # a follow-up stays on its enterprise
        ({"employees_count": 501}, "employees_count"),
        ({"needs": ["legal", "legal"]}, "needs"),
    ]
    for overrides, field in cases:
        response = await client.patch(url, headers=h, json=overrides)
        assert response.status_code == 422, overrides
        assert error_fields(response) == [field], overrides

    stale = await client.patch(
        url, headers=h | {"If-Match": '"3"'}, json={"monthly_revenue": "100.00"}
    )
    assert stale.status_code == 412
    fresh = await client.patch(
        url,
        headers=h | {"If-Match": '"1"'},
        json={"monthly_revenue": "100.00", "next_follow_up_on": None},
    )
    assert fresh.status_code == 200
    assert (fresh.json()["monthly_revenue"], fresh.json()["next_follow_up_on"]) == (
        "100.00",
        None,
    )
    assert fresh.headers["etag"] == '"2"'


async def test_latest_follow_up_sets_the_enterprise_status(
    client: AsyncClient, session: AsyncSession, world: World
) -> None:
    w = world
    e = w.enterprise.id
    h = w.h(w.adviser)

    async def visit(day: str, found: str) -> dict[str, Any]:
        response = await client.post(
            URL, headers=h, json=body(w, visited_on=day, enterprise_status=found)
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    await visit("2025-01-10", "dormant")
    assert await enterprise_state(session, e) == ("struggling", None)
    closing = await visit("2025-03-20", "closed")
    assert await enterprise_state(session, e) == ("closed", date(2025, 3, 20))
    # A backdated follow-up is not the latest: it changes nothing.
    await visit("2025-02-01", "active")
    assert await enterprise_state(session, e) == ("closed", date(2025, 3, 20))
    # A later visit finds it trading again: it reopens.
    await visit("2025-05-05", "active")
    assert await enterprise_state(session, e) == ("active", None)
    await visit("2025-06-01", "struggling")
    assert await enterprise_state(session, e) == ("struggling", None)

    events = await status_events(session, e)
    assert [{k: v for k, v in ev.items() if k != "follow_up_id"} for ev in events] == [
        {"status": {"from": "active", "to": "struggling"}},
        {
            "status": {"from": "struggling", "to": "closed"},
            "closed_on": {"from": None, "to": "2025-03-20"},
        },
        {
            "status": {"from": "closed", "to": "active"},
            "closed_on": {"from": "2025-03-20", "to": None},
        },
        {"status": {"from": "active", "to": "struggling"}},
    ]
    assert events[1]["follow_up_id"] == closing["id"]
    audited = (
        await session.execute(
            select(AuditEvent.actor_id, AuditEvent.centre_id).where(
                AuditEvent.action == "status_from_follow_up"
            )
        )
    ).all()
    assert {tuple(r) for r in audited} == {(w.adviser.id, w.centre_id)}
    # The other enterprise of the centre was never touched.
    assert await enterprise_state(session, w.second.id) == ("active", None)


async def test_patching_a_follow_up_reapplies_the_latest_status(
    client: AsyncClient, session: AsyncSession, world: World
) -> None:
    w = world
    e = w.enterprise.id
    h = w.h(w.adviser)
    early = (
        await client.post(
            URL, headers=h, json=body(w, visited_on="2025-01-10", enterprise_status="closed")
        )
    ).json()
    late = (
        await client.post(
            URL, headers=h, json=body(w, visited_on="2025-03-10", enterprise_status="active")
        )
    ).json()
    assert await enterprise_state(session, e) == ("active", None)
    assert len(await status_events(session, e)) == 2  # closed on 2025-01-10, reopened

    # Changing what a backdated visit found changes nothing.
    quiet = await client.patch(
        f"{URL}/{early['id']}", headers=h, json={"enterprise_status": "dormant"}
    )
    assert quiet.status_code == 200
    assert await enterprise_state(session, e) == ("active", None)
    assert len(await status_events(session, e)) == 2

    # The latest visit's finding changes: the enterprise follows.
    closed = await client.patch(
        f"{URL}/{late['id']}", headers=h, json={"enterprise_status": "closed"}
    )
    assert closed.status_code == 200
    assert await enterprise_state(session, e) == ("closed", date(2025, 3, 10))

    # Moving the latest visit before the other: the other (dormant) becomes the latest.
    moved = await client.patch(f"{URL}/{late['id']}", headers=h, json={"visited_on": "2025-01-05"})
    assert moved.status_code == 200
    assert await enterprise_state(session, e) == ("struggling", None)

    # Moving it after again: it is the latest and closes the enterprise on its new date.
    again = await client.patch(f"{URL}/{late['id']}", headers=h, json={"visited_on": "2025-04-01"})
    assert again.status_code == 200
    assert await enterprise_state(session, e) == ("closed", date(2025, 4, 1))

    events = await status_events(session, e)
    assert [ev["status"]["to"] for ev in events] == [
        "closed",
        "active",
        "closed",
        "struggling",
        "closed",
    ]
    assert [ev["follow_up_id"] for ev in events] == [
        early["id"],
        late["id"],
        late["id"],
        early["id"],
        late["id"],
    ]


async def test_list_filters_and_scope(
    client: AsyncClient, session: AsyncSession, world: World
) -> None:
    w = world
    f1 = await make_follow_up(session, w.enterprise, w.adviser, visited_on=date(2025, 1, 5))
    f2 = await make_follow_up(
        session,
        w.enterprise,
        w.colleague,
        visited_on=date(2025, 2, 5),
        enterprise_status="struggling",
    )
    f3 = await make_follow_up(session, w.second, w.adviser, visited_on=date(2025, 3, 5))
    f4 = await make_follow_up(session, w.foreign, w.stranger, visited_on=date(2025, 2, 1))
    await session.commit()

    async def ids(user: User, **params: Any) -> list[int]:
        response = await client.get(URL, headers=w.h(user), params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids(w.viewer) == [f3.id, f2.id, f1.id]
    assert await ids(w.adviser, sort="visited_on") == [f1.id, f2.id, f3.id]
    assert await ids(w.stranger) == [f4.id]
    assert await ids(w.admin, sort="id") == [f1.id, f2.id, f3.id, f4.id]
    assert await ids(w.admin, centre_id=w.other_centre_id) == [f4.id]
    assert await ids(w.adviser, enterprise_id=w.enterprise.id) == [f2.id, f1.id]
    assert await ids(w.adviser, adviser_id=w.adviser.id) == [f3.id, f1.id]
    assert await ids(w.adviser, enterprise_status="struggling") == [f2.id]
    assert await ids(w.adviser, **{"from": "2025-02-05", "to": "2025-03-04"}) == [f2.id]
    assert await ids(w.adviser, enterprise_id=w.foreign.id) == []
    bad_queries: list[tuple[dict[str, str | int], int]] = [
        ({"enterprise_status": "bankrupt"}, 422),
        ({"sort": "notes"}, 422),
        ({"from": "2025-03-01", "to": "2025-02-01"}, 422),
        ({"centre_id": w.other_centre_id}, 404),
    ]
    for params, status in bad_queries:
        response = await client.get(URL, headers=w.h(w.adviser), params=params)
        assert response.status_code == status, params


async def test_a_visit_cannot_give_a_status_to_an_enterprise_turned_back_into_a_project(
    client: AsyncClient, session: AsyncSession, world: World
) -> None:
    """An enterprise in `project` status has no `created_on`; a visit's finding must not
    make it `active` or `struggling` without one (the due list and the reports would lose
    it). Other changes of the visit stay possible."""
    w = world
    e = w.enterprise.id
    h = w.h(w.adviser)
    visit = (await client.post(URL, headers=h, json=body(w, visited_on="2025-01-10"))).json()
    back = await client.patch(
        f"/api/v1/enterprises/{e}", headers=h, json={"status": "project", "created_on": None}
    )
    assert back.status_code == 200

    for change in ({"enterprise_status": "struggling"}, {"visited_on": "2025-01-11"}):
        refused = await client.patch(f"{URL}/{visit['id']}", headers=h, json=change)
        assert (refused.status_code, error_fields(refused)) == (422, ["enterprise_id"]), change
        assert await enterprise_state(session, e) == ("project", None)
    noted = await client.patch(f"{URL}/{visit['id']}", headers=h, json={"notes": "Relocated"})
    assert noted.status_code == 200
