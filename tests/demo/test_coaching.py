"""The demo history of sessions and follow-ups is coherent with the rules it went through."""

import random
from collections import defaultdict
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.coaching.models import CoachingSession, SessionParticipant
from app.core.audit import AuditEvent
from app.demo import coaching as demo_coaching
from app.demo import followups as demo_followups
from app.enterprises.models import Enterprise
from app.followups.models import FollowUp
from app.followups.service import ENTERPRISE_STATUS_FROM_VISIT
from app.holders.models import Holder
from tests.centres.factories import make_centre
from tests.enterprises.factories import make_enterprise
from tests.holders.factories import make_holder
from tests.users.factories import make_user

TODAY = date(2025, 6, 30)


async def test_demo_seed_builds_a_coherent_history(session: AsyncSession) -> None:
    centres = [await make_centre(session), await make_centre(session, region="fes_meknes")]
    holders: list[Holder] = []
    enterprises: list[Enterprise] = []
    for centre in centres:
        advisers = [await make_user(session, "adviser", centre) for _ in range(2)]
        for n in range(12):
            holders.append(
                await make_holder(
                    session,
                    centre,
                    adviser_id=advisers[n % 2].id if n % 5 else None,
                    enrolled_on=date(2023, 1 + n % 12, 10),
                    status=("in_support", "enterprise_created", "graduated")[n % 3],
                )
            )
        own = holders[-12:]
        for n in range(6):
            enterprises.append(
                await make_enterprise(session, centre, [own[n]], created_on=date(2023, 3 + n, 1))
            )
        enterprises.append(
            await make_enterprise(
                session,
                centre,
                [own[7]],
                created_on=date(2023, 5, 1),
                status="closed",
                closed_on=date(2024, 9, 30),
            )
        )
        enterprises.append(
            await make_enterprise(session, centre, [own[8]], status="project", created_on=None)
        )
    await session.commit()

    rng = random.Random(7)
    await demo_coaching.seed(session, rng, TODAY, 1)
    await demo_followups.seed(session, rng, TODAY, 1)
    await session.commit()

    sessions = (await session.execute(select(CoachingSession))).scalars().all()
    assert {s.kind for s in sessions} == {
        "advice",
        "follow_up",
        "evaluation",
        "training",
        "business_relations",
    }
    assert max(s.held_on for s in sessions) <= TODAY
    groups = [s for s in sessions if s.format == "group"]
    assert groups
    attendance = (
        await session.execute(
            select(SessionParticipant.attendance, func.count())
            .where(SessionParticipant.session_id.in_([g.id for g in groups]))
            .group_by(SessionParticipant.attendance)
        )
    ).all()
    assert {a for a, _ in attendance} == {"present", "absent"}
    coached = set(
        (await session.execute(select(SessionParticipant.holder_id).distinct())).scalars()
    )
    assert coached == {h.id for h in holders}

    visits = (
        (await session.execute(select(FollowUp).order_by(FollowUp.visited_on, FollowUp.id)))
        .scalars()
        .all()
    )
    by_enterprise: dict[int, list[FollowUp]] = defaultdict(list)
    for visit in visits:
        by_enterprise[visit.enterprise_id].append(visit)
    projects = {e.id for e in enterprises if e.status == "project"}
    assert set(by_enterprise) == {e.id for e in enterprises} - projects
    grew = 0
    for enterprise in enterprises:
        await session.refresh(enterprise)
        history = by_enterprise.get(enterprise.id)
        if not history:
            continue
        latest = history[-1]
        assert latest.visited_on <= TODAY
        assert enterprise.status == ENTERPRISE_STATUS_FROM_VISIT[latest.enterprise_status]
        expected_closed_on = latest.visited_on if enterprise.status == "closed" else None
        assert enterprise.closed_on == expected_closed_on
        revenues = [v.monthly_revenue for v in history if v.monthly_revenue]
        if len(revenues) > 1 and revenues[-1] > revenues[0]:
            grew += 1
    closed_before = [e for e in enterprises if e.closed_on == date(2024, 9, 30)]
    assert len(closed_before) == 2  # both kept their closing day, now through a visit
    assert grew >= len(enterprises) // 2
    status_events = (
        await session.execute(
            select(func.count()).where(AuditEvent.action == "status_from_follow_up")
        )
    ).scalar_one()
    assert status_events >= 2
