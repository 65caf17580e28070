"""A `centre_id` query parameter must name a centre the caller may see (else 404)."""

from fastapi import Request
from sqlalchemy import select

from app.centres.models import Centre
from app.core.db import SessionDep
from app.core.deps import CurrentUser
from app.core.errors import NotFound
from app.core.params import DB_INT_MAX


async def known_centre_param(request: Request, session: SessionDep, actor: CurrentUser) -> None:
    """Applied to every router whose lists or reports take `centre_id`: a centre that does
    not exist is reported like one outside the caller's scope. A value that is not an
    integer, or is above the id range, is left to the endpoint's own validation (422)."""
    raw = request.query_params.get("centre_id")
    if raw is None or request.method != "GET":
        return
    try:
        centre_id = int(raw)
    except ValueError:
        return
    if centre_id > DB_INT_MAX:
        return
    if centre_id < 1 or not actor.sees_centre(centre_id):
        raise NotFound("Centre not found.")
    if (await session.execute(select(Centre.id).where(Centre.id == centre_id))).first() is None:
        raise NotFound("Centre not found.")
