from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response, status

from app.core.concurrency import set_etag
from app.core.db import SessionDep
from app.core.deps import CurrentUser, SettingsDep
from app.core.enums import Area, Region, Sector
from app.core.idempotency import IDEMPOTENT, IdempotentRoute
from app.core.openapi import CREATE, LIST, READ, UPDATE, errors, roles_doc
from app.core.pagination import Page, PageDep, sorting
from app.core.params import PathId, QueryId, SearchWords
from app.core.roles import READERS, WRITERS
from app.enterprises import service
from app.enterprises.models import Enterprise
from app.enterprises.schemas import (
    EnterpriseCreate,
    EnterpriseOut,
    EnterpriseStatus,
    EnterpriseUpdate,
)

router = APIRouter(prefix="/api/v1/enterprises", route_class=IdempotentRoute, tags=["enterprises"])

enterprise_sort = sorting(
    {
        "id": Enterprise.id,
        "name": Enterprise.name,
        "created_on": Enterprise.created_on,
        "closed_on": Enterprise.closed_on,
        "status": Enterprise.status,
        "jobs_at_creation": Enterprise.jobs_at_creation,
        "created_at": Enterprise.created_at,
        "updated_at": Enterprise.updated_at,
    },
    default="id",
)


async def enterprise_filters(
    centre_id: QueryId = None,
    status: Annotated[EnterpriseStatus | None, Query()] = None,
    sector: Annotated[Sector | None, Query()] = None,
    area: Annotated[Area | None, Query()] = None,
    region: Annotated[Region | None, Query()] = None,
    owner_id: QueryId = None,
    q: Annotated[
        SearchWords | None,
        Query(
            description="Words that must all appear in the name (case- and accent-insensitive).",
        ),
    ] = None,
) -> service.EnterpriseFilters:
    return service.EnterpriseFilters(
        centre_id=centre_id,
        status=status.value if status else None,
        sector=sector.value if sector else None,
        area=area.value if area else None,
        region=region.value if region else None,
        owner_id=owner_id,
        q=q,
    )


@router.get(
    "",
    response_model=Page[EnterpriseOut],
    summary="List enterprises",
    description="Enterprises of the caller's centre (all centres for admins and national "
    "staff), filtered and sorted. `owner_id` keeps those a holder owns.",
    responses=errors(*LIST),
    openapi_extra=roles_doc(READERS),
)
async def list_enterprises(
    session: SessionDep,
    actor: CurrentUser,
    page: PageDep,
    order_by: Annotated[list[Any], Depends(enterprise_sort)],
    filters: Annotated[service.EnterpriseFilters, Depends(enterprise_filters)],
) -> Page[EnterpriseOut]:
    items, total = await service.list_enterprises(session, actor, page, order_by, filters)
    return Page(
        items=[EnterpriseOut.of(e, owners) for e, owners in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "",
    dependencies=[IDEMPOTENT],
    response_model=EnterpriseOut,
    status_code=status.HTTP_201_CREATED,
    summary="Register an enterprise",
    description="Owners must be holders of the enterprise's "
    "centre (422 naming `owner_ids`); `ice` is 15 digits; `created_on` is required unless "
    "the status is `project`; `closed` needs `closed_on`, not before `created_on`.",
    responses=errors(*CREATE),
    openapi_extra=roles_doc(WRITERS),
)
async def create_enterprise(
    body: EnterpriseCreate,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
) -> EnterpriseOut:
    enterprise, owners = await service.create_enterprise(
        session, actor, body, today=settings.today()
    )
    response.headers["Location"] = f"/api/v1/enterprises/{enterprise.id}"
    set_etag(response, enterprise.version)
    return EnterpriseOut.of(enterprise, owners)


@router.get(
    "/{enterprise_id}",
    response_model=EnterpriseOut,
    summary="Get an enterprise",
    description="One enterprise with its owners and its `ETag`. 404 when missing or outside the "
    "caller's centre.",
    responses=errors(*READ),
    openapi_extra=roles_doc(READERS),
)
async def get_enterprise(
    enterprise_id: PathId, session: SessionDep, actor: CurrentUser, response: Response
) -> EnterpriseOut:
    enterprise, owners = await service.get_enterprise_with_owners(session, actor, enterprise_id)
    set_etag(response, enterprise.version)
    return EnterpriseOut.of(enterprise, owners)


@router.patch(
    "/{enterprise_id}",
    dependencies=[IDEMPOTENT],
    response_model=EnterpriseOut,
    summary="Change an enterprise",
    description="Partial update, in the caller's scope; `owner_ids` "
    "replaces the owners. Send the `ETag` you read as `If-Match`; 412 when it is stale.",
    responses=errors(*UPDATE),
    openapi_extra=roles_doc(WRITERS),
)
async def update_enterprise(
    enterprise_id: PathId,
    body: EnterpriseUpdate,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> EnterpriseOut:
    enterprise, owners = await service.update_enterprise(
        session, actor, enterprise_id, body, if_match, today=settings.today()
    )
    set_etag(response, enterprise.version)
    return EnterpriseOut.of(enterprise, owners)
