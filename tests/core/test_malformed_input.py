"""However malformed, a request gets a problem+json 4xx and changes nothing."""

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.core.config import Settings
from tests.helpers import auth
from tests.users.factories import make_user


@pytest.fixture
async def admin_headers(session: AsyncSession, settings: Settings) -> dict[str, str]:
    admin = await make_user(session, role="admin")
    await session.commit()
    return auth(admin, settings)


def assert_problem(response_status: int, content_type: str, expected: int) -> None:
    assert response_status == expected
    assert content_type == "application/problem+json"


async def count_centres(session: AsyncSession) -> int:
    return (await session.execute(select(func.count(Centre.id)))).scalar_one()


async def test_bad_json_is_400(
    client: AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    response = await client.post(
        "/api/v1/centres",
        headers=admin_headers | {"Content-Type": "application/json"},
        content=b'{"code": "X",',
    )
    assert_problem(response.status_code, response.headers["content-type"], 400)
    assert response.json()["title"] == "Malformed JSON"
    assert await count_centres(session) == 0


async def test_wrong_content_type_is_415(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/centres",
        headers=admin_headers | {"Content-Type": "text/plain"},
        content=b"code=X",
    )
    assert_problem(response.status_code, response.headers["content-type"], 415)


async def test_huge_body_is_413(client: AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/centres",
        headers=admin_headers | {"Content-Type": "application/json"},
        content=b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}',
    )
    assert_problem(response.status_code, response.headers["content-type"], 413)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "X", "name": "N", "kind": "bank", "region": "oriental", "city": "C"}, "kind"),
        ({"code": "X", "name": "N", "kind": "other", "region": "paris", "city": "C"}, "region"),
        ({"code": 12, "name": "N", "kind": "other", "region": "oriental", "city": "C"}, "code"),
        (
            {
                "code": "X",
                "name": "N",
                "kind": "other",
                "region": "oriental",
                "city": "C",
                "opened_on": "yesterday",
            },
            "opened_on",
        ),
        (
            {
                "code": "X",
                "name": "N",
                "kind": "other",
                "region": "oriental",
                "city": "C",
                "extra": 1,
            },
            "extra",
        ),
        ({"name": "N", "kind": "other", "region": "oriental", "city": "C"}, "code"),
        ([1, 2, 3], "body"),
    ],
)
async def test_invalid_fields_are_422_naming_the_field(
    client: AsyncClient,
    admin_headers: dict[str, str],
    session: AsyncSession,
    body: object,
    field: str,
) -> None:
    response = await client.post("/api/v1/centres", headers=admin_headers, json=body)
    assert_problem(response.status_code, response.headers["content-type"], 422)
    assert field in [error["field"] for error in response.json()["errors"]]
    assert await count_centres(session) == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("offset=-1", "offset"),
        ("limit=abc", "limit"),
        ("sort=password", "sort"),
        ("sort=-nope", "sort"),
    ],
)
async def test_bad_list_parameters_are_422(
    client: AsyncClient, admin_headers: dict[str, str], query: str, field: str
) -> None:
    response = await client.get(f"/api/v1/centres?{query}", headers=admin_headers)
    assert_problem(response.status_code, response.headers["content-type"], 422)
    assert [error["field"] for error in response.json()["errors"]] == [field]


async def test_limits_at_the_bounds_are_accepted(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    for limit in (1, 500):
        response = await client.get(f"/api/v1/centres?limit={limit}", headers=admin_headers)
        assert response.status_code == 200
        assert response.json()["limit"] == limit


async def test_non_integer_path_id_and_unknown_route_are_problem_4xx(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get("/api/v1/centres/abc", headers=admin_headers)
    assert_problem(response.status_code, response.headers["content-type"], 422)
    response = await client.get("/api/v1/centres/99999999999999999999999", headers=admin_headers)
    assert_problem(response.status_code, response.headers["content-type"], 422)
    assert [e["field"] for e in response.json()["errors"]] == ["centre_id"]
    response = await client.get("/api/v1/users/0", headers=admin_headers)
    assert_problem(response.status_code, response.headers["content-type"], 422)
    assert [e["field"] for e in response.json()["errors"]] == ["user_id"]
    response = await client.get("/api/v1/nowhere", headers=admin_headers)
    assert_problem(response.status_code, response.headers["content-type"], 404)


async def test_nul_characters_are_422_naming_the_field(
    client: AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    body = {"code": "N\u0000L", "name": "N", "kind": "other", "region": "oriental", "city": "C"}
    response = await client.post("/api/v1/centres", headers=admin_headers, json=body)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["code"]
    assert await count_centres(session) == 0

    listed = await client.get("/api/v1/audit-events?entity=a%00b", headers=admin_headers)
    assert listed.status_code == 422
    assert listed.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in listed.json()["errors"]] == ["entity"]

    login = await client.post(
        "/api/v1/auth/token", data={"username": "a\u0000@centre.ma", "password": "x"}
    )
    assert login.status_code == 401
