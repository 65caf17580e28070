"""`GET /me/worklist`: exactly the expected records of a hand-built centre, and a fixed
number of statements whatever the number of holders."""

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.coaching.models import CoachingSession, SessionParticipant
from app.core.config import Settings
from app.holders.models import Holder
from app.users.models import User
from tests.centres.factories import make_centre
from tests.coaching.factories import make_coaching_session
from tests.enterprises.factories import make_enterprise
from tests.followups.factories import make_follow_up
from tests.helpers import auth
from tests.holders.factories import make_holder
from tests.loans.factories import Due, make_lender, make_loan_with_history, make_product
from tests.users.factories import make_user

URL = "/api/v1/me/worklist"
AS_OF = date(2025, 6, 30)  # the 60-day window is 2025-05-02 .. 2025-06-30


@dataclass
class Centre:
    settings: Settings
    centre_id: int
    adviser: User
    colleague: User
    manager: User
    admin: User
    viewer: User
    holders: dict[str, Holder]
    loans: dict[str, int]
    enterprises: dict[str, int]

    def h(self, user: User) -> dict[str, str]:
        return auth(user, self.settings)


def paid(day: date, principal: str = "1000.00", interest: str = "100.00") -> tuple[date, str, str]:
    return (day, principal, interest)


def monthly(
    first: date, count: int, principal: str = "1000.00", interest: str = "100.00"
) -> list[Due]:
    return [
        Due(
            date(
                first.year + (first.month - 1 + k) // 12, (first.month - 1 + k) % 12 + 1, first.day
            ),
            principal,
            interest,
        )
        for k in range(count)
    ]


