from datetime import date
from decimal import Decimal
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.audit import AuditEvent
from app.core.config import Settings
from tests.centres.factories import make_centre
from tests.coaching.factories import make_coaching_session
from tests.enterprises.factories import make_enterprise
from tests.followups.factories import make_follow_up
from tests.helpers import auth, recorded_statements, selects
from tests.holders.factories import make_holder
from tests.loans.factories import make_lender, make_loan, make_product, make_transaction
from tests.users.factories import make_user

Item = tuple[str, str, int, str]


def items(body: dict[str, Any]) -> list[Item]:
    return [(i["kind"], i["on"], i["id"], i["summary"]) for i in body["items"]]


async def test_timeline_merges_every_source_newest_first_and_paginates(
    client: AsyncClient, session: AsyncSession, settings: Settings, engine: AsyncEngine
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    holder = await make_holder(session, centre, status="applicant")
    other = await make_holder(session, centre)
    product = await make_product(session, await make_lender(session))

    advice = await make_coaching_session(
        session, adviser, [holder], held_on=date(2024, 2, 1), topic="Business plan"
    )
    training = await make_coaching_session(
        session,
        adviser,
        [holder, other],
        kind="training",
        held_on=date(2024, 5, 10),
        duration_minutes=120,
        topic="Bookkeeping",
    )
    await make_coaching_session(session, adviser, [other], held_on=date(2024, 7, 1))

    workshop = await make_enterprise(session, centre, [holder, other], name="Atelier Nour")
    visit = await make_follow_up(
        session, workshop, adviser, visited_on=date(2024, 9, 1), risk_level="low"
    )
    call = await make_follow_up(
        session,
        workshop,
        adviser,
        visited_on=date(2025, 1, 15),
        mode="phone",
        enterprise_status="struggling",
        risk_level="high",
    )
    not_owned = await make_enterprise(session, centre, [other])
    await make_follow_up(session, not_owned, adviser, visited_on=date(2025, 2, 1))

    active = await make_loan(
        session,
        holder,
        product,
        status="active",
        applied_on=date(2024, 3, 1),
        approved_on=date(2024, 3, 5),
        disbursed_on=date(2024, 3, 10),
    )
    await make_transaction(session, active, "disbursement", "10000.00", date(2024, 3, 10))
    await make_transaction(session, active, "repayment", "945.60", date(2024, 4, 10))
    reversed_payment = await make_transaction(
        session, active, "repayment", "945.60", date(2024, 5, 10), reversed=True
    )
    await make_transaction(
        session,
        active,
        "reversal",
        "945.60",
        date(2024, 5, 12),
        reverses_id=reversed_payment.id,
    )
    rejected = await make_loan(
        session,
        holder,
        product,
        status="rejected",
        applied_on=date(2024, 6, 1),
        rejected_on=date(2024, 6, 3),
        rejection_reason="Insufficient guarantees",
    )
    repaid = await make_loan(
        session,
        holder,
        product,
        principal=Decimal("3000.00"),
        status="repaid",
        applied_on=date(2023, 1, 10),
        approved_on=date(2023, 1, 12),
        disbursed_on=date(2023, 1, 15),
        closed_on=date(2024, 1, 15),
    )
    await make_transaction(session, repaid, "repayment", "3000.00", date(2024, 1, 15))
    written_off = await make_loan(
        session,
        holder,
        product,
        principal=Decimal("5000.00"),
        status="written_off",
        applied_on=date(2022, 5, 1),
        approved_on=date(2022, 5, 1),
        disbursed_on=date(2022, 5, 2),
        written_off_on=date(2023, 6, 30),
        written_off_amount=Decimal("4200.00"),
        closed_on=date(2023, 6, 30),
    )
    await make_transaction(session, written_off, "write_off", "4200.00", date(2023, 6, 30))
    others_loan = await make_loan(session, other, product, applied_on=date(2025, 3, 1))
    await make_transaction(session, others_loan, "repayment", "100.00", date(2025, 3, 2))
    await session.commit()
    headers = auth(adviser, settings)

    for status in ("eligible", "in_support"):
        response = await client.patch(
            f"/api/v1/holders/{holder.id}", headers=headers, json={"status": status}
        )
        assert response.status_code == 200
    status_events = (
        (
            await session.execute(
                select(AuditEvent.id)
                .where(AuditEvent.action == "status_change", AuditEvent.entity_id == holder.id)
                .order_by(AuditEvent.id)
            )
        )
        .scalars()
        .all()
    )
    today = settings.today().isoformat()
    a, r, p, w = active.id, rejected.id, repaid.id, written_off.id
    expected: list[Item] = [
        ("status_change", today, status_events[1], "Status changed from eligible to in_support"),
        ("status_change", today, status_events[0], "Status changed from applicant to eligible"),
        (
            "follow_up",
            "2025-01-15",
            call.id,
            "Follow-up of Atelier Nour (phone): struggling, high risk",
        ),
        (
            "follow_up",
            "2024-09-01",
            visit.id,
            "Follow-up of Atelier Nour (field visit): active, low risk",
        ),
        ("loan_event", "2024-06-03", r, f"Loan #{r} rejected"),
        ("loan_event", "2024-06-01", r, f"Loan #{r} applied for: 10000.00 MAD"),
        ("loan_event", "2024-05-12", a, f"Reversal of a 945.60 MAD repayment on loan #{a}"),
        ("loan_event", "2024-05-10", a, f"Repayment of 945.60 MAD on loan #{a}"),
        (
            "coaching_session",
            "2024-05-10",
            training.id,
            "Training session (group, in person, 120 min): Bookkeeping",
        ),
        ("loan_event", "2024-04-10", a, f"Repayment of 945.60 MAD on loan #{a}"),
        ("loan_event", "2024-03-10", a, f"Loan #{a} disbursed: 10000.00 MAD"),
        ("loan_event", "2024-03-05", a, f"Loan #{a} approved: 10000.00 MAD"),
        ("loan_event", "2024-03-01", a, f"Loan #{a} applied for: 10000.00 MAD"),
        (
            "coaching_session",
            "2024-02-01",
            advice.id,
            "Advice session (individual, in person, 60 min): Business plan",
        ),
        ("loan_event", "2024-01-15", p, f"Loan #{p} repaid and closed"),
        ("loan_event", "2024-01-15", p, f"Repayment of 3000.00 MAD on loan #{p}"),
        ("loan_event", "2023-06-30", w, f"Loan #{w} written off: 4200.00 MAD"),
        ("loan_event", "2023-01-15", p, f"Loan #{p} disbursed: 3000.00 MAD"),
        ("loan_event", "2023-01-12", p, f"Loan #{p} approved: 3000.00 MAD"),
        ("loan_event", "2023-01-10", p, f"Loan #{p} applied for: 3000.00 MAD"),
        ("loan_event", "2022-05-02", w, f"Loan #{w} disbursed: 5000.00 MAD"),
        ("loan_event", "2022-05-01", w, f"Loan #{w} approved: 5000.00 MAD"),
        ("loan_event", "2022-05-01", w, f"Loan #{w} applied for: 5000.00 MAD"),
    ]

    with recorded_statements(engine) as statements:
        whole = await client.get(f"/api/v1/holders/{holder.id}/timeline?limit=500", headers=headers)
    assert whole.status_code == 200
    assert items(whole.json()) == expected
    assert (whole.json()["total"], whole.json()["limit"], whole.json()["offset"]) == (23, 500, 0)
    # The caller, the holder, then one statement per source.
    assert len(selects(statements)) == 6

    middle = await client.get(
        f"/api/v1/holders/{holder.id}/timeline?limit=5&offset=6", headers=headers
    )
    assert items(middle.json()) == expected[6:11]
    assert middle.json()["total"] == 23
    paged: list[Item] = []
    for offset in range(0, 24, 4):
        page = await client.get(
            f"/api/v1/holders/{holder.id}/timeline?limit=4&offset={offset}", headers=headers
        )
        paged.extend(items(page.json()))
    assert paged == expected
    beyond = await client.get(f"/api/v1/holders/{holder.id}/timeline?offset=50", headers=headers)
    assert (beyond.json()["items"], beyond.json()["total"]) == ([], 23)


async def test_empty_timeline_and_scope(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    other = await make_centre(session)
    viewer = await make_user(session, role="viewer", centre=centre)
    foreign = await make_user(session, role="adviser", centre=other)
    holder = await make_holder(session, centre)
    await session.commit()

    empty = await client.get(
        f"/api/v1/holders/{holder.id}/timeline", headers=auth(viewer, settings)
    )
    assert empty.status_code == 200
    assert empty.json() == {"items": [], "total": 0, "limit": 50, "offset": 0}
    hidden = await client.get(
        f"/api/v1/holders/{holder.id}/timeline", headers=auth(foreign, settings)
    )
    assert hidden.status_code == 404
    missing = await client.get("/api/v1/holders/999999/timeline", headers=auth(viewer, settings))
    assert missing.status_code == 404
    bad_page = await client.get(
        f"/api/v1/holders/{holder.id}/timeline?limit=0", headers=auth(viewer, settings)
    )
    assert bad_page.status_code == 422


async def test_absent_participant_is_marked(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    holder = await make_holder(session, centre)
    coaching = await make_coaching_session(
        session,
        adviser,
        [holder],
        absent=[holder],
        mode="video",
        kind="business_relations",
        topic="Business plan",
    )
    await session.commit()
    response = await client.get(
        f"/api/v1/holders/{holder.id}/timeline", headers=auth(adviser, settings)
    )
    assert items(response.json()) == [
        (
            "coaching_session",
            "2024-02-01",
            coaching.id,
            "Business relations session (individual, video, 60 min): Business plan (absent)",
        )
    ]


async def test_a_page_far_beyond_the_end_is_empty_not_an_error(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """Each source is read up to `offset + limit` rows; past the largest row count a
    database takes, that is every row, not an integer overflow."""
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    holder = await make_holder(session, centre)
    await make_coaching_session(session, adviser, [holder])
    await session.commit()
    offset = 2**63 - 10
    response = await client.get(
        f"/api/v1/holders/{holder.id}/timeline",
        headers=auth(adviser, settings),
        params={"offset": offset},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "total": 1, "limit": 50, "offset": offset}
