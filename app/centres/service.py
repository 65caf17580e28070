"""Centres: created and changed by admins, read by everyone in scope."""

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.centres.schemas import NULLABLE_ON_PATCH, CentreCreate, CentreUpdate
from app.core import audit
from app.core.concurrency import ensure_if_match
from app.core.errors import Conflict, NotFound
from app.core.pagination import PageParams, paginate
from app.core.patching import apply_changes, patch_values
from app.core.roles import ADMINS
from app.core.scope import Actor, ensure_visible, visible_to


def visible_centres(actor: Actor) -> Select[tuple[Centre]]:
    return visible_to(select(Centre), Centre.id, actor)


async def list_centres(
    session: AsyncSession, actor: Actor, page: PageParams, order_by: list[Any]
) -> tuple[list[Centre], int]:
    return await paginate(session, visible_centres(actor), page, order_by)


async def get_centre(session: AsyncSession, actor: Actor, centre_id: int) -> Centre:
    centre = await session.get(Centre, centre_id)
    if centre is None:
        raise NotFound("Centre not found.")
    ensure_visible(centre.id, actor, "Centre")
    return centre


async def ensure_code_free(session: AsyncSession, code: str, exclude_id: int | None = None) -> None:
    stmt = select(Centre.id).where(Centre.code == code)
    if exclude_id is not None:
        stmt = stmt.where(Centre.id != exclude_id)
    if (await session.execute(stmt)).first() is not None:
        raise Conflict(
            f"A centre with code {code!r} already exists.", errors=[("code", "already used")]
        )


async def create_centre(session: AsyncSession, actor: Actor, body: CentreCreate) -> Centre:
    values = body.model_dump()
    actor.require(*ADMINS)
    await ensure_code_free(session, values["code"])
    centre = Centre(**values, version=1)
    session.add(centre)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="create",
        entity="centre",
        entity_id=centre.id,
        centre_id=centre.id,
        changes=audit.snapshot(values),
    )
    return centre


async def update_centre(
    session: AsyncSession,
    actor: Actor,
    centre_id: int,
    patch: CentreUpdate,
    if_match: str | None,
) -> Centre:
    values = patch_values(patch, nullable=NULLABLE_ON_PATCH)
    centre = await get_centre(session, actor, centre_id)
    actor.require(*ADMINS)
    ensure_if_match(if_match, centre.version)
    if "code" in values:
        await ensure_code_free(session, values["code"], exclude_id=centre.id)
    changes = apply_changes(centre, values)
    await audit.record_update(
        session,
        actor_id=actor.id,
        entity="centre",
        entity_id=centre.id,
        centre_id=centre.id,
        changes=changes,
    )
    return centre
