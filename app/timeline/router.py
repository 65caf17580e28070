from zoneinfo import ZoneInfo

from fastapi import APIRouter

from app.core.db import SessionDep
from app.core.deps import CurrentUser, SettingsDep
from app.core.openapi import READ, errors, roles_doc
from app.core.pagination import Page, PageDep
from app.core.params import PathId
from app.core.roles import READERS
from app.timeline import service
from app.timeline.schemas import TimelineItem

router = APIRouter(prefix="/api/v1/holders", tags=["holders"])


@router.get(
    "/{holder_id}/timeline",
    response_model=Page[TimelineItem],
    summary="A holder's timeline",
    description="The holder's coaching sessions, follow-ups of its enterprises, loan events "
    "(applied, approved, rejected, disbursed, repayments, reversals, written off, closed) "
    "and status changes, newest first. `id` is the session's, the follow-up's, the loan's "
    "or the audit event's.",
    responses=errors(*READ),
    openapi_extra=roles_doc(READERS),
)
async def holder_timeline(
    holder_id: PathId,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    page: PageDep,
) -> Page[TimelineItem]:
    items, total = await service.holder_timeline(
        session, actor, holder_id, page, zone=ZoneInfo(settings.timezone)
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
