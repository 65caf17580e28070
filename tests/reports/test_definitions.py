"""The definitions of docs/ARITHMETIC.md on hand-built cases, each figure worked out by hand (not by the
reference implementation): who counts as reached or coached, and the month-end and
same-day edges of impact, portfolio and flows."""

from datetime import date
from decimal import Decimal
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from tests.centres.factories import make_centre
from tests.coaching.factories import make_coaching_session
from tests.helpers import auth
from tests.holders.factories import make_holder
from tests.loans.factories import make_lender, make_product
from tests.reports.factories import insert_planned_loan
from tests.users.factories import make_user


async def get_report(
    client: AsyncClient, headers: dict[str, str], report: str, **params: str
) -> dict[str, Any]:
    response = await client.get(f"/api/v1/reports/{report}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def impact_row(
    key: str | None,
    *,
    holders: int,
    coached_holders: int,
    loan_uptake_6m: str | None,
) -> dict[str, Any]:
    """An impact row of holders only (no enterprise)."""
    return {
        "key": key,
        "label": "Total" if key is None else key.capitalize(),
        "holders": holders,
        "enterprises_created": 0,
        "active_enterprises": 0,
        "closed_enterprises": 0,
        "survival_rate_12m": None,
        "survival_rate_24m": None,
        "jobs": 0,
        "coached_holders": coached_holders,
        "loan_uptake_6m": loan_uptake_6m,
    }


async def test_a_holder_marked_absent_is_neither_reached_nor_coached(
    session: AsyncSession, client: AsyncClient, settings: Settings
) -> None:
    """ "holders_reached = distinct holders among participants", "coached_holders = holders
    with at least one coaching session": a holder marked `absent` took no part in the
    session (as the adviser's worklist already reads it), so the session neither reaches
    nor coaches them, nor starts their 6-month loan-uptake window."""
    centre = await make_centre(session)
    adviser = await make_user(session, "adviser", centre)
    amina = await make_holder(session, centre, gender="female")
    salma = await make_holder(session, centre, gender="female")
    karim = await make_holder(session, centre, gender="male")
    youssef = await make_holder(session, centre, gender="male")
    workshop = {amina: "present", karim: "present", salma: "absent", youssef: "absent"}
    await make_coaching_session(
        session,
        adviser,
        list(workshop),
        held_on=date(2025, 3, 10),
        absent=[holder for holder, mark in workshop.items() if mark == "absent"],
        duration_minutes=90,
    )
    await make_coaching_session(
        session,
        adviser,
        [salma],
        held_on=date(2025, 3, 20),
        absent=[salma],
        kind="training",
    )
    await make_coaching_session(session, adviser, [salma], held_on=date(2025, 5, 1))
    product = await make_product(session, await make_lender(session), annual_rate=Decimal("0.00"))
    # Within 6 months of Salma's first session attended (05-01), not of the 03-10 one.
    await insert_planned_loan(session, salma, product, disbursed_on=date(2025, 10, 15))
    headers = auth(await make_user(session, "manager"), settings)
    await session.commit()

    march = await get_report(
        client, headers, "coaching", group_by="kind", **{"from": "2025-03-01", "to": "2025-03-31"}
    )
    assert [
        (row["key"], row["sessions"], row["hours"], row["holders_reached"], row["female_share"])
        for row in [*march["rows"], march["total"]]
    ] == [
        ("advice", 1, "1.50", 2, "0.5000"),
        ("training", 1, "1.00", 0, None),
        (None, 2, "2.50", 2, "0.5000"),
    ]

    impact = await get_report(client, headers, "impact", as_of="2025-12-31", group_by="gender")
    assert impact["rows"] == [
        impact_row("female", holders=2, coached_holders=2, loan_uptake_6m="0.5000"),
        impact_row("male", holders=2, coached_holders=1, loan_uptake_6m="0.0000"),
    ]
    assert impact["total"] == impact_row(
        None, holders=4, coached_holders=3, loan_uptake_6m="0.3333"
    )
