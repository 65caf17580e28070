"""Coaching input that the databases cannot store or that names no record: the same clear
422 on SQLite and PostgreSQL, naming the field, never a driver error."""

from typing import Any

from httpx import AsyncClient

from tests.coaching.world import URL, World, body
from tests.helpers import error_fields

BEYOND_INT = 2**31  # one past what an INTEGER id column holds
BEYOND_BIGINT = 2**63


async def test_nul_characters_in_text_are_422_naming_the_field(
    client: AsyncClient, world: World
) -> None:
    w = world
    for field in ("topic", "notes", "next_steps"):
        response = await client.post(
            URL, headers=w.h(w.adviser), json=body(w, **{field: "Plan\x00"})
        )
        assert (response.status_code, error_fields(response)) == (422, [field])
    created = await client.post(URL, headers=w.h(w.adviser), json=body(w))
    patched = await client.patch(
        f"{URL}/{created.json()['id']}", headers=w.h(w.adviser), json={"notes": "\x00"}
    )
    assert (patched.status_code, error_fields(patched)) == (422, ["notes"])


async def test_body_references_beyond_the_id_columns_are_answered_like_missing_ones(
    client: AsyncClient, world: World
) -> None:
    w = world
    a = w.holders[0].id

    async def errors(user: Any, **overrides: Any) -> tuple[int, Any]:
        response = await client.post(URL, headers=w.h(user), json=body(w, **overrides))
        return response.status_code, response.json().get("errors")

    for beyond in (BEYOND_INT, BEYOND_BIGINT, 0):
        listed = f"unknown holders or holders of another centre: {beyond}"
        expected = (422, [{"field": "holder_ids", "message": listed}])
        assert await errors(w.adviser, holder_ids=[beyond]) == expected
        assert (
            await errors(
                w.adviser,
                holder_ids=None,
                participants=[{"holder_id": beyond, "attendance": "absent"}],
            )
            == expected
        )
        for field, user, missing in (
            ("enterprise_id", w.adviser, {"enterprise_id": 999_999}),
            ("adviser_id", w.manager, {"adviser_id": 999_999}),
            ("centre_id", w.admin, {"centre_id": 999_999, "adviser_id": w.adviser.id}),
        ):
            answer = await errors(user, **missing)
            assert answer[0] == 422 and answer[1][0]["field"] == field
            assert await errors(user, **{**missing, field: beyond}) == answer, (field, beyond)
    assert (await errors(w.adviser, holder_ids=[a]))[0] == 201


async def test_id_parameters_beyond_the_id_columns_are_422_naming_them(
    client: AsyncClient, world: World
) -> None:
    w = world
    for param in ("adviser_id", "holder_id", "enterprise_id"):
        response = await client.get(URL, headers=w.h(w.adviser), params={param: BEYOND_BIGINT})
        assert (response.status_code, error_fields(response)) == (422, [param])
    for method in ("GET", "PATCH"):
        kwargs: dict[str, Any] = {"json": {}} if method == "PATCH" else {}
        response = await client.request(
            method, f"{URL}/{BEYOND_INT}", headers=w.h(w.adviser), **kwargs
        )
        assert (response.status_code, error_fields(response)) == (422, ["session_id"])