@pytest.fixture
async def centre(session: AsyncSession, settings: Settings) -> Centre:
    home = await make_centre(session)
    other = await make_centre(session, region="souss_massa")
    adviser = await make_user(session, "adviser", home)
    colleague = await make_user(session, "adviser", home)
    stranger = await make_user(session, "adviser", other)

    async def holder(name: str, **kw: Any) -> Holder:
        kw.setdefault("adviser_id", adviser.id)
        return await make_holder(session, home, first_name=name, last_name="Benali", **kw)

    hs: dict[str, Holder] = {
        "never": await holder("Amina"),
        "applicant": await holder("Youssef", status="applicant"),
        "after": await holder("Salma", status="eligible"),
        "absent": await holder("Karim", status="enterprise_created"),
        "old": await holder("Hind"),
        "boundary_out": await holder("Omar"),
        "boundary_in": await holder("Imane"),
        "recent": await holder("Rachid"),
        "graduated": await holder("Zineb", status="graduated"),
        "dropped": await holder("Mehdi", status="dropped"),
        "enrolled_later": await holder("Nadia", enrolled_on=date(2025, 7, 10)),
        "colleagues": await holder("Said", adviser_id=colleague.id),
        "unassigned": await holder("Laila", adviser_id=None),
    }
    hs["outsider"] = await make_holder(session, other, adviser_id=stranger.id)

    await make_coaching_session(session, adviser, [hs["recent"]], held_on=date(2025, 6, 1))
    await make_coaching_session(session, adviser, [hs["old"]], held_on=date(2025, 4, 15))
    await make_coaching_session(session, adviser, [hs["boundary_in"]], held_on=date(2025, 5, 2))
    await make_coaching_session(session, adviser, [hs["boundary_out"]], held_on=date(2025, 5, 1))
    await make_coaching_session(session, adviser, [hs["absent"]], held_on=date(2025, 3, 1))
    await make_coaching_session(
        session,
        adviser,
        [hs["absent"], hs["recent"]],
        held_on=date(2025, 6, 10),
        absent=[hs["absent"]],
        kind="training",
    )
    await make_coaching_session(session, adviser, [hs["after"]], held_on=date(2025, 7, 5))
    await make_coaching_session(session, colleague, [hs["colleagues"]], held_on=date(2025, 6, 20))

    product = await make_product(session, await make_lender(session))
    late = monthly(date(2025, 2, 15), 6)  # due 02-15 .. 07-15
    late[0].payments = [paid(date(2025, 2, 14))]
    late[1].payments = [paid(date(2025, 3, 15))]
    late[2].payments = [paid(date(2025, 4, 20), "500.00", "100.00")]
    recently_late = monthly(date(2025, 6, 15), 3, "500.00", "50.00")
    paid_after = monthly(date(2025, 6, 1), 2)
    paid_after[0].payments = [paid(date(2025, 7, 2))]
    current = monthly(date(2025, 5, 30), 3)  # 06-30 is due that day: not overdue yet
    current[0].payments = [paid(date(2025, 5, 30))]
    repaid = monthly(date(2025, 3, 1), 2)
    repaid[0].payments = [paid(date(2025, 3, 1))]
    repaid[1].payments = [paid(date(2025, 4, 1))]

    loans = {
        "late": await make_loan_with_history(
            session, hs["never"], product, disbursed_on=date(2025, 1, 15), schedule=late
        ),
        "recently_late": await make_loan_with_history(
            session, hs["old"], product, disbursed_on=date(2025, 5, 15), schedule=recently_late
        ),
        "paid_after": await make_loan_with_history(
            session, hs["boundary_in"], product, disbursed_on=date(2025, 5, 1), schedule=paid_after
        ),
        "current": await make_loan_with_history(
            session, hs["recent"], product, disbursed_on=date(2025, 4, 30), schedule=current
        ),
        "repaid": await make_loan_with_history(
            session,
            hs["boundary_out"],
            product,
            disbursed_on=date(2025, 2, 1),
            schedule=repaid,
            status="repaid",
            closed_on=date(2025, 4, 1),
        ),
        "colleagues": await make_loan_with_history(
            session,
            hs["colleagues"],
            product,
            disbursed_on=date(2025, 3, 1),
            schedule=monthly(date(2025, 4, 1), 6),
        ),
        "outsider": await make_loan_with_history(
            session,
            hs["outsider"],
            product,
            disbursed_on=date(2025, 3, 1),
            schedule=monthly(date(2025, 4, 1), 6),
        ),
    }

    enterprises = {
        "overdue": await make_enterprise(
            session, home, [hs["never"]], name="Tissage Amal", created_on=date(2024, 6, 1)
        ),
        "on_time": await make_enterprise(session, home, [hs["old"]], created_on=date(2024, 6, 1)),
        "never_visited": await make_enterprise(
            session, home, [hs["applicant"]], name="Ferme Atlas", created_on=date(2025, 1, 10)
        ),
        "colleagues": await make_enterprise(
            session, home, [hs["colleagues"]], name="Savonnerie Argan", created_on=date(2024, 1, 1)
        ),
    }
    await make_follow_up(session, enterprises["overdue"], adviser, visited_on=date(2025, 3, 1))
    await make_follow_up(session, enterprises["on_time"], adviser, visited_on=date(2025, 5, 1))
    await session.commit()
    return Centre(
        settings=settings,
        centre_id=home.id,
        adviser=adviser,
        colleague=colleague,
        manager=await make_user(session, "manager", home),
        admin=await make_user(session, "admin"),
        viewer=await make_user(session, "viewer", home),
        holders=hs,
        loans={k: v.id for k, v in loans.items()},
        enterprises={k: v.id for k, v in enterprises.items()},
    )


async def worklist(client: AsyncClient, c: Centre, user: User) -> dict[str, Any]:
    response = await client.get(URL, headers=c.h(user), params={"as_of": AS_OF.isoformat()})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_an_advisers_worklist(client: AsyncClient, centre: Centre) -> None:
    c = centre
    hs = c.holders
    body = await worklist(client, c, c.adviser)
    assert body == {
        "as_of": "2025-06-30",
        "loans_in_arrears": [
            {
                "loan_id": c.loans["late"],
                "holder_id": hs["never"].id,
                "holder_name": f"Amina {hs['never'].last_name}",
                "days_past_due": 76,
                "arrears_amount": "2700.00",
            },
            {
                "loan_id": c.loans["paid_after"],
                "holder_id": hs["boundary_in"].id,
                "holder_name": f"Imane {hs['boundary_in'].last_name}",
                "days_past_due": 29,
                "arrears_amount": "1100.00",
            },
            {
                "loan_id": c.loans["recently_late"],
                "holder_id": hs["old"].id,
                "holder_name": f"Hind {hs['old'].last_name}",
                "days_past_due": 15,
                "arrears_amount": "550.00",
            },
        ],
        "follow_ups_due": [
            {
                "enterprise_id": c.enterprises["never_visited"],
                "name": "Ferme Atlas",
                "centre_id": c.centre_id,
                "last_visited_on": None,
                "due_on": "2025-04-10",
                "days_overdue": 81,
            },
            {
                "enterprise_id": c.enterprises["overdue"],
                "name": "Tissage Amal",
                "centre_id": c.centre_id,
                "last_visited_on": "2025-03-01",
                "due_on": "2025-05-30",
                "days_overdue": 31,
            },
        ],
        "holders_without_session": [
            {
                "holder_id": hs[key].id,
                "holder_name": f"{hs[key].first_name} {hs[key].last_name}",
                "last_session_on": last,
            }
            for key, last in [
                ("never", None),
                ("applicant", None),
                ("after", None),  # its only session is after as_of
                ("absent", "2025-03-01"),  # absent from the 2025-06-10 training
                ("old", "2025-04-15"),
                ("boundary_out", "2025-05-01"),  # one day before the window
            ]
        ],
    }


