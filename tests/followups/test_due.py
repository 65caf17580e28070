"""`GET /follow-ups/due`: exactly the expected enterprises of a hand-built centre."""

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.pagination import PageParams
from app.followups.service import follow_ups_due
from app.users.models import User
from app.users.service import actor_of
from tests.centres.factories import make_centre
from tests.enterprises.factories import make_enterprise
from tests.followups.factories import make_follow_up
from tests.helpers import auth
from tests.holders.factories import make_holder
from tests.users.factories import make_user

URL = "/api/v1/follow-ups/due"
AS_OF = date(2025, 6, 30)


@dataclass
class Centre:
    settings: Settings
    centre_id: int
    other_centre_id: int
    adviser: User
    colleague: User
    stranger: User
    admin: User
    ids: dict[str, int]

    def h(self, user: User) -> dict[str, str]:
        return auth(user, self.settings)


@pytest.fixture
async def centre(session: AsyncSession, settings: Settings) -> Centre:
    """With the default 90-day cadence, as of 2025-06-30:

    overdue_visit   visited 2025-03-01, no next date       due 2025-05-30 (31 days)
    never_visited   created 2025-01-10, never visited      due 2025-04-10 (81 days)
    closes_later    visited 2025-02-01; closed 2025-08-01  due 2025-05-02 (59 days)
                    by a visit after as_of (ignored)
    due_today       visited 2025-06-01, next 2025-06-30    due 2025-06-30 (0 days)
    on_time         visited 2025-05-01                     due 2025-07-30 (not yet)
    new             created 2025-05-01, never visited      due 2025-07-30 (not yet)
    next_later      visited 2025-06-20, next 2025-07-15    not yet
    superseded      2025-01-05 (next 2025-02-01), then     due 2025-07-14 (not yet)
                    2025-04-15 without a next date
    closed          closed 2025-04-01                      excluded
    project         no created_on                          excluded
    future          created 2025-07-01                     excluded
    foreign         another centre, never visited          excluded for the centre's staff
    """
    home = await make_centre(session)
    other = await make_centre(session, region="oriental")
    adviser = await make_user(session, "adviser", home)
    colleague = await make_user(session, "adviser", home)
    stranger = await make_user(session, "adviser", other)
    mine = await make_holder(session, home, adviser_id=adviser.id)
    theirs = await make_holder(session, home, adviser_id=colleague.id)
    unassigned = await make_holder(session, home)
    outsider = await make_holder(session, other)

    async def enterprise(owners: list[Any], created: date | None, **kw: Any) -> Any:
        return await make_enterprise(session, home, owners, created_on=created, **kw)

    e: dict[str, Any] = {
        "overdue_visit": await enterprise([mine], date(2024, 6, 1), name="Tissage Amal"),
        "never_visited": await enterprise([theirs], date(2025, 1, 10), name="Ferme Atlas"),
        "closes_later": await enterprise(
            [mine, theirs],
            date(2024, 11, 1),
            name="Épicerie Nour",
            status="closed",
            closed_on=date(2025, 8, 1),
        ),
        "due_today": await enterprise([unassigned], date(2024, 6, 1), name="Miel Ourika"),
        "on_time": await enterprise([mine], date(2024, 6, 1)),
        "new": await enterprise([mine], date(2025, 5, 1)),
        "next_later": await enterprise([mine], date(2024, 6, 1)),
        "superseded": await enterprise([mine], date(2024, 6, 1)),
        "closed": await enterprise(
            [mine], date(2024, 6, 1), status="closed", closed_on=date(2025, 4, 1)
        ),
        "project": await enterprise([mine], None, status="project"),
        "future": await enterprise([mine], date(2025, 7, 1)),
    }
    e["foreign"] = await make_enterprise(session, other, [outsider], created_on=date(2024, 1, 1))

    async def visit(name: str, day: date, next_on: date | None = None, **kw: Any) -> None:
        await make_follow_up(
            session, e[name], adviser, visited_on=day, next_follow_up_on=next_on, **kw
        )

    await visit("overdue_visit", date(2024, 12, 1))
    await visit("overdue_visit", date(2025, 3, 1))
    await visit("closes_later", date(2025, 2, 1))
    await visit("closes_later", date(2025, 8, 1), enterprise_status="closed")
    await visit("due_today", date(2025, 6, 1), date(2025, 6, 30))
    await visit("on_time", date(2025, 5, 1))
    await visit("next_later", date(2025, 6, 20), date(2025, 7, 15))
    await visit("superseded", date(2025, 1, 5), date(2025, 2, 1))
    await visit("superseded", date(2025, 4, 15))
    await visit("closed", date(2025, 1, 2))
    await session.commit()
    return Centre(
        settings=settings,
        centre_id=home.id,
        other_centre_id=other.id,
        adviser=adviser,
        colleague=colleague,
        stranger=stranger,
        admin=await make_user(session, "admin"),
        ids={name: ent.id for name, ent in e.items()},
    )


