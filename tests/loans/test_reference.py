"""The lender's loan number: set at application or by PATCH, unique per lender, filterable."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tests.centres.factories import make_centre
from tests.helpers import Api
from tests.holders.factories import make_holder
from tests.loans.factories import LoanWorld, make_lender, make_product


def application(world: LoanWorld, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "holder_id": world.holder.id,
        "product_id": world.product.id,
        "principal": "5000.00",
        "term": 12,
        "purpose": "Machine à coudre",
        "applied_on": "2025-01-06",
    }
    body.update(overrides)
    return body


async def test_reference_set_at_application_is_shown_and_filters_the_list(
    as_adviser: Api, world: LoanWorld
) -> None:
    created = await as_adviser.post("/api/v1/loans", application(world, reference=" AMC-1 "))
    assert created.status_code == 201, created.text
    assert created.json()["reference"] == "AMC-1"
    other = await as_adviser.post("/api/v1/loans", application(world))
    assert other.json()["reference"] is None

    listed = await as_adviser.get("/api/v1/loans", reference="AMC-1")
    assert [item["id"] for item in listed.json()["items"]] == [created.json()["id"]]
    fetched = await as_adviser.get(f"/api/v1/loans/{created.json()['id']}")
    assert fetched.json()["reference"] == "AMC-1"


async def test_duplicate_reference_of_one_lender_is_409_but_another_lender_may_reuse_it(
    as_adviser: Api, world: LoanWorld, session: AsyncSession
) -> None:
    first = await as_adviser.post("/api/v1/loans", application(world, reference="R-7"))
    assert first.status_code == 201
    again = await as_adviser.post("/api/v1/loans", application(world, reference="R-7"))
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "reference"

    lender = await make_lender(session)
    product = await make_product(session, lender)
    await session.commit()
    elsewhere = await as_adviser.post(
        "/api/v1/loans", application(world, product_id=product.id, reference="R-7")
    )
    assert elsewhere.status_code == 201, elsewhere.text


async def test_reference_longer_than_40_characters_is_422(
    as_adviser: Api, world: LoanWorld
) -> None:
    response = await as_adviser.post("/api/v1/loans", application(world, reference="X" * 41))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "reference"


async def test_patch_sets_and_clears_the_reference_honouring_if_match(
    as_adviser: Api, as_viewer: Api, world: LoanWorld, session: AsyncSession
) -> None:
    taken = await as_adviser.post("/api/v1/loans", application(world, reference="TAKEN"))
    loan = (await as_adviser.post("/api/v1/loans", application(world))).json()
    url = f"/api/v1/loans/{loan['id']}"

    stale = await as_adviser.patch(url, {"reference": "NEW"}, **{"If-Match": '"99"'})
    assert stale.status_code == 412
    duplicate = await as_adviser.patch(url, {"reference": "TAKEN"})
    assert duplicate.status_code == 409
    assert taken.status_code == 201
    forbidden = await as_viewer.patch(url, {"reference": "NEW"})
    assert forbidden.status_code == 403

    changed = await as_adviser.patch(url, {"reference": "NEW"}, **{"If-Match": '"1"'})
    assert changed.status_code == 200, changed.text
    assert changed.json()["reference"] == "NEW"
    assert changed.json()["version"] == 2
    assert changed.headers["ETag"] == '"2"'
    cleared = await as_adviser.patch(url, {"reference": None})
    assert cleared.json()["reference"] is None


async def test_patch_of_a_loan_in_another_centre_is_404(
    as_adviser: Api, as_admin: Api, world: LoanWorld, session: AsyncSession
) -> None:
    centre = await make_centre(session)
    holder = await make_holder(session, centre)
    await session.commit()
    loan = await as_admin.post("/api/v1/loans", application(world, holder_id=holder.id))
    assert loan.status_code == 201, loan.text
    response = await as_adviser.patch(f"/api/v1/loans/{loan.json()['id']}", {"reference": "A"})
    assert response.status_code == 404
