from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response, status

from app.coaching import service
from app.coaching.models import CoachingSession
from app.coaching.schemas import (
    ParticipantOut,
    SessionCreate,
    SessionKind,
    SessionOut,
    SessionUpdate,
)
from app.coaching.service import SessionFilters, SessionWithRoster
from app.core.concurrency import set_etag
from app.core.db import SessionDep
from app.core.deps import CurrentUser, SettingsDep
from app.core.openapi import CREATE, LIST, READ, UPDATE, errors, roles_doc
from app.core.pagination import Page, PageDep, sorting
from app.core.params import PathId, QueryId
from app.core.roles import READERS, WRITERS

router = APIRouter(prefix="/api/v1/coaching-sessions", tags=["coaching"])

session_sort = sorting(
    {
        "id": CoachingSession.id,
        "held_on": CoachingSession.held_on,
        "kind": CoachingSession.kind,
        "duration_minutes": CoachingSession.duration_minutes,
        "created_at": CoachingSession.created_at,
    },
    default="-held_on",
)

RULES = (
    "`holder_ids`: at least one, all of the session's centre (422 naming `holder_ids`); "
    "an `individual` session has exactly one holder. `participants` "
    "(`[{holder_id, attendance}]`, `present`|`absent`) marks attendance; holders it does not "
    "name are `present`. `enterprise_id`: an enterprise of the session's centre. `held_on` "
    "not in the future; `duration_minutes` 1 to 600."
)


def session_out(item: SessionWithRoster) -> SessionOut:
    record = item.record
    return SessionOut.model_validate(
        {
            "id": record.id,
            "centre_id": record.centre_id,
            "adviser_id": record.adviser_id,
            "kind": record.kind,
            "format": record.format,
            "mode": record.mode,
            "held_on": record.held_on,
            "duration_minutes": record.duration_minutes,
            "topic": record.topic,
            "notes": record.notes,
            "next_steps": record.next_steps,
            "holder_ids": sorted(item.roster),
            "participants": [
                ParticipantOut.model_validate({"holder_id": h, "attendance": a})
                for h, a in sorted(item.roster.items())
            ],
            "enterprise_id": record.enterprise_id,
            "version": record.version,
            "created_at": record.created_at,
            "updated_at": record.updated_at,
        }
    )


@router.get(
    "",
    response_model=Page[SessionOut],
    summary="List coaching sessions",
    description="Sessions of the caller's centre (all centres for admins and national staff). "
    "Filters combine; `from`/`to` bound `held_on`, both included; `holder_id` keeps sessions "
    "the holder took part in (present or absent).",
    responses=errors(*LIST),
    openapi_extra=roles_doc(READERS),
)
async def list_coaching_sessions(
    session: SessionDep,
    actor: CurrentUser,
    page: PageDep,
    order_by: Annotated[list[Any], Depends(session_sort)],
    centre_id: QueryId = None,
    adviser_id: QueryId = None,
    holder_id: QueryId = None,
    enterprise_id: QueryId = None,
    kind: Annotated[SessionKind | None, Query()] = None,
    held_from: Annotated[date | None, Query(alias="from")] = None,
    held_to: Annotated[date | None, Query(alias="to")] = None,
) -> Page[SessionOut]:
    filters = SessionFilters(
        centre_id=centre_id,
        adviser_id=adviser_id,
        holder_id=holder_id,
        enterprise_id=enterprise_id,
        kind=kind.value if kind else None,
        held_from=held_from,
        held_to=held_to,
    )
    items, total = await service.list_coaching_sessions(session, actor, page, order_by, filters)
    return Page(
        items=[session_out(i) for i in items], total=total, limit=page.limit, offset=page.offset
    )


@router.post(
    "",
    response_model=SessionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Log a coaching session",
    description="Advisers log their own sessions (another `adviser_id` is 403); managers and "
    "admins name an adviser of the centre in `adviser_id`; viewers may not (403). "
    "`centre_id` defaults to the caller's centre (required for callers with none). " + RULES,
    responses=errors(*CREATE),
    openapi_extra=roles_doc(WRITERS),
)
async def create_coaching_session(
    body: SessionCreate,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
) -> SessionOut:
    item = await service.create_coaching_session(session, actor, body, settings.today())
    response.headers["Location"] = f"/api/v1/coaching-sessions/{item.record.id}"
    set_etag(response, item.record.version)
    return session_out(item)


@router.get(
    "/{session_id}",
    response_model=SessionOut,
    summary="Get a coaching session",
    description="One session with its participants and its `ETag`. 404 when missing or outside the "
    "caller's centre.",
    responses=errors(*READ),
    openapi_extra=roles_doc(READERS),
)
async def get_coaching_session(
    session_id: PathId, session: SessionDep, actor: CurrentUser, response: Response
) -> SessionOut:
    item = await service.get_coaching_session(session, actor, session_id)
    set_etag(response, item.record.version)
    return session_out(item)


@router.patch(
    "/{session_id}",
    response_model=SessionOut,
    summary="Change a coaching session",
    description="Partial update by the adviser who logged it, or a manager or admin in scope "
    "(another adviser: 403). Send the `ETag` you read as `If-Match` (412 when stale). "
    "`holder_ids` replaces the holders (kept ones keep their attendance); `participants` "
    "sets attendance. " + RULES,
    responses=errors(*UPDATE),
    openapi_extra=roles_doc(WRITERS),
)
async def update_coaching_session(
    session_id: PathId,
    body: SessionUpdate,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> SessionOut:
    item = await service.update_coaching_session(
        session, actor, session_id, body, if_match, settings.today()
    )
    set_etag(response, item.record.version)
    return session_out(item)
