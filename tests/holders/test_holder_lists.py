from datetime import date
from typing import Any

from httpx import AsyncClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.config import Settings
from app.holders.models import Holder
from tests.centres.factories import make_centre
from tests.helpers import auth, recorded_statements, selects
from tests.holders.factories import holder_payload, make_holder
from tests.users.factories import make_user


async def ids_of(client: AsyncClient, headers: dict[str, str], query: str) -> list[int]:
    response = await client.get(f"/api/v1/holders?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_q_matches_names_and_cin_ignoring_case_and_accents(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    other = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    foreign_adviser = await make_user(session, role="adviser", centre=other)
    await session.commit()
    headers = auth(adviser, settings)

    async def create(caller_headers: dict[str, str], **values: Any) -> int:
        response = await client.post(
            "/api/v1/holders", headers=caller_headers, json=holder_payload(**values)
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    hajar = await create(headers, first_name="Hâjar", last_name="Benâli", national_id="BK100200")
    arabic = await create(
        headers, first_name="فاطمة الزهراء", last_name="العلوي", national_id="J300400"
    )
    mixed = await create(headers, first_name="Fatima Zahra", last_name="بنعلي", national_id="X1")
    percent = await create(headers, first_name="Nour", last_name="100%", national_id="Z5")
    await create(
        auth(foreign_adviser, settings), first_name="Hajar", last_name="Idrissi", national_id="Q9"
    )

    assert await ids_of(client, headers, "q=hajar") == [hajar]
    assert await ids_of(client, headers, "q=HÂJAR") == [hajar]
    assert await ids_of(client, headers, "q=benali%20hajar") == [hajar]
    assert await ids_of(client, headers, "q=bk1002") == [hajar]
    assert await ids_of(client, headers, "q=j300400") == [arabic]
    assert await ids_of(client, headers, "q=فاطمة") == [arabic]
    assert await ids_of(client, headers, "q=بنعلي") == [mixed]
    assert await ids_of(client, headers, "q=fatima") == [mixed]
    assert await ids_of(client, headers, "q=%25") == [percent]
    assert await ids_of(client, headers, "q=_") == []
    assert await ids_of(client, headers, "q=nobody") == []

    renamed = await client.patch(
        f"/api/v1/holders/{mixed}", headers=headers, json={"first_name": "Zineb"}
    )
    assert renamed.status_code == 200
    assert await ids_of(client, headers, "q=fatima") == []
    assert await ids_of(client, headers, "q=zineb") == [mixed]


async def test_filters_sorting_and_pagination(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    other = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    colleague = await make_user(session, role="adviser", centre=centre)
    admin = await make_user(session, role="admin")
    a = await make_holder(
        session, centre, last_name="Amrani", status="eligible", gender="male", sector="ict"
    )
    b = await make_holder(
        session,
        centre,
        last_name="Berrada",
        area="rural",
        region="souss_massa",
        adviser_id=colleague.id,
    )
    c = await make_holder(session, centre, last_name="Chraibi", adviser_id=adviser.id)
    d = await make_holder(session, other, last_name="Doukkali")
    await session.commit()
    headers = auth(adviser, settings)

    assert await ids_of(client, headers, "") == [a.id, b.id, c.id]
    assert await ids_of(client, headers, "status=eligible") == [a.id]
    assert await ids_of(client, headers, "gender=male") == [a.id]
    assert await ids_of(client, headers, "area=rural") == [b.id]
    assert await ids_of(client, headers, "region=souss_massa") == [b.id]
    assert await ids_of(client, headers, "sector=ict") == [a.id]
    assert await ids_of(client, headers, f"adviser_id={colleague.id}") == [b.id]
    assert await ids_of(client, headers, "status=in_support&area=urban") == [c.id]
    assert await ids_of(client, headers, "sort=-last_name") == [c.id, b.id, a.id]
    assert await ids_of(client, auth(admin, settings), f"centre_id={other.id}") == [d.id]

    page = await client.get("/api/v1/holders?sort=last_name&limit=2&offset=1", headers=headers)
    assert page.json()["total"] == 3
    assert (page.json()["limit"], page.json()["offset"]) == (2, 1)
    assert [item["id"] for item in page.json()["items"]] == [b.id, c.id]

    for query, field in (
        ("status=retired", "status"),
        ("gender=x", "gender"),
        ("area=town", "area"),
        ("region=paris", "region"),
        ("sector=mining", "sector"),
        ("sort=national_id", "sort"),
        ("adviser_id=abc", "adviser_id"),
        ("limit=501", "limit"),
        ("offset=-1", "offset"),
        ("q=", "q"),
    ):
        response = await client.get(f"/api/v1/holders?{query}", headers=headers)
        assert response.status_code == 422, query
        assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_listing_ten_thousand_holders_costs_a_bounded_number_of_queries(
    client: AsyncClient, session: AsyncSession, settings: Settings, engine: AsyncEngine
) -> None:
    centre = await make_centre(session)
    other = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    statuses = ["applicant", "eligible", "in_support", "enterprise_created", "graduated"]
    rows = [
        {
            "centre_id": centre.id if n % 4 else other.id,
            "adviser_id": None,
            "first_name": "Bulk",
            "last_name": f"Holder {n}",
            "search_text": f"bulk holder {n} t{n}",
            "national_id": f"T{n}",
            "birth_date": date(2000, 1, 1),
            "gender": "female" if n % 2 else "male",
            "area": "urban",
            "household_vulnerable": False,
            "status": statuses[n % 5],
            "enrolled_on": date(2024, 1, 1),
            "version": 1,
        }
        for n in range(10_000)
    ]
    await session.execute(insert(Holder), rows)
    await session.commit()
    headers = auth(adviser, settings)
    expected_total = sum(
        1 for r in rows if r["centre_id"] == centre.id and r["status"] == "in_support"
    )

    for limit in (50, 500):
        with recorded_statements(engine) as statements:
            response = await client.get(
                f"/api/v1/holders?status=in_support&limit={limit}", headers=headers
            )
        assert response.status_code == 200
        body = response.json()
        assert body["total"] == expected_total == 1500
        assert len(body["items"]) == limit
        assert {item["centre_id"] for item in body["items"]} == {centre.id}
        # The caller, the count and the page: nothing per row.
        assert len(selects(statements)) == 3
