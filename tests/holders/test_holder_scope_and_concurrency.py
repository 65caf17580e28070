import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.core.config import Settings
from app.holders import service
from app.holders.models import Holder
from app.holders.schemas import HolderUpdate
from app.users.service import actor_of
from tests.centres.factories import make_centre
from tests.helpers import auth
from tests.holders.factories import holder_payload, make_holder
from tests.users.factories import make_user


async def test_adviser_of_another_centre_can_neither_read_list_nor_edit(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre_a = await make_centre(session)
    centre_b = await make_centre(session)
    adviser_b = await make_user(session, role="adviser", centre=centre_b)
    holder_a = await make_holder(session, centre_a)
    holder_b = await make_holder(session, centre_b)
    await session.commit()
    headers = auth(adviser_b, settings)

    assert (await client.get(f"/api/v1/holders/{holder_a.id}", headers=headers)).status_code == 404
    listed = await client.get("/api/v1/holders", headers=headers)
    assert [item["id"] for item in listed.json()["items"]] == [holder_b.id]
    filtered = await client.get(f"/api/v1/holders?centre_id={centre_a.id}", headers=headers)
    assert filtered.status_code == 404
    patched = await client.patch(
        f"/api/v1/holders/{holder_a.id}", headers=headers, json={"status": "dropped"}
    )
    assert patched.status_code == 404
    timeline = await client.get(f"/api/v1/holders/{holder_a.id}/timeline", headers=headers)
    assert timeline.status_code == 404
    await session.refresh(holder_a)
    assert (holder_a.status, holder_a.version) == ("in_support", 1)


async def test_viewer_reads_but_cannot_write(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    viewer = await make_user(session, role="viewer", centre=centre)
    holder = await make_holder(session, centre)
    await session.commit()
    headers = auth(viewer, settings)

    assert (await client.get(f"/api/v1/holders/{holder.id}", headers=headers)).status_code == 200
    assert (await client.get("/api/v1/holders", headers=headers)).json()["total"] == 1
    created = await client.post("/api/v1/holders", headers=headers, json=holder_payload())
    assert created.status_code == 403
    patched = await client.patch(
        f"/api/v1/holders/{holder.id}", headers=headers, json={"status": "dropped"}
    )
    assert patched.status_code == 403
    anonymised = await client.post(f"/api/v1/holders/{holder.id}/anonymise", headers=headers)
    assert anonymised.status_code == 403


async def test_managers_write_in_their_centre_and_admins_everywhere(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    other = await make_centre(session)
    manager = await make_user(session, role="manager", centre=centre)
    admin = await make_user(session, role="admin")
    foreign = await make_holder(session, other)
    await session.commit()

    created = await client.post(
        "/api/v1/holders", headers=auth(manager, settings), json=holder_payload()
    )
    assert created.status_code == 201
    assert created.json()["centre_id"] == centre.id
    out_of_scope = await client.patch(
        f"/api/v1/holders/{foreign.id}", headers=auth(manager, settings), json={"sector": "ict"}
    )
    assert out_of_scope.status_code == 404
    by_admin = await client.patch(
        f"/api/v1/holders/{foreign.id}", headers=auth(admin, settings), json={"sector": "ict"}
    )
    assert by_admin.status_code == 200
    assert by_admin.json()["sector"] == "ict"


async def test_two_patches_with_the_same_if_match_one_wins_the_other_is_412(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    colleague = await make_user(session, role="adviser", centre=centre)
    holder = await make_holder(session, centre)
    await session.commit()

    read = await client.get(f"/api/v1/holders/{holder.id}", headers=auth(adviser, settings))
    etag = read.headers["etag"]
    assert etag == '"1"'

    first = await client.patch(
        f"/api/v1/holders/{holder.id}",
        headers=auth(adviser, settings) | {"If-Match": etag},
        json={"province": "Settat"},
    )
    second = await client.patch(
        f"/api/v1/holders/{holder.id}",
        headers=auth(colleague, settings) | {"If-Match": etag},
        json={"province": "Berrechid"},
    )
    assert (first.status_code, second.status_code) == (200, 412)
    assert first.headers["etag"] == '"2"'
    assert second.headers["content-type"] == "application/problem+json"
    current = await client.get(f"/api/v1/holders/{holder.id}", headers=auth(adviser, settings))
    assert (current.json()["province"], current.json()["version"]) == ("Settat", 2)


async def test_write_racing_past_the_if_match_check_is_refused_not_overwritten(
    session: AsyncSession, settings: Settings
) -> None:
    """Both writers read version 1 and pass the If-Match check; the second UPDATE finds the
    row at version 2 and fails instead of overwriting the first one's change."""
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    holder = await make_holder(session, centre)
    await session.commit()
    holder_id = holder.id
    # Another transaction's committed write, behind this session's back: the session still
    # holds the holder at version 1.
    await session.execute(
        text("UPDATE holders SET province = 'Settat', version = 2 WHERE id = :id"),
        {"id": holder_id},
    )
    await session.commit()
    assert holder.version == 1
    with pytest.raises(StaleDataError):
        await service.update_holder(
            session,
            actor_of(adviser),
            holder_id,
            HolderUpdate(province="Berrechid"),
            '"1"',
            today=settings.today(),
            youth=service.YouthRange(18, 35),
        )
    await session.rollback()
    stored = await session.get(Holder, holder_id, populate_existing=True)
    assert stored is not None
    assert (stored.province, stored.version) == ("Settat", 2)


async def test_if_match_absent_still_bumps_version_and_wildcard_is_accepted(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    holder = await make_holder(session, centre)
    await session.commit()
    headers = auth(adviser, settings)
    plain = await client.patch(
        f"/api/v1/holders/{holder.id}", headers=headers, json={"province": "Settat"}
    )
    assert plain.json()["version"] == 2
    wildcard = await client.patch(
        f"/api/v1/holders/{holder.id}", headers=headers | {"If-Match": "*"}, json={"area": "rural"}
    )
    assert wildcard.json()["version"] == 3
