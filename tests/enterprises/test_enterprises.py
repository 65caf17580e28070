from datetime import date, timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.audit import AuditEvent
from app.core.config import Settings
from app.enterprises.models import EnterpriseOwner
from tests.centres.factories import make_centre
from tests.enterprises.factories import enterprise_payload, make_enterprise
from tests.helpers import auth, error_fields, recorded_statements, selects
from tests.holders.factories import make_holder
from tests.users.factories import make_user


async def test_adviser_registers_enterprise_with_owners_location_etag_and_audit(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    first = await make_holder(session, centre)
    second = await make_holder(session, centre)
    await session.commit()

    response = await client.post(
        "/api/v1/enterprises",
        headers=auth(adviser, settings),
        json=enterprise_payload(
            [second.id, first.id, second.id],
            activity="Huile d'argan",
            ice="001525638000094",
            region="souss_massa",
            jobs_at_creation=4,
        ),
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/api/v1/enterprises/{body['id']}"
    assert response.headers["etag"] == '"1"'
    assert {k: v for k, v in body.items() if k not in ("id", "created_at", "updated_at")} == {
        "centre_id": centre.id,
        "name": "Coopérative Tifawin",
        "legal_form": "cooperative",
        "sector": "agri_food",
        "activity": "Huile d'argan",
        "ice": "001525638000094",
        "area": "rural",
        "region": "souss_massa",
        "created_on": "2024-03-01",
        "status": "active",
        "closed_on": None,
        "jobs_at_creation": 4,
        "owner_ids": [first.id, second.id],
        "version": 1,
    }
    event = (
        await session.execute(select(AuditEvent).where(AuditEvent.entity == "enterprise"))
    ).scalar_one()
    assert (event.action, event.entity_id, event.actor_id) == ("create", body["id"], adviser.id)
    assert event.changes["owner_ids"] == [first.id, second.id]
    fetched = await client.get(f"/api/v1/enterprises/{body['id']}", headers=auth(adviser, settings))
    assert fetched.json() == body


async def test_status_defaults_to_project_without_created_on(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    holder = await make_holder(session, centre)
    await session.commit()
    body = enterprise_payload([holder.id])
    del body["created_on"]
    response = await client.post("/api/v1/enterprises", headers=auth(adviser, settings), json=body)
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["created_on"]) == ("project", None)


async def test_owners_must_be_holders_of_the_same_centre(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    other = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    admin = await make_user(session, role="admin")
    own = await make_holder(session, centre)
    foreign = await make_holder(session, other)
    enterprise = await make_enterprise(session, centre, [own])
    await session.commit()
    headers = auth(adviser, settings)

    for owner_ids in ([own.id, foreign.id], [foreign.id], [999_999], []):
        response = await client.post(
            "/api/v1/enterprises", headers=headers, json=enterprise_payload(owner_ids)
        )
        assert response.status_code == 422, owner_ids
        assert error_fields(response) == ["owner_ids"]
    # Even an admin, who sees both centres, cannot mix them.
    mixed = await client.post(
        "/api/v1/enterprises",
        headers=auth(admin, settings),
        json=enterprise_payload([own.id, foreign.id], centre_id=centre.id),
    )
    assert mixed.status_code == 422
    assert error_fields(mixed) == ["owner_ids"]
    patched = await client.patch(
        f"/api/v1/enterprises/{enterprise.id}", headers=headers, json={"owner_ids": [foreign.id]}
    )
    assert patched.status_code == 422
    assert error_fields(patched) == ["owner_ids"]
    missing = await client.post(
        "/api/v1/enterprises",
        headers=headers,
        json={k: v for k, v in enterprise_payload([own.id]).items() if k != "owner_ids"},
    )
    assert missing.status_code == 422
    assert error_fields(missing) == ["owner_ids"]


@pytest.mark.parametrize("ice", ["00152563800009", "0015256380000941", "00152563800009A", "ICE"])
async def test_ice_is_fifteen_digits(
    client: AsyncClient, session: AsyncSession, settings: Settings, ice: str
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    holder = await make_holder(session, centre)
    await session.commit()
    response = await client.post(
        "/api/v1/enterprises",
        headers=auth(adviser, settings),
        json=enterprise_payload([holder.id], ice=ice),
    )
    assert response.status_code == 422
    assert error_fields(response) == ["ice"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"status": "active", "created_on": None}, "created_on"),
        ({"status": "struggling", "created_on": None}, "created_on"),
        ({"status": "project", "created_on": "2024-03-01"}, "created_on"),
        ({"status": "closed"}, "closed_on"),
        ({"status": "closed", "closed_on": "2024-02-29"}, "closed_on"),
        ({"status": "active", "closed_on": "2024-06-01"}, "closed_on"),
        ({"legal_form": "sa"}, "legal_form"),
        ({"status": "dormant"}, "status"),
        ({"jobs_at_creation": -1}, "jobs_at_creation"),
        ({"name": "  "}, "name"),
    ],
)
async def test_life_cycle_rules_are_422_naming_the_field(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    overrides: dict[str, Any],
    field: str,
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    holder = await make_holder(session, centre)
    await session.commit()
    response = await client.post(
        "/api/v1/enterprises",
        headers=auth(adviser, settings),
        json=enterprise_payload([holder.id], **overrides),
    )
    assert response.status_code == 422
    assert error_fields(response) == [field]


async def test_dates_in_the_future_are_422_and_closing_on_the_creation_day_is_allowed(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    holder = await make_holder(session, centre)
    await session.commit()
    headers = auth(adviser, settings)
    tomorrow = (settings.today() + timedelta(days=1)).isoformat()

    future = await client.post(
        "/api/v1/enterprises",
        headers=headers,
        json=enterprise_payload([holder.id], created_on=tomorrow),
    )
    assert future.status_code == 422
    assert error_fields(future) == ["created_on"]
    closes_later = await client.post(
        "/api/v1/enterprises",
        headers=headers,
        json=enterprise_payload([holder.id], status="closed", closed_on=tomorrow),
    )
    assert closes_later.status_code == 422
    assert error_fields(closes_later) == ["closed_on"]
    same_day = await client.post(
        "/api/v1/enterprises",
        headers=headers,
        json=enterprise_payload([holder.id], status="closed", closed_on="2024-03-01"),
    )
    assert same_day.status_code == 201
    assert same_day.json()["closed_on"] == "2024-03-01"


async def test_patch_checks_rules_on_the_resulting_state_and_replaces_owners(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    first = await make_holder(session, centre)
    second = await make_holder(session, centre)
    enterprise = await make_enterprise(session, centre, [first], created_on=date(2024, 6, 1))
    await session.commit()
    headers = auth(adviser, settings)
    url = f"/api/v1/enterprises/{enterprise.id}"

    no_date = await client.patch(url, headers=headers, json={"status": "closed"})
    assert no_date.status_code == 422
    assert error_fields(no_date) == ["closed_on"]
    before_creation = await client.patch(
        url, headers=headers, json={"status": "closed", "closed_on": "2024-05-31"}
    )
    assert before_creation.status_code == 422
    assert error_fields(before_creation) == ["closed_on"]

    owners = await client.patch(
        url, headers=headers | {"If-Match": '"1"'}, json={"owner_ids": [second.id, first.id]}
    )
    assert owners.status_code == 200
    assert (owners.json()["owner_ids"], owners.json()["version"]) == ([first.id, second.id], 2)
    assert owners.headers["etag"] == '"2"'
    closed = await client.patch(
        url,
        headers=headers | {"If-Match": '"2"'},
        json={"status": "closed", "closed_on": "2025-01-31", "owner_ids": [second.id]},
    )
    assert closed.status_code == 200
    assert {k: closed.json()[k] for k in ("status", "closed_on", "owner_ids", "version")} == {
        "status": "closed",
        "closed_on": "2025-01-31",
        "owner_ids": [second.id],
        "version": 3,
    }
    stored = select(EnterpriseOwner.holder_id).where(EnterpriseOwner.enterprise_id == enterprise.id)
    assert (await session.execute(stored)).scalars().all() == [second.id]
    reopened_with_date = await client.patch(url, headers=headers, json={"status": "active"})
    assert reopened_with_date.status_code == 422
    assert error_fields(reopened_with_date) == ["closed_on"]
    reopened = await client.patch(
        url, headers=headers, json={"status": "active", "closed_on": None}
    )
    assert reopened.status_code == 200
    assert reopened.json()["closed_on"] is None

    stale = await client.patch(url, headers=headers | {"If-Match": '"2"'}, json={"name": "X"})
    assert stale.status_code == 412
    events = (
        (
            await session.execute(
                select(AuditEvent.changes)
                .where(AuditEvent.entity == "enterprise", AuditEvent.action == "update")
                .order_by(AuditEvent.id)
            )
        )
        .scalars()
        .all()
    )
    assert events[0] == {"owner_ids": {"from": [first.id], "to": [first.id, second.id]}}
    assert len(events) == 3


async def test_two_patches_with_the_same_if_match_one_wins_the_other_is_412(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    holder = await make_holder(session, centre)
    enterprise = await make_enterprise(session, centre, [holder])
    await session.commit()
    headers = auth(adviser, settings) | {"If-Match": '"1"'}
    url = f"/api/v1/enterprises/{enterprise.id}"
    first = await client.patch(url, headers=headers, json={"jobs_at_creation": 3})
    second = await client.patch(url, headers=headers, json={"jobs_at_creation": 5})
    assert (first.status_code, second.status_code) == (200, 412)
    current = await client.get(url, headers=headers)
    assert (current.json()["jobs_at_creation"], current.json()["version"]) == (3, 2)


async def test_scope_other_centre_is_404_and_viewer_cannot_write(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre_a = await make_centre(session)
    centre_b = await make_centre(session)
    adviser_b = await make_user(session, role="adviser", centre=centre_b)
    viewer_a = await make_user(session, role="viewer", centre=centre_a)
    holder_a = await make_holder(session, centre_a)
    holder_b = await make_holder(session, centre_b)
    enterprise_a = await make_enterprise(session, centre_a, [holder_a])
    enterprise_b = await make_enterprise(session, centre_b, [holder_b])
    await session.commit()
    b_headers = auth(adviser_b, settings)
    url_a = f"/api/v1/enterprises/{enterprise_a.id}"

    assert (await client.get(url_a, headers=b_headers)).status_code == 404
    listed = await client.get("/api/v1/enterprises", headers=b_headers)
    assert [item["id"] for item in listed.json()["items"]] == [enterprise_b.id]
    by_owner = await client.get(f"/api/v1/enterprises?owner_id={holder_a.id}", headers=b_headers)
    assert by_owner.json()["items"] == []
    other_centre = await client.get(
        f"/api/v1/enterprises?centre_id={centre_a.id}", headers=b_headers
    )
    assert other_centre.status_code == 404
    assert (await client.patch(url_a, headers=b_headers, json={"name": "X"})).status_code == 404
    foreign_owner = await client.post(
        "/api/v1/enterprises", headers=b_headers, json=enterprise_payload([holder_a.id])
    )
    assert foreign_owner.status_code == 422

    viewer = auth(viewer_a, settings)
    assert (await client.get(url_a, headers=viewer)).status_code == 200
    assert (await client.patch(url_a, headers=viewer, json={"name": "X"})).status_code == 403
    created = await client.post(
        "/api/v1/enterprises", headers=viewer, json=enterprise_payload([holder_a.id])
    )
    assert created.status_code == 403
    await session.refresh(enterprise_a)
    assert (enterprise_a.name, enterprise_a.version) != ("X", 2)


async def test_filters_search_and_one_query_for_the_owners_of_a_page(
    client: AsyncClient, session: AsyncSession, settings: Settings, engine: AsyncEngine
) -> None:
    centre = await make_centre(session)
    other = await make_centre(session)
    manager = await make_user(session, role="manager", centre=centre)
    admin = await make_user(session, role="admin")
    holders = [await make_holder(session, centre) for _ in range(3)]
    argan = await make_enterprise(
        session,
        centre,
        holders[:2],
        name="Coopérative Tâfoukt d'Argan",
        search_text="cooperative tafoukt d'argan",
        sector="agri_food",
        area="rural",
        region="souss_massa",
    )
    closed = await make_enterprise(
        session, centre, [holders[2]], status="closed", closed_on=date(2025, 1, 1)
    )
    project = await make_enterprise(
        session, centre, [holders[0]], status="project", created_on=None
    )
    elsewhere = await make_enterprise(session, other, [await make_holder(session, other)])
    bulk = [
        (await make_enterprise(session, centre, [holders[n % 3]], name=f"Bulk {n}")).id
        for n in range(40)
    ]
    await session.commit()
    headers = auth(manager, settings)

    async def ids(query: str) -> list[int]:
        response = await client.get(f"/api/v1/enterprises?{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids("q=TAFOUKT") == [argan.id]
    assert await ids("q=cooperative%20argan") == [argan.id]
    assert await ids("status=closed") == [closed.id]
    assert await ids("status=project") == [project.id]
    assert await ids("sector=agri_food") == [argan.id]
    assert await ids("area=rural&region=souss_massa") == [argan.id]
    owned = await ids(f"owner_id={holders[0].id}&limit=3")
    assert owned == [argan.id, project.id, bulk[0]]
    assert await ids(f"owner_id={holders[1].id}&limit=2") == [argan.id, bulk[1]]
    admin_view = await client.get(
        f"/api/v1/enterprises?centre_id={other.id}", headers=auth(admin, settings)
    )
    assert [item["id"] for item in admin_view.json()["items"]] == [elsewhere.id]
    first_page = await client.get("/api/v1/enterprises?limit=2&sort=id", headers=headers)
    assert first_page.json()["items"][0]["owner_ids"] == [holders[0].id, holders[1].id]
    assert first_page.json()["total"] == 43

    for query, field in (
        ("status=dormant", "status"),
        ("sector=mining", "sector"),
        ("sort=ice", "sort"),
        ("owner_id=x", "owner_id"),
    ):
        response = await client.get(f"/api/v1/enterprises?{query}", headers=headers)
        assert response.status_code == 422
        assert error_fields(response) == [field]

    for limit in (5, 43):
        with recorded_statements(engine) as statements:
            page = await client.get(f"/api/v1/enterprises?limit={limit}", headers=headers)
        assert len(page.json()["items"]) == limit
        # The caller, the count, the page and one IN query for all the page's owners.
        assert len(selects(statements)) == 4
