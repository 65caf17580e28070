from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response, status

from app.core.concurrency import set_etag
from app.core.config import Settings
from app.core.db import SessionDep
from app.core.deps import CurrentUser, SettingsDep
from app.core.enums import Area, Gender, Region, Sector
from app.core.idempotency import IDEMPOTENT, IdempotentRoute
from app.core.openapi import ACTION, CREATE, LIST, READ, UPDATE, errors, roles_doc
from app.core.pagination import Page, PageDep, sorting
from app.core.params import PathId, QueryId, SearchWords
from app.core.roles import ADMINS, READERS, WRITERS
from app.holders import service
from app.holders.models import Holder
from app.holders.schemas import (
    HolderCreate,
    HolderOut,
    HolderStatus,
    HolderUpdate,
)

router = APIRouter(prefix="/api/v1/holders", route_class=IdempotentRoute, tags=["holders"])

holder_sort = sorting(
    {
        "id": Holder.id,
        "last_name": Holder.last_name,
        "first_name": Holder.first_name,
        "enrolled_on": Holder.enrolled_on,
        "birth_date": Holder.birth_date,
        "status": Holder.status,
        "created_at": Holder.created_at,
        "updated_at": Holder.updated_at,
    },
    default="id",
)


def youth_of(settings: Settings) -> service.YouthRange:
    return service.YouthRange(settings.youth_min_age, settings.youth_max_age)


async def holder_filters(
    centre_id: QueryId = None,
    adviser_id: QueryId = None,
    status: Annotated[HolderStatus | None, Query()] = None,
    gender: Annotated[Gender | None, Query()] = None,
    area: Annotated[Area | None, Query()] = None,
    region: Annotated[Region | None, Query()] = None,
    sector: Annotated[Sector | None, Query()] = None,
    q: Annotated[
        SearchWords | None,
        Query(
            description="Words that must all appear in the name or national id; "
            "case-insensitive and, for Latin names, accent-insensitive.",
        ),
    ] = None,
) -> service.HolderFilters:
    return service.HolderFilters(
        centre_id=centre_id,
        adviser_id=adviser_id,
        status=status.value if status else None,
        gender=gender.value if gender else None,
        area=area.value if area else None,
        region=region.value if region else None,
        sector=sector.value if sector else None,
        q=q,
    )


@router.get(
    "",
    response_model=Page[HolderOut],
    summary="List project holders",
    description="Holders of the caller's centre (all centres for admins and national staff), "
    "filtered and sorted. An unknown filter value or sort field is 422; a `centre_id` "
    "outside the caller's scope is 404.",
    responses=errors(*LIST),
    openapi_extra=roles_doc(READERS),
)
async def list_holders(
    session: SessionDep,
    actor: CurrentUser,
    page: PageDep,
    order_by: Annotated[list[Any], Depends(holder_sort)],
    filters: Annotated[service.HolderFilters, Depends(holder_filters)],
) -> Page[HolderOut]:
    items, total = await service.list_holders(session, actor, page, order_by, filters)
    return Page(
        items=[HolderOut.model_validate(h) for h in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "",
    dependencies=[IDEMPOTENT],
    response_model=HolderOut,
    status_code=status.HTTP_201_CREATED,
    summary="Register a project holder",
    description="The CIN is stored upper-case and must be "
    "unique (409); the phone is normalised to `+212...`; the age at `enrolled_on` must lie "
    "within the configured youth range (422 naming it). `centre_id` defaults to the "
    "caller's centre.",
    responses=errors(*CREATE),
    openapi_extra=roles_doc(WRITERS),
)
async def create_holder(
    body: HolderCreate,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
) -> HolderOut:
    holder = await service.create_holder(
        session, actor, body, today=settings.today(), youth=youth_of(settings)
    )
    response.headers["Location"] = f"/api/v1/holders/{holder.id}"
    set_etag(response, holder.version)
    return HolderOut.model_validate(holder)


@router.get(
    "/{holder_id}",
    response_model=HolderOut,
    summary="Get a project holder",
    description="One holder with its `ETag` (send it back as `If-Match` to change the holder). 404 "
    "when missing or outside the caller's centre.",
    responses=errors(*READ),
    openapi_extra=roles_doc(READERS),
)
async def get_holder(
    holder_id: PathId, session: SessionDep, actor: CurrentUser, response: Response
) -> HolderOut:
    holder = await service.get_holder(session, actor, holder_id)
    set_etag(response, holder.version)
    return HolderOut.model_validate(holder)


@router.patch(
    "/{holder_id}",
    dependencies=[IDEMPOTENT],
    response_model=HolderOut,
    summary="Change a project holder",
    description="Partial update, in the caller's scope. Send the `ETag` "
    "you read as `If-Match`; 412 when it is stale. Status changes appear in the timeline. "
    "Personal fields of an anonymised holder cannot be set (409).",
    responses=errors(*UPDATE),
    openapi_extra=roles_doc(WRITERS),
)
async def update_holder(
    holder_id: PathId,
    body: HolderUpdate,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> HolderOut:
    holder = await service.update_holder(
        session,
        actor,
        holder_id,
        body,
        if_match,
        today=settings.today(),
        youth=youth_of(settings),
    )
    set_etag(response, holder.version)
    return HolderOut.model_validate(holder)


@router.post(
    "/{holder_id}/anonymise",
    response_model=HolderOut,
    summary="Erase a holder's personal data",
    description="Law 09-08: names are replaced by placeholders; CIN, phone, email, address "
    "and project summary are erased; the birth date keeps only its year (stored as 1 July). "
    "Loans, coaching and statistics stay intact; the holder's audit trail keeps no erased "
    "value. 409 when already anonymised.",
    responses=errors(*ACTION),
    openapi_extra=roles_doc(ADMINS),
)
async def anonymise_holder(
    holder_id: PathId, session: SessionDep, actor: CurrentUser, response: Response
) -> HolderOut:
    holder = await service.anonymise_holder(session, actor, holder_id)
    set_etag(response, holder.version)
    return HolderOut.model_validate(holder)
