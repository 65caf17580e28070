from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response, status

from app.core.concurrency import set_etag
from app.core.db import SessionDep
from app.core.deps import CurrentUser, SettingsDep
from app.core.openapi import CREATE, LIST, READ, UPDATE, errors, roles_doc
from app.core.pagination import Page, PageDep, sorting
from app.core.params import PathId, QueryId
from app.core.roles import READERS, WRITERS
from app.followups import service, worklist
from app.followups.models import FollowUp
from app.followups.schemas import (
    DueItem,
    FollowUpCreate,
    FollowUpOut,
    FollowUpUpdate,
    ObservedStatus,
    Worklist,
)
from app.followups.service import FollowUpFilters

router = APIRouter(prefix="/api/v1/follow-ups", tags=["follow-ups"])
me_router = APIRouter(prefix="/api/v1/me", tags=["follow-ups"])

follow_up_sort = sorting(
    {
        "id": FollowUp.id,
        "visited_on": FollowUp.visited_on,
        "next_follow_up_on": FollowUp.next_follow_up_on,
        "created_at": FollowUp.created_at,
    },
    default="-visited_on",
)

STATUS_RULE = (
    "The enterprise's latest follow-up (by `visited_on`, then id) sets its status: `closed` "
    "closes it with `closed_on` = `visited_on`; `active` and `struggling` set that status "
    "(and clear `closed_on`); `dormant` sets `struggling`. A backdated follow-up that is not "
    "the latest changes nothing. The enterprise's change is in the audit trail "
    "(entity `enterprise`, action `status_from_follow_up`)."
)
FIELD_RULES = (
    "`enterprise_id`: a created enterprise (not a `project`) in the caller's scope. "
    "`visited_on`: not in the future, not before the enterprise's `created_on`; "
    "`next_follow_up_on` after `visited_on`; `monthly_revenue` >= 0; `employees_count` "
    "0 to 500; `needs`: distinct tags."
)
AsOf = Annotated[date | None, Query(description="The day the list is computed for; default today.")]


