from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import AuditEvent
from app.core.config import Settings
from tests.centres.factories import make_centre
from tests.helpers import auth
from tests.users.factories import make_user

NEW_CENTRE = {
    "code": "OUJ-01",
    "name": "Centre d'entreprises solidaires d'Oujda",
    "kind": "enterprise_centre",
    "region": "oriental",
    "city": "Oujda",
    "opened_on": "2021-02-01",
}


async def test_admin_creates_centre_with_location_etag_and_audit(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await make_user(session, role="admin")
    await session.commit()

    response = await client.post("/api/v1/centres", headers=auth(admin, settings), json=NEW_CENTRE)

    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in NEW_CENTRE} == NEW_CENTRE
    assert body["version"] == 1
    assert response.headers["location"] == f"/api/v1/centres/{body['id']}"
    assert response.headers["etag"] == '"1"'
    assert body["created_at"].endswith("+00:00") or body["created_at"].endswith("Z")
    event = (
        await session.execute(select(AuditEvent).where(AuditEvent.entity == "centre"))
    ).scalar_one()
    assert (event.action, event.entity_id, event.actor_id) == ("create", body["id"], admin.id)
    assert event.changes["code"] == "OUJ-01"


async def test_patch_honours_if_match_and_bumps_version(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await make_user(session, role="admin")
    centre = await make_centre(session)
    await session.commit()
    headers = auth(admin, settings)

    first = await client.patch(
        f"/api/v1/centres/{centre.id}",
        headers=headers | {"If-Match": '"1"'},
        json={"city": "Rabat"},
    )
    assert first.status_code == 200
    assert first.json()["version"] == 2
    assert first.headers["etag"] == '"2"'

    stale = await client.patch(
        f"/api/v1/centres/{centre.id}", headers=headers | {"If-Match": '"1"'}, json={"city": "Salé"}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"

    current = await client.get(f"/api/v1/centres/{centre.id}", headers=headers)
    assert current.json()["city"] == "Rabat"
    events = (
        (
            await session.execute(
                select(AuditEvent).where(
                    AuditEvent.entity == "centre", AuditEvent.action == "update"
                )
            )
        )
        .scalars()
        .all()
    )
    assert [e.changes for e in events] == [{"city": {"from": "Casablanca", "to": "Rabat"}}]


async def test_centre_scope_other_centre_is_404_and_writes_are_admin_only(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    own = await make_centre(session)
    other = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=own)
    national_viewer = await make_user(session, role="viewer")
    await session.commit()

    assert (
        await client.get(f"/api/v1/centres/{other.id}", headers=auth(adviser, settings))
    ).status_code == 404
    listed = await client.get("/api/v1/centres", headers=auth(adviser, settings))
    assert [c["id"] for c in listed.json()["items"]] == [own.id]
    assert listed.json()["total"] == 1

    everything = await client.get(
        "/api/v1/centres?sort=id", headers=auth(national_viewer, settings)
    )
    assert [c["id"] for c in everything.json()["items"]] == [own.id, other.id]

    forbidden = await client.post(
        "/api/v1/centres", headers=auth(adviser, settings), json=NEW_CENTRE
    )
    assert forbidden.status_code == 403
    patch = await client.patch(
        f"/api/v1/centres/{own.id}", headers=auth(adviser, settings), json={"city": "X"}
    )
    assert patch.status_code == 403


async def test_duplicate_code_is_409(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await make_user(session, role="admin")
    await make_centre(session, code="OUJ-01")
    await session.commit()
    response = await client.post("/api/v1/centres", headers=auth(admin, settings), json=NEW_CENTRE)
    assert response.status_code == 409
    assert response.json()["errors"] == [{"field": "code", "message": "already used"}]


async def test_audit_events_are_for_admins_and_managers_of_their_centre(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await make_user(session, role="admin")
    own = await make_centre(session)
    other = await make_centre(session)
    manager = await make_user(session, role="manager", centre=own)
    adviser = await make_user(session, role="adviser", centre=own)
    await session.commit()
    for centre in (own, other):
        response = await client.patch(
            f"/api/v1/centres/{centre.id}", headers=auth(admin, settings), json={"name": "Renamed"}
        )
        assert response.status_code == 200

    as_manager = await client.get(
        "/api/v1/audit-events?entity=centre", headers=auth(manager, settings)
    )
    assert as_manager.status_code == 200
    assert [e["entity_id"] for e in as_manager.json()["items"]] == [own.id]
    as_admin = await client.get(
        f"/api/v1/audit-events?entity=centre&entity_id={other.id}", headers=auth(admin, settings)
    )
    assert [e["entity_id"] for e in as_admin.json()["items"]] == [other.id]
    assert (
        await client.get("/api/v1/audit-events", headers=auth(adviser, settings))
    ).status_code == 403


async def test_centre_id_parameter_naming_no_centre_is_404_everywhere(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await make_user(session, role="admin")
    own = await make_centre(session)
    other = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=own)
    await session.commit()
    paths = [
        "/api/v1/holders",
        "/api/v1/enterprises",
        "/api/v1/loans",
        "/api/v1/coaching-sessions?from=2025-01-01&to=2025-12-31",
        "/api/v1/follow-ups",
        "/api/v1/reports/portfolio",
    ]
    for path in paths:
        joiner = "&" if "?" in path else "?"
        missing = await client.get(f"{path}{joiner}centre_id=987654", headers=auth(admin, settings))
        assert missing.status_code == 404, path
        assert missing.headers["content-type"] == "application/problem+json"
        foreign = await client.get(
            f"{path}{joiner}centre_id={other.id}", headers=auth(adviser, settings)
        )
        assert foreign.status_code == 404, path
        mine = await client.get(
            f"{path}{joiner}centre_id={own.id}", headers=auth(adviser, settings)
        )
        assert mine.status_code == 200, path
