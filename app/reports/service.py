"""The centre a report covers, from the caller's scope.

Every role may read reports; an adviser, a centre's manager or viewer only for its own
centre (another centre's `centre_id` is a 404, exactly like a centre that does not exist),
national staff and admins for all centres or the one they name. The scope is applied in
SQL inside each report's statements, so no grouping can show another centre's figures.
"""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.core.errors import NotFound
from app.core.scope import Actor, centre_filter


async def report_scope(session: AsyncSession, actor: Actor, centre_id: int | None) -> int | None:
    """The centre a report covers (None: all): the one asked for, when the caller sees it
    and it exists, else the caller's own centre, if any (404 otherwise)."""
    scoped = centre_filter(actor, centre_id)
    if centre_id is not None:
        found = await session.scalar(select(Centre.id).where(Centre.id == centre_id))
        if found is None:
            raise NotFound("Centre not found.")
    return scoped


async def centre_label(session: AsyncSession, centre_id: int | None) -> str:
    """How a report's parameters name the centre it covers."""
    if centre_id is None:
        return "All centres"
    name = await session.scalar(select(Centre.name).where(Centre.id == centre_id))
    return f"{name} (id {centre_id})"
