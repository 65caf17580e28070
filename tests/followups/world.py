"""A centre with advisers and enterprises for the follow-up tests."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.enterprises.models import Enterprise
from app.users.models import User
from tests.centres.factories import make_centre
from tests.enterprises.factories import make_enterprise
from tests.helpers import auth
from tests.holders.factories import make_holder
from tests.users.factories import make_user

URL = "/api/v1/follow-ups"


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
    enterprise: Enterprise
    second: Enterprise
    project: Enterprise
    foreign: Enterprise

    def h(self, user: User) -> dict[str, str]:
        return auth(user, self.settings)


def body(w: World, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "enterprise_id": w.enterprise.id,
        "visited_on": "2025-04-03",
        "mode": "field_visit",
        "enterprise_status": "active",
    }
    values.update(overrides)
    return values


async def build_world(session: AsyncSession, settings: Settings) -> World:
    centre = await make_centre(session)
    other = await make_centre(session, region="oriental", city="Oujda")
    owner = await make_holder(session, centre)
    foreign_owner = await make_holder(session, other)
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
        enterprise=await make_enterprise(
            session, centre, [owner], name="Coopérative Tifaout", created_on=date(2024, 6, 1)
        ),
        second=await make_enterprise(session, centre, [owner], created_on=date(2024, 9, 1)),
        project=await make_enterprise(session, centre, [owner], status="project", created_on=None),
        foreign=await make_enterprise(session, other, [foreign_owner]),
    )
    await session.commit()
    return w