async def due(client: AsyncClient, c: Centre, user: User, **params: Any) -> dict[str, Any]:
    response = await client.get(
        URL, headers=c.h(user), params={"as_of": AS_OF.isoformat(), **params}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_due_list_of_a_hand_built_centre(client: AsyncClient, centre: Centre) -> None:
    c = centre
    page = await due(client, c, c.adviser)
    assert page == {
        "items": [
            {
                "enterprise_id": c.ids["never_visited"],
                "name": "Ferme Atlas",
                "centre_id": c.centre_id,
                "last_visited_on": None,
                "due_on": "2025-04-10",
                "days_overdue": 81,
            },
            {
                "enterprise_id": c.ids["closes_later"],
                "name": "Épicerie Nour",
                "centre_id": c.centre_id,
                "last_visited_on": "2025-02-01",
                "due_on": "2025-05-02",
                "days_overdue": 59,
            },
            {
                "enterprise_id": c.ids["overdue_visit"],
                "name": "Tissage Amal",
                "centre_id": c.centre_id,
                "last_visited_on": "2025-03-01",
                "due_on": "2025-05-30",
                "days_overdue": 31,
            },
            {
                "enterprise_id": c.ids["due_today"],
                "name": "Miel Ourika",
                "centre_id": c.centre_id,
                "last_visited_on": "2025-06-01",
                "due_on": "2025-06-30",
                "days_overdue": 0,
            },
        ],
        "total": 4,
        "limit": 50,
        "offset": 0,
    }


async def test_due_list_pages_filters_and_scopes(client: AsyncClient, centre: Centre) -> None:
    c = centre

    def ids(page: dict[str, Any]) -> list[int]:
        return [item["enterprise_id"] for item in page["items"]]

    paged = await due(client, c, c.adviser, limit=2, offset=1)
    assert (paged["total"], ids(paged)) == (4, [c.ids["closes_later"], c.ids["overdue_visit"]])
    assert ids(await due(client, c, c.adviser, adviser_id=c.adviser.id)) == [
        c.ids["closes_later"],
        c.ids["overdue_visit"],
    ]
    assert ids(await due(client, c, c.adviser, adviser_id=c.colleague.id)) == [
        c.ids["never_visited"],
        c.ids["closes_later"],
    ]
    assert ids(await due(client, c, c.stranger)) == [c.ids["foreign"]]
    everyone = await due(client, c, c.admin)
    assert everyone["total"] == 5
    assert ids(everyone)[0] == c.ids["foreign"]  # due 2024-03-31, the most overdue
    assert ids(await due(client, c, c.admin, centre_id=c.other_centre_id)) == [c.ids["foreign"]]
    # Earlier, visits after that day are ignored: `due_today` and `next_later` had not been
    # visited yet (due 2024-06-01 + 90 = 2024-08-30), `overdue_visit` was not due yet.
    earlier = await due(client, c, c.adviser, as_of="2025-05-02")
    assert [(i["enterprise_id"], i["due_on"], i["days_overdue"]) for i in earlier["items"]] == [
        (c.ids["due_today"], "2024-08-30", 245),
        (c.ids["next_later"], "2024-08-30", 245),
        (c.ids["never_visited"], "2025-04-10", 22),
        (c.ids["closes_later"], "2025-05-02", 0),
    ]

    bad_queries: list[tuple[dict[str, str | int], int]] = [
        ({"centre_id": c.other_centre_id}, 404),
        ({"as_of": "2025-06-31"}, 422),
        ({"limit": 0}, 422),
        ({"adviser_id": "me"}, 422),
    ]
    for params, status in bad_queries:
        response = await client.get(
            URL, headers=c.h(c.adviser), params={"as_of": AS_OF.isoformat(), **params}
        )
        assert response.status_code == status, params


async def test_due_list_follows_the_cadence(session: AsyncSession, centre: Centre) -> None:
    c = centre
    rows, total = await follow_ups_due(
        session, actor_of(c.adviser), PageParams(limit=50, offset=0), as_of=AS_OF, cadence_days=60
    )
    # With 60 days, `on_time` (2025-05-01 + 60 = 2025-06-30) and `superseded`
    # (2025-04-15 + 60 = 2025-06-14) are due too; `new` (2025-06-30) as well.
    assert [(r.enterprise_id, r.due_on, r.days_overdue) for r in rows] == [
        (c.ids["never_visited"], date(2025, 3, 11), 111),
        (c.ids["closes_later"], date(2025, 4, 2), 89),
        (c.ids["overdue_visit"], date(2025, 4, 30), 61),
        (c.ids["superseded"], date(2025, 6, 14), 16),
        (c.ids["due_today"], date(2025, 6, 30), 0),
        (c.ids["on_time"], date(2025, 6, 30), 0),
        (c.ids["new"], date(2025, 6, 30), 0),
    ]
    assert total == 7