async def test_a_managers_worklist_covers_the_centre(client: AsyncClient, centre: Centre) -> None:
    c = centre
    hs = c.holders
    for user in (c.manager, c.viewer):
        body = await worklist(client, c, user)
        assert [(i["loan_id"], i["days_past_due"]) for i in body["loans_in_arrears"]] == [
            (c.loans["colleagues"], 90),
            (c.loans["late"], 76),
            (c.loans["paid_after"], 29),
            (c.loans["recently_late"], 15),
        ]
        assert [i["enterprise_id"] for i in body["follow_ups_due"]] == [
            c.enterprises["colleagues"],
            c.enterprises["never_visited"],
            c.enterprises["overdue"],
        ]
        assert [i["holder_id"] for i in body["holders_without_session"]] == [
            hs["never"].id,
            hs["applicant"].id,
            hs["after"].id,
            hs["unassigned"].id,
            hs["absent"].id,
            hs["old"].id,
            hs["boundary_out"].id,
        ]
    admin = await worklist(client, c, c.admin)
    assert [i["loan_id"] for i in admin["loans_in_arrears"]][:2] == sorted(
        [c.loans["colleagues"], c.loans["outsider"]]
    )
    assert len(admin["loans_in_arrears"]) == 5


async def test_worklist_input_and_default_day(client: AsyncClient, centre: Centre) -> None:
    c = centre
    today = await client.get(URL, headers=c.h(c.adviser))
    assert today.status_code == 200
    assert today.json()["as_of"] == c.settings.today().isoformat()
    bad = await client.get(URL, headers=c.h(c.adviser), params={"as_of": "30/06/2025"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "as_of"
    assert (await client.get(URL)).status_code == 401


async def test_worklist_statements_do_not_grow_with_holders(
    client: AsyncClient, session: AsyncSession, engine: AsyncEngine, centre: Centre
) -> None:
    c = centre
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    async def statements_for_worklist() -> tuple[int, dict[str, Any]]:
        statements.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            body = await worklist(client, c, c.adviser)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        return len(statements), body

    small, small_body = await statements_for_worklist()

    many = 2_000
    rows = [
        {
            "centre_id": c.centre_id,
            "adviser_id": c.adviser.id,
            "first_name": "Bulk",
            "last_name": f"Holder{n}",
            "birth_date": date(2000, 1, 1),
            "gender": "male" if n % 2 else "female",
            "area": "rural",
            "status": "in_support",
            "enrolled_on": date(2024, 1, 1),
            "household_vulnerable": False,
            "version": 1,
        }
        for n in range(many)
    ]
    await session.execute(insert(Holder), rows)
    bulk_ids = list(
        (await session.execute(select(Holder.id).where(Holder.first_name == "Bulk"))).scalars()
    )
    training = CoachingSession(
        centre_id=c.centre_id,
        adviser_id=c.adviser.id,
        kind="training",
        format="group",
        mode="in_person",
        held_on=date(2025, 6, 2),
        duration_minutes=120,
        topic="Marketing digital",
        version=1,
    )
    session.add(training)
    await session.flush()
    coached = bulk_ids[: many // 2]
    await session.execute(
        insert(SessionParticipant),
        [{"session_id": training.id, "holder_id": h, "attendance": "present"} for h in coached],
    )
    await session.commit()

    large, large_body = await statements_for_worklist()
    assert large == small
    assert large <= 6, statements
    assert (
        len(large_body["holders_without_session"])
        == len(small_body["holders_without_session"]) + many // 2
    )
