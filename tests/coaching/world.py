"""A centre with advisers, holders and enterprises for the coaching tests."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.enterprises.models import Enterprise
from app.holders.models import Holder
from app.users.models import User
from tests.centres.factories import make_centre
from tests.enterprises.factories import make_enterprise
from tests.helpers import auth
from tests.holders.factories import make_holder
from tests.users.factories import make_user

URL = "/api/v1/coaching-sessions"


@dataclass
class World:
    settings: Settings
    centre_id: int
    other_centre_id: int
    adviser: User
    colleague: User
    stranger: User
    manager: User
    admin: User
    viewer: User
    holders: list[Holder]
    outsider: Holder
    enterprise: Enterprise
    other_enterprise: Enterprise

    def h(self, user: User) -> dict[str, str]:
        return auth(user, self.settings)


def body(w: World, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "kind": "advice",
        "format": "individual",
        "mode": "in_person",
        "held_on": "2025-03-12",
        "duration_minutes": 90,
        "topic": "Étude de marché / دراسة السوق",
        "holder_ids": [w.holders[0].id],
    }
    values.update(overrides)
    return values


async def build_world(session: AsyncSession, settings: Settings) -> World:
    centre = await make_centre(session)
    other = await make_centre(session, region="oriental", city="Oujda")
    holders = [await make_holder(session, centre) for _ in range(3)]
    outsider = await make_holder(session, other)
    w = World(
        settings=settings,
        centre_id=centre.id,
        other_centre_id=other.id,
        adviser=await make_user(session, "adviser", centre),
        colleague=await make_user(session, "adviser", centre),
        stranger=await make_user(session, "adviser", other),
        manager=await make_user(session, "manager", centre),
        admin=await make_user(session, "admin"),
        viewer=await make_user(session, "viewer", centre),
        holders=holders,
        outsider=outsider,
        enterprise=await make_enterprise(session, centre, [holders[0]]),
        other_enterprise=await make_enterprise(session, other, [outsider]),
    )
    await session.commit()
    return w
