"""Enterprise input that the databases cannot store or that names no record: the same
clear 422 on SQLite and PostgreSQL, naming the field."""

from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from tests.centres.factories import make_centre
from tests.enterprises.factories import enterprise_payload, make_enterprise
from tests.helpers import auth, error_fields
from tests.holders.factories import make_holder
from tests.users.factories import make_user

URL = "/api/v1/enterprises"


async def test_nul_characters_in_text_are_422_naming_the_field(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, "adviser", centre)
    owner = await make_holder(session, centre)
    enterprise = await make_enterprise(session, centre, [owner])
    await session.commit()
    headers = auth(adviser, settings)

    for field in ("name", "activity"):
        response = await client.post(
            URL, headers=headers, json=enterprise_payload([owner.id], **{field: "Atelier\x00"})
        )
        assert (response.status_code, error_fields(response)) == (422, [field])
    patched = await client.patch(f"{URL}/{enterprise.id}", headers=headers, json={"name": "\x00"})
    assert (patched.status_code, error_fields(patched)) == (422, ["name"])
    searched = await client.get(URL, headers=headers, params={"q": "atelier\x00"})
    assert (searched.status_code, error_fields(searched)) == (422, ["q"])


async def test_ids_beyond_the_id_columns(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, "adviser", centre)
    owner = await make_holder(session, centre)
    await session.commit()
    headers = auth(adviser, settings)

    for method in ("GET", "PATCH"):
        kwargs: dict[str, Any] = {"json": {}} if method == "PATCH" else {}
        response = await client.request(method, f"{URL}/{2**31}", headers=headers, **kwargs)
        assert (response.status_code, error_fields(response)) == (422, ["enterprise_id"])
    listed = await client.get(URL, headers=headers, params={"owner_id": 2**63})
    assert (listed.status_code, error_fields(listed)) == (422, ["owner_id"])

    # An owner id that no column can hold names no holder: the answer of a missing one.
    for owner_id in (999_999, 2**31, 2**63, 0):
        response = await client.post(
            URL, headers=headers, json=enterprise_payload([owner.id, owner_id])
        )
        assert (response.status_code, response.json()["errors"]) == (
            422,
            [
                {
                    "field": "owner_ids",
                    "message": f"unknown holders or holders of another centre: {owner_id}",
                }
            ],
        )
