"""Input that the databases cannot store or that names no record: the same clear 422 on
SQLite and PostgreSQL, naming the field, never a driver error."""

from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from tests.centres.factories import make_centre
from tests.helpers import auth, error_fields
from tests.holders.factories import holder_payload, make_holder
from tests.users.factories import make_user

URL = "/api/v1/holders"
BEYOND_INT = 2**31  # one past what an INTEGER id column holds
BEYOND_BIGINT = 2**63


async def test_nul_characters_in_text_are_422_naming_the_field(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, "adviser", centre)
    holder = await make_holder(session, centre)
    await session.commit()
    headers = auth(adviser, settings)

    for field in ("first_name", "last_name", "address", "province", "project_summary"):
        response = await client.post(
            URL, headers=headers, json=holder_payload(**{field: "Ha\x00jar"})
        )
        assert response.status_code == 422, field
        assert error_fields(response) == [field]
    patched = await client.patch(f"{URL}/{holder.id}", headers=headers, json={"last_name": "\x00"})
    assert (patched.status_code, error_fields(patched)) == (422, ["last_name"])
    searched = await client.get(URL, headers=headers, params={"q": "ha\x00jar"})
    assert (searched.status_code, error_fields(searched)) == (422, ["q"])


async def test_ids_beyond_the_id_columns_are_422_naming_the_path_parameter(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, "adviser", centre)
    admin = await make_user(session, "admin")
    await session.commit()
    for method, path, headers in (
        ("GET", f"{URL}/{BEYOND_INT}", auth(adviser, settings)),
        ("PATCH", f"{URL}/{BEYOND_INT}", auth(adviser, settings)),
        ("POST", f"{URL}/{BEYOND_BIGINT}/anonymise", auth(admin, settings)),
        ("GET", f"{URL}/{BEYOND_BIGINT}/timeline", auth(adviser, settings)),
        ("GET", f"{URL}/0", auth(adviser, settings)),
    ):
        kwargs: dict[str, Any] = {"json": {}} if method != "GET" else {}
        response = await client.request(method, path, headers=headers, **kwargs)
        assert response.status_code == 422, (method, path)
        assert error_fields(response) == ["holder_id"], (method, path)


async def test_body_references_beyond_the_id_columns_are_answered_like_missing_ones(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, "adviser", centre)
    admin = await make_user(session, "admin")
    await session.commit()

    async def refusal(headers: dict[str, str], **overrides: object) -> tuple[int, object]:
        response = await client.post(URL, headers=headers, json=holder_payload(**overrides))
        return response.status_code, response.json().get("errors")

    missing_centre = await refusal(auth(admin, settings), centre_id=999_999)
    assert missing_centre == (
        422,
        [{"field": "centre_id", "message": "no such centre in your scope"}],
    )
    for centre_id in (BEYOND_INT, BEYOND_BIGINT, 0):
        assert await refusal(auth(admin, settings), centre_id=centre_id) == missing_centre

    missing_adviser = await refusal(auth(adviser, settings), adviser_id=999_999)
    assert missing_adviser[0] == 422
    for adviser_id in (BEYOND_INT, BEYOND_BIGINT, -1):
        assert await refusal(auth(adviser, settings), adviser_id=adviser_id) == missing_adviser
