from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Response, status

from app.centres import service
from app.centres.models import Centre
from app.centres.schemas import CentreCreate, CentreOut, CentreUpdate
from app.core.concurrency import set_etag
from app.core.db import SessionDep
from app.core.deps import CurrentUser
from app.core.openapi import CREATE, LIST, READ, UPDATE, errors, roles_doc
from app.core.pagination import Page, PageDep, page_of, sorting
from app.core.params import PathId
from app.core.roles import ADMINS, READERS

router = APIRouter(prefix="/api/v1/centres", tags=["centres"])

centre_sort = sorting(
    {"id": Centre.id, "code": Centre.code, "name": Centre.name, "region": Centre.region},
    default="code",
)


@router.get(
    "",
    response_model=Page[CentreOut],
    summary="List centres",
    description="All centres for admins and national staff; otherwise the caller's own.",
    responses=errors(*LIST),
    openapi_extra=roles_doc(READERS),
)
async def list_centres(
    session: SessionDep,
    actor: CurrentUser,
    page: PageDep,
    order_by: Annotated[list[Any], Depends(centre_sort)],
) -> Page[CentreOut]:
    items, total = await service.list_centres(session, actor, page, order_by)
    return page_of(items, total, page, CentreOut.model_validate)


@router.post(
    "",
    response_model=CentreOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a centre",
    description="`code` is unique (409 when taken).",
    responses=errors(*CREATE),
    openapi_extra=roles_doc(ADMINS),
)
async def create_centre(
    body: CentreCreate, session: SessionDep, actor: CurrentUser, response: Response
) -> CentreOut:
    centre = await service.create_centre(session, actor, body)
    response.headers["Location"] = f"/api/v1/centres/{centre.id}"
    set_etag(response, centre.version)
    return CentreOut.model_validate(centre)


@router.get(
    "/{centre_id}",
    response_model=CentreOut,
    summary="Get a centre",
    description="One centre with its `ETag`. 404 when missing or when the caller belongs to another "
    "centre.",
    responses=errors(*READ),
    openapi_extra=roles_doc(READERS),
)
async def get_centre(
    centre_id: PathId, session: SessionDep, actor: CurrentUser, response: Response
) -> CentreOut:
    centre = await service.get_centre(session, actor, centre_id)
    set_etag(response, centre.version)
    return CentreOut.model_validate(centre)


@router.patch(
    "/{centre_id}",
    response_model=CentreOut,
    summary="Change a centre",
    description="Partial update. Send the `ETag` you read as `If-Match`; 412 when it is stale.",
    responses=errors(*UPDATE),
    openapi_extra=roles_doc(ADMINS),
)
async def update_centre(
    centre_id: PathId,
    body: CentreUpdate,
    session: SessionDep,
    actor: CurrentUser,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> CentreOut:
    centre = await service.update_centre(session, actor, centre_id, body, if_match)
    set_etag(response, centre.version)
    return CentreOut.model_validate(centre)
