from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import AuditEvent
from app.core.pagination import PageParams, paginate
from app.core.roles import AUDITORS
from app.core.scope import Actor, visible_to


async def list_events(
    session: AsyncSession,
    actor: Actor,
    page: PageParams,
    order_by: list[Any],
    *,
    entity: str | None,
    entity_id: int | None,
    actor_id: int | None,
) -> tuple[list[AuditEvent], int]:
    """Admins see every event; managers those recorded against their centre."""
    actor.require(*AUDITORS)
    stmt = visible_to(select(AuditEvent), AuditEvent.centre_id, actor)
    if entity is not None:
        stmt = stmt.where(AuditEvent.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    if actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    return await paginate(session, stmt, page, order_by)
