import random
import re
from collections import Counter
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import AuditEvent
from app.core.enums import Region
from app.demo import enterprises as demo_enterprises
from app.demo import holders as demo_holders
from app.enterprises.models import Enterprise, EnterpriseOwner
from app.holders.models import Holder
from app.holders.schemas import HolderStatus
from app.holders.service import age_on, holder_search_text
from tests.centres.factories import make_centre
from tests.users.factories import make_user

ARABIC = re.compile(r"[\u0600-\u06FF]")
TODAY = date(2026, 6, 30)


async def test_demo_holders_and_enterprises_are_realistic_and_valid(
    session: AsyncSession,
) -> None:
    casablanca = await make_centre(session, region="casablanca_settat")
    agadir = await make_centre(session, region="souss_massa")
    first = await make_user(session, role="adviser", centre=casablanca)
    second = await make_user(session, role="adviser", centre=casablanca)
    lone = await make_user(session, role="adviser", centre=agadir)
    await make_user(session, role="admin")

    rng = random.Random(2026)
    await demo_holders.seed(session, rng, TODAY, 1)
    await demo_enterprises.seed(session, rng, TODAY, 1)

    holders = (await session.execute(select(Holder).order_by(Holder.id))).scalars().all()
    per_centre = Counter(h.centre_id for h in holders)
    assert per_centre == {casablanca.id: 40, agadir.id: 40}
    assert Counter(h.adviser_id for h in holders if h.centre_id == casablanca.id) == {
        first.id: 20,
        second.id: 20,
    }
    assert {h.adviser_id for h in holders if h.centre_id == agadir.id} == {lone.id}
    assert all(18 <= age_on(h.birth_date, h.enrolled_on) <= 35 for h in holders)
    assert all(h.enrolled_on <= TODAY for h in holders)
    assert {h.region for h in holders if h.centre_id == casablanca.id} == {r.value for r in Region}
    assert {h.area for h in holders} == {"urban", "rural"}
    assert {h.status for h in holders} == {s.value for s in HolderStatus}
    assert {h.gender for h in holders} == {"female", "male"}
    arabic = [h for h in holders if ARABIC.search(h.first_name + h.last_name)]
    latin = [h for h in holders if not ARABIC.search(h.first_name + h.last_name)]
    assert len(arabic) >= 10 and len(latin) >= 40
    national_ids = [h.national_id for h in holders]
    assert all(n and re.fullmatch(r"[A-Z]{1,2}[0-9]{1,6}", n) for n in national_ids)
    assert len(set(national_ids)) == len(national_ids)
    assert all(h.phone is None or re.fullmatch(r"\+212[67][0-9]{8}", h.phone) for h in holders)
    assert all(
        h.search_text == holder_search_text(h.first_name, h.last_name, h.national_id)
        for h in holders
    )
    created_events = select(func.count()).where(
        AuditEvent.entity == "holder", AuditEvent.action == "create"
    )
    assert (await session.execute(created_events)).scalar_one() == 80

    enterprises = {e.id: e for e in (await session.execute(select(Enterprise))).scalars()}
    owner_rows = (
        await session.execute(select(EnterpriseOwner.enterprise_id, EnterpriseOwner.holder_id))
    ).all()
    by_id = {h.id: h for h in holders}
    owned = Counter(holder_id for _, holder_id in owner_rows)
    founders = [h for h in holders if h.status in ("enterprise_created", "graduated")]
    assert founders
    assert all(owned[h.id] == 1 for h in founders)
    for enterprise_id, holder_id in owner_rows:
        enterprise = enterprises[enterprise_id]
        owner = by_id[holder_id]
        assert enterprise.centre_id == owner.centre_id
        if enterprise.status == "project":
            assert owner.status == "in_support"
            assert enterprise.created_on is None
        else:
            assert owner.status in ("enterprise_created", "graduated")
            assert enterprise.created_on is not None
            assert enterprise.created_on <= TODAY
    statuses = Counter(e.status for e in enterprises.values())
    assert statuses["closed"] >= 1 and statuses["active"] >= 1
    for enterprise in enterprises.values():
        if enterprise.status == "closed":
            assert enterprise.closed_on is not None and enterprise.created_on is not None
            assert enterprise.created_on <= enterprise.closed_on <= TODAY
        else:
            assert enterprise.closed_on is None
        assert enterprise.ice is None or re.fullmatch(r"[0-9]{15}", enterprise.ice)
    co_owned = Counter(enterprise_id for enterprise_id, _ in owner_rows)
    assert max(co_owned.values()) == 2
