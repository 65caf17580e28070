"""Lenders and loan products over HTTP (the `lenders` operations): every role
reads them, admins create and change them."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response, status

from app.core.concurrency import set_etag
from app.core.db import SessionDep
from app.core.deps import CurrentUser, SettingsDep
from app.core.openapi import CREATE, LIST, READ, UPDATE, errors, roles_doc
from app.core.pagination import Page, PageDep, page_of, sorting
from app.core.params import PathId, QueryId
from app.core.roles import ADMINS, READERS
from app.loans import products
from app.loans.models import Lender, LoanProduct
from app.loans.schedule import Frequency
from app.loans.schemas import (
    LenderCreate,
    LenderOut,
    LenderUpdate,
    ProductCreate,
    ProductOut,
    ProductUpdate,
)

lenders_router = APIRouter(prefix="/api/v1/lenders", tags=["lenders"])
products_router = APIRouter(prefix="/api/v1/loan-products", tags=["lenders"])

lender_sort = sorting({"id": Lender.id, "code": Lender.code, "name": Lender.name}, default="code")
product_sort = sorting(
    {
        "id": LoanProduct.id,
        "name": LoanProduct.name,
        "lender_id": LoanProduct.lender_id,
        "annual_rate": LoanProduct.annual_rate,
    },
    default="name",
)

# --- lenders -------------------------------------------------------------------------------


@lenders_router.get(
    "",
    response_model=Page[LenderOut],
    summary="List lenders",
    description="Partner microcredit associations, ordered and filtered as the parameters say.",
    responses=errors(*LIST),
    openapi_extra=roles_doc(READERS),
)
async def list_lenders(
    session: SessionDep,
    actor: CurrentUser,
    page: PageDep,
    order_by: Annotated[list[Any], Depends(lender_sort)],
) -> Page[LenderOut]:
    items, total = await products.list_lenders(session, page, order_by)
    return page_of(items, total, page, LenderOut.model_validate)


@lenders_router.post(
    "",
    response_model=LenderOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a lender",
    description="`code` is unique (409 when taken).",
    responses=errors(*CREATE),
    openapi_extra=roles_doc(ADMINS),
)
async def create_lender(
    body: LenderCreate, session: SessionDep, actor: CurrentUser, response: Response
) -> LenderOut:
    lender = await products.create_lender(session, actor, body)
    response.headers["Location"] = f"/api/v1/lenders/{lender.id}"
    set_etag(response, lender.version)
    return LenderOut.model_validate(lender)


@lenders_router.get(
    "/{lender_id}",
    response_model=LenderOut,
    summary="Get a lender",
    description="One partner microcredit association with its `ETag`. 404 when missing.",
    responses=errors(*READ),
    openapi_extra=roles_doc(READERS),
)
async def get_lender(
    lender_id: PathId, session: SessionDep, actor: CurrentUser, response: Response
) -> LenderOut:
    lender = await products.get_lender(session, lender_id)
    set_etag(response, lender.version)
    return LenderOut.model_validate(lender)


@lenders_router.patch(
    "/{lender_id}",
    response_model=LenderOut,
    summary="Change a lender",
    description="Partial update. Send the `ETag` you read as `If-Match`; 412 when it is stale.",
    responses=errors(*UPDATE),
    openapi_extra=roles_doc(ADMINS),
)
async def update_lender(
    lender_id: PathId,
    body: LenderUpdate,
    session: SessionDep,
    actor: CurrentUser,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> LenderOut:
    lender = await products.update_lender(session, actor, lender_id, body, if_match)
    set_etag(response, lender.version)
    return LenderOut.model_validate(lender)


# --- loan products -------------------------------------------------------------------------


@products_router.get(
    "",
    response_model=Page[ProductOut],
    summary="List loan products",
    description="Filters: `lender_id`, `is_active`, `repayment_frequency`.",
    responses=errors(*LIST),
    openapi_extra=roles_doc(READERS),
)
async def list_products(
    session: SessionDep,
    actor: CurrentUser,
    page: PageDep,
    order_by: Annotated[list[Any], Depends(product_sort)],
    lender_id: QueryId = None,
    is_active: Annotated[bool | None, Query()] = None,
    repayment_frequency: Annotated[Frequency | None, Query()] = None,
) -> Page[ProductOut]:
    items, total = await products.list_products(
        session,
        page,
        order_by,
        lender_id=lender_id,
        is_active=is_active,
        repayment_frequency=repayment_frequency,
    )
    return page_of(items, total, page, ProductOut.model_validate)


@products_router.post(
    "",
    response_model=ProductOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a loan product",
    description="0 < min_principal <= max_principal <= the legal ceiling (MAX_LOAN_PRINCIPAL, "
    "150000.00 MAD by default); 1 <= min_term <= max_term; 0 <= max_grace_periods < "
    "max_term; annual_rate 0 to 100. 422 naming the field otherwise.",
    responses=errors(*CREATE),
    openapi_extra=roles_doc(ADMINS),
)
async def create_product(
    body: ProductCreate,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
) -> ProductOut:
    product = await products.create_product(session, actor, body, settings.max_loan_principal)
    response.headers["Location"] = f"/api/v1/loan-products/{product.id}"
    set_etag(response, product.version)
    return ProductOut.model_validate(product)


@products_router.get(
    "/{product_id}",
    response_model=ProductOut,
    summary="Get a loan product",
    description="One loan product (bounds, rate, frequency, interest method) with its `ETag`. 404 "
    "when missing.",
    responses=errors(*READ),
    openapi_extra=roles_doc(READERS),
)
async def get_product(
    product_id: PathId, session: SessionDep, actor: CurrentUser, response: Response
) -> ProductOut:
    product = await products.get_product(session, product_id)
    set_etag(response, product.version)
    return ProductOut.model_validate(product)


@products_router.patch(
    "/{product_id}",
    response_model=ProductOut,
    summary="Change a loan product",
    description="Partial update; the bounds are checked on the product as it would become. "
    "Loans already applied for keep their terms. `If-Match` honoured (412 when stale).",
    responses=errors(*UPDATE),
    openapi_extra=roles_doc(ADMINS),
)
async def update_product(
    product_id: PathId,
    body: ProductUpdate,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> ProductOut:
    product = await products.update_product(
        session, actor, product_id, body, if_match, settings.max_loan_principal
    )
    set_etag(response, product.version)
    return ProductOut.model_validate(product)