@router.get(
    "",
    response_model=Page[FollowUpOut],
    summary="List enterprise follow-ups",
    description="Follow-ups of the caller's centre (all centres for admins and national "
    "staff); `from`/`to` bound `visited_on`, both included.",
    responses=errors(*LIST),
    openapi_extra=roles_doc(READERS),
)
async def list_follow_ups(
    session: SessionDep,
    actor: CurrentUser,
    page: PageDep,
    order_by: Annotated[list[Any], Depends(follow_up_sort)],
    centre_id: QueryId = None,
    enterprise_id: QueryId = None,
    adviser_id: QueryId = None,
    enterprise_status: Annotated[ObservedStatus | None, Query()] = None,
    visited_from: Annotated[date | None, Query(alias="from")] = None,
    visited_to: Annotated[date | None, Query(alias="to")] = None,
) -> Page[FollowUpOut]:
    filters = FollowUpFilters(
        centre_id=centre_id,
        enterprise_id=enterprise_id,
        adviser_id=adviser_id,
        enterprise_status=enterprise_status.value if enterprise_status else None,
        visited_from=visited_from,
        visited_to=visited_to,
    )
    items, total = await service.list_follow_ups(session, actor, page, order_by, filters)
    return Page(
        items=[FollowUpOut.model_validate(f) for f in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/due",
    response_model=Page[DueItem],
    summary="Enterprises whose follow-up is due",
    description="Created enterprises of the caller's scope, not closed at `as_of`, whose "
    "follow-up is due on or before `as_of`: `due_on` is the latest follow-up's "
    "`next_follow_up_on` when set, else (the latest `visited_on`, or `created_on` when never "
    "visited) + the configured cadence (`FOLLOW_UP_CADENCE_DAYS`, default 90); follow-ups "
    "after `as_of` are ignored. `days_overdue` = `as_of` - `due_on`. Most overdue first, "
    "then by enterprise id. `adviser_id` keeps enterprises with an owner assigned to that "
    "adviser; `centre_id` narrows to one centre (404 outside the caller's scope).",
    responses=errors(*LIST),
    openapi_extra=roles_doc(READERS),
)
async def follow_ups_due(
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    page: PageDep,
    as_of: AsOf = None,
    adviser_id: QueryId = None,
    centre_id: QueryId = None,
) -> Page[DueItem]:
    day = as_of or settings.today()
    rows, total = await service.follow_ups_due(
        session,
        actor,
        page,
        as_of=day,
        cadence_days=settings.follow_up_cadence_days,
        centre_id=centre_id,
        adviser_id=adviser_id,
    )
    return Page(
        items=[DueItem.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "",
    response_model=FollowUpOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record an enterprise follow-up",
    description="Advisers record their own visits (another `adviser_id` is 403); managers "
    "and admins name an adviser of the enterprise's centre; viewers may not (403). "
    + FIELD_RULES
    + " "
    + STATUS_RULE,
    responses=errors(*CREATE),
    openapi_extra=roles_doc(WRITERS),
)
async def create_follow_up(
    body: FollowUpCreate,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
) -> FollowUpOut:
    record = await service.create_follow_up(session, actor, body, settings.today())
    response.headers["Location"] = f"/api/v1/follow-ups/{record.id}"
    set_etag(response, record.version)
    return FollowUpOut.model_validate(record)


@router.get(
    "/{follow_up_id}",
    response_model=FollowUpOut,
    summary="Get an enterprise follow-up",
    description="One visit with its `ETag`. 404 when missing or outside the caller's centre.",
    responses=errors(*READ),
    openapi_extra=roles_doc(READERS),
)
async def get_follow_up(
    follow_up_id: PathId, session: SessionDep, actor: CurrentUser, response: Response
) -> FollowUpOut:
    record = await service.get_follow_up(session, actor, follow_up_id)
    set_etag(response, record.version)
    return FollowUpOut.model_validate(record)


@router.patch(
    "/{follow_up_id}",
    response_model=FollowUpOut,
    summary="Change an enterprise follow-up",
    description="Partial update by the adviser who recorded it, or a manager or admin in "
    "scope (another adviser: 403). Send the `ETag` you read as `If-Match` (412 when stale). "
    "A change of `visited_on` or `enterprise_status` re-applies the status rule. "
    + FIELD_RULES
    + " "
    + STATUS_RULE,
    responses=errors(*UPDATE),
    openapi_extra=roles_doc(WRITERS),
)
async def update_follow_up(
    follow_up_id: PathId,
    body: FollowUpUpdate,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> FollowUpOut:
    record = await service.update_follow_up(
        session, actor, follow_up_id, body, if_match, settings.today()
    )
    set_etag(response, record.version)
    return FollowUpOut.model_validate(record)


@me_router.get(
    "/worklist",
    response_model=Worklist,
    summary="The caller's worklist for a day",
    description="Over the holders assigned to the caller (an adviser: `holders.adviser_id`; "
    "a manager or viewer: its whole centre; an admin or national staff: every centre): "
    "`loans_in_arrears` (outstanding at `as_of` with an overdue installment; most days past "
    "due first, then loan id), `follow_ups_due` (as `GET /follow-ups/due`; for an adviser, "
    "enterprises its holders own) and `holders_without_session` (holders in `applicant`, "
    "`eligible`, `in_support` or `enterprise_created` status with no attended coaching "
    "session in the `SESSION_GAP_DAYS` (default 60) days up to and including `as_of`; "
    "never-coached first, then the oldest `last_session_on`, then id). Every list is "
    "complete (not paged).",
    responses=errors(401, 422),
    openapi_extra=roles_doc(READERS),
)
async def my_worklist(
    session: SessionDep, actor: CurrentUser, settings: SettingsDep, as_of: AsOf = None
) -> Worklist:
    return await worklist.worklist(
        session,
        actor,
        as_of or settings.today(),
        cadence_days=settings.follow_up_cadence_days,
        gap_days=settings.session_gap_days,
    )
