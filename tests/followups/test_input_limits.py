"""Follow-up and worklist input at the edges: text the databases cannot store, ids that
no column holds, the first days of the calendar. A clear answer, never a driver error."""

from datetime import date
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from tests.centres.factories import make_centre
from tests.coaching.factories import make_coaching_session
from tests.followups.world import URL, World, body
from tests.helpers import auth, error_fields
from tests.holders.factories import make_holder
from tests.users.factories import make_user

BEYOND_INT = 2**31  # one past what an INTEGER id column holds
BEYOND_BIGINT = 2**63


async def test_nul_characters_in_notes_are_422_naming_the_field(
    client: AsyncClient, world: World
) -> None:
    w = world
    response = await client.post(URL, headers=w.h(w.adviser), json=body(w, notes="Visite\x00"))
    assert (response.status_code, error_fields(response)) == (422, ["notes"])


async def test_body_references_beyond_the_id_columns_are_answered_like_missing_ones(
    client: AsyncClient, world: World
) -> None:
    w = world

    async def errors(user: Any, **overrides: Any) -> tuple[int, Any]:
        response = await client.post(URL, headers=w.h(user), json=body(w, **overrides))
        return response.status_code, response.json().get("errors")

    missing_enterprise = await errors(w.adviser, enterprise_id=999_999)
    missing_adviser = await errors(w.manager, adviser_id=999_999)
    assert missing_enterprise[0] == missing_adviser[0] == 422
    for beyond in (BEYOND_INT, BEYOND_BIGINT, 0):
        assert await errors(w.adviser, enterprise_id=beyond) == missing_enterprise, beyond
        assert await errors(w.manager, adviser_id=beyond) == missing_adviser, beyond


async def test_id_parameters_beyond_the_id_columns_are_422_naming_them(
    client: AsyncClient, world: World
) -> None:
    w = world
    for url, param in (
        (URL, "enterprise_id"),
        (URL, "adviser_id"),
        (f"{URL}/due", "adviser_id"),
    ):
        response = await client.get(url, headers=w.h(w.adviser), params={param: BEYOND_BIGINT})
        assert (response.status_code, error_fields(response)) == (422, [param]), url
    for method in ("GET", "PATCH"):
        kwargs: dict[str, Any] = {"json": {}} if method == "PATCH" else {}
        response = await client.request(
            method, f"{URL}/{BEYOND_INT}", headers=w.h(w.adviser), **kwargs
        )
        assert (response.status_code, error_fields(response)) == (422, ["follow_up_id"])


async def test_worklist_in_the_first_days_of_the_calendar(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """The 60-day window before 0001-01-20 would start before the first representable day:
    it starts on 0001-01-01 instead."""
    centre = await make_centre(session)
    adviser = await make_user(session, "adviser", centre)
    coached = await make_holder(
        session,
        centre,
        adviser_id=adviser.id,
        first_name="Amina",
        last_name="Idrissi",
        enrolled_on=date(1, 1, 1),
    )
    never = await make_holder(
        session,
        centre,
        adviser_id=adviser.id,
        first_name="Omar",
        last_name="Tazi",
        enrolled_on=date(1, 1, 1),
    )
    await make_coaching_session(session, adviser, [coached], held_on=date(1, 1, 1))
    await session.commit()

    for as_of, without_session in (
        (
            "0001-01-01",
            [{"holder_id": never.id, "holder_name": "Omar Tazi", "last_session_on": None}],
        ),
        (
            "0001-01-20",
            [{"holder_id": never.id, "holder_name": "Omar Tazi", "last_session_on": None}],
        ),
    ):
        response = await client.get(
            "/api/v1/me/worklist", headers=auth(adviser, settings), params={"as_of": as_of}
        )
        assert response.status_code == 200, (as_of, response.text)
        assert response.json() == {
            "as_of": as_of,
            "loans_in_arrears": [],
            "follow_ups_due": [],
            "holders_without_session": without_session,
        }
