"""Lenders, loan products and loans over HTTP (API.md "Lenders and loan products", "Loans")."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Response, status
from fastapi.responses import JSONResponse

from app.core.concurrency import set_etag
from app.core.db import SessionDep
from app.core.openapi import ACTION, CREATE, LIST, READ, UPDATE, errors
from app.core.pagination import Page, PageDep, sorting
from app.core.patching import patch_values
from app.core.scope import centre_filter
from app.loans import service
from app.loans.ledger import Position
from app.loans.models import Lender, Loan, LoanProduct, LoanStatus, LoanTransaction
from app.loans.schedule import Frequency, ScheduledInstallment, schedule_totals
from app.loans.schemas import (
    MAX_ID,
    IdempotencyKey,
    LenderCreate,
    LenderOut,
    LenderUpdate,
    LoanApply,
    LoanApprove,
    LoanDisburse,
    LoanOut,
    LoanReject,
    LoanScheduleLineOut,
    LoanScheduleOut,
    LoanScheduleTotalsOut,
    LoanWriteOff,
    ProductCreate,
    ProductOut,
    ProductUpdate,
    RepaymentCreate,
    RepaymentOut,
    ReverseRequest,
    ScheduleLineOut,
    SchedulePreviewOut,
    SchedulePreviewRequest,
    ScheduleTotalsOut,
    TransactionOut,
)
from app.users.deps import CurrentUser, SettingsDep

lenders_router = APIRouter(prefix="/api/v1/lenders", tags=["lenders"])
products_router = APIRouter(prefix="/api/v1/loan-products", tags=["lenders"])
loans_router = APIRouter(prefix="/api/v1/loans", tags=["loans"])

router = APIRouter()
"""All three, for `create_app`."""

NO_APPROVAL_DATE = LoanApprove()
"""The body of an approval sent without one: approved today."""

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
AsOf = Annotated[
    date | None,
    Query(description="Compute the derived figures as of this date (default: today)."),
]

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
loan_sort = sorting(
    {
        "id": Loan.id,
        "applied_on": Loan.applied_on,
        "disbursed_on": Loan.disbursed_on,
        "principal": Loan.principal,
        "outstanding_principal": Loan.outstanding_principal,
        "oldest_unpaid_due_on": Loan.oldest_unpaid_due_on,
        "status": Loan.status,
        "created_at": Loan.created_at,
    },
    default="-id",
)


# --- lenders -------------------------------------------------------------------------------


@lenders_router.get(
    "",
    response_model=Page[LenderOut],
    summary="List lenders",
    description="Partner microcredit associations; every role reads them.",
    responses=errors(*LIST),
)
async def list_lenders(
    session: SessionDep,
    actor: CurrentUser,
    page: PageDep,
    order_by: Annotated[list[Any], Depends(lender_sort)],
) -> Page[LenderOut]:
    items, total = await service.list_lenders(session, page, order_by)
    return Page(
        items=[LenderOut.model_validate(item) for item in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@lenders_router.post(
    "",
    response_model=LenderOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a lender (admin)",
    description="`code` is unique (409 when taken).",
    responses=errors(*CREATE),
)
async def create_lender(
    body: LenderCreate, session: SessionDep, actor: CurrentUser, response: Response
) -> LenderOut:
    lender = await service.create_lender(session, actor, body.model_dump())
    response.headers["Location"] = f"/api/v1/lenders/{lender.id}"
    set_etag(response, lender.version)
    return LenderOut.model_validate(lender)


@lenders_router.get(
    "/{lender_id}", response_model=LenderOut, summary="Get a lender", responses=errors(*READ)
)
async def get_lender(
    lender_id: PathId, session: SessionDep, actor: CurrentUser, response: Response
) -> LenderOut:
    lender = await service.get_lender(session, lender_id)
    set_etag(response, lender.version)
    return LenderOut.model_validate(lender)


@lenders_router.patch(
    "/{lender_id}",
    response_model=LenderOut,
    summary="Change a lender (admin)",
    description="Partial update. Send the `ETag` you read as `If-Match`; 412 when it is stale.",
    responses=errors(*UPDATE),
)
async def update_lender(
    lender_id: PathId,
    body: LenderUpdate,
    session: SessionDep,
    actor: CurrentUser,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> LenderOut:
    lender = await service.update_lender(session, actor, lender_id, patch_values(body), if_match)
    set_etag(response, lender.version)
    return LenderOut.model_validate(lender)


# --- loan products -------------------------------------------------------------------------


@products_router.get(
    "",
    response_model=Page[ProductOut],
    summary="List loan products",
    description="Every role reads them. Filters: `lender_id`, `is_active`, `repayment_frequency`.",
    responses=errors(*LIST),
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
    items, total = await service.list_products(
        session,
        page,
        order_by,
        lender_id=lender_id,
        is_active=is_active,
        repayment_frequency=repayment_frequency,
    )
    return Page(
        items=[ProductOut.model_validate(item) for item in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@products_router.post(
    "",
    response_model=ProductOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a loan product (admin)",
    description="0 < min_principal <= max_principal <= the legal ceiling (MAX_LOAN_PRINCIPAL, "
    "150000.00 MAD by default); 1 <= min_term <= max_term; 0 <= max_grace_periods < "
    "max_term; annual_rate 0 to 100. 422 naming the field otherwise.",
    responses=errors(*CREATE),
)
async def create_product(
    body: ProductCreate,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
) -> ProductOut:
    product = await service.create_product(
        session, actor, body.model_dump(), settings.max_loan_principal
    )
    response.headers["Location"] = f"/api/v1/loan-products/{product.id}"
    set_etag(response, product.version)
    return ProductOut.model_validate(product)


@products_router.get(
    "/{product_id}",
    response_model=ProductOut,
    summary="Get a loan product",
    responses=errors(*READ),
)
async def get_product(
    product_id: PathId, session: SessionDep, actor: CurrentUser, response: Response
) -> ProductOut:
    product = await service.get_product(session, product_id)
    set_etag(response, product.version)
    return ProductOut.model_validate(product)


@products_router.patch(
    "/{product_id}",
    response_model=ProductOut,
    summary="Change a loan product (admin)",
    description="Partial update; the bounds are checked on the product as it would become. "
    "Loans already applied for keep their terms. `If-Match` honoured (412 when stale).",
    responses=errors(*UPDATE),
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
    product = await service.update_product(
        session, actor, product_id, patch_values(body), if_match, settings.max_loan_principal
    )
    set_etag(response, product.version)
    return ProductOut.model_validate(product)


# --- loans ---------------------------------------------------------------------------------


def preview_out(items: list[ScheduledInstallment]) -> SchedulePreviewOut:
    principal, interest, total = schedule_totals(items)
    return SchedulePreviewOut(
        installments=[ScheduleLineOut.model_validate(item) for item in items],
        totals=ScheduleTotalsOut(principal=principal, interest=interest, total=total),
    )


@loans_router.post(
    "/schedule-preview",
    response_model=SchedulePreviewOut,
    summary="Preview a repayment schedule",
    description="A calculator for any authenticated role; stores nothing. 422 naming the field "
    "when `grace_periods` >= `term`, `principal` is above the legal ceiling or `first_due_on` "
    "is before `disbursed_on`.",
    responses=errors(400, 401, 413, 415, 422),
)
async def schedule_preview(
    body: SchedulePreviewRequest, actor: CurrentUser, settings: SettingsDep
) -> SchedulePreviewOut:
    items = service.preview_schedule(
        principal=body.principal,
        annual_rate=body.annual_rate,
        term=body.term,
        repayment_frequency=body.repayment_frequency,
        interest_method=body.interest_method,
        amortization=body.amortization,
        grace_periods=body.grace_periods,
        disbursed_on=body.disbursed_on,
        first_due_on=body.first_due_on,
        legal_ceiling=settings.max_loan_principal,
    )
    return preview_out(items)


def loan_out(loan: Loan, position: Position, as_of: date) -> LoanOut:
    values = {name: getattr(loan, name) for name in LoanOut.model_fields if hasattr(loan, name)}
    values.update(
        as_of=as_of,
        outstanding_principal=position.outstanding_principal,
        arrears_amount=position.arrears_amount,
        days_past_due=position.days_past_due,
        next_due_on=position.next_due_on,
        next_due_amount=position.next_due_amount,
        paid_principal=position.principal_repaid,
        paid_interest=position.interest_repaid,
    )
    return LoanOut.model_validate(values)


async def respond_with_loan(
    session: SessionDep, loan: Loan, as_of: date, response: Response
) -> LoanOut:
    positions = await service.loan_positions(session, [loan], as_of)
    set_etag(response, loan.version)
    return loan_out(loan, positions[loan.id], as_of)


@loans_router.get(
    "",
    response_model=Page[LoanOut],
    summary="List loans",
    description="Loans in the caller's scope with their figures as of today. Filters: "
    "`centre_id`, `holder_id`, `enterprise_id`, `lender_id`, `product_id`, `status`, "
    "`in_arrears` (active with an installment due before today not fully paid), "
    "`min_days_past_due` (active and the oldest unpaid installment due at least that many "
    "days ago; 0 keeps all). A `centre_id` outside the caller's scope is 404.",
    responses=errors(*LIST),
)
async def list_loans(
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    page: PageDep,
    order_by: Annotated[list[Any], Depends(loan_sort)],
    centre_id: QueryId = None,
    holder_id: QueryId = None,
    enterprise_id: QueryId = None,
    lender_id: QueryId = None,
    product_id: QueryId = None,
    status: Annotated[LoanStatus | None, Query()] = None,
    in_arrears: Annotated[bool | None, Query()] = None,
    min_days_past_due: Annotated[int | None, Query(ge=0, le=100_000)] = None,
) -> Page[LoanOut]:
    today = settings.today()
    filters = service.LoanFilters(
        centre_id=centre_filter(actor, centre_id),
        holder_id=holder_id,
        enterprise_id=enterprise_id,
        lender_id=lender_id,
        product_id=product_id,
        status=status,
        in_arrears=in_arrears,
        min_days_past_due=min_days_past_due,
    )
    items, total = await service.list_loans(session, actor, page, order_by, filters, today)
    positions = await service.loan_positions(session, items, today)
    return Page(
        items=[loan_out(loan, positions[loan.id], today) for loan in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@loans_router.post(
    "",
    response_model=LoanOut,
    status_code=status.HTTP_201_CREATED,
    summary="Apply for a loan (admins, advisers)",
    description="Creates a `submitted` loan. The holder (and enterprise, owned by the holder) "
    "must be in the caller's scope; the product must be active; principal, term and "
    "grace_periods must fit the product's bounds and principal the legal ceiling (422 naming "
    "the field). The rate defaults to the product's; lender, frequency, interest method and "
    "amortization are copied from the product and the centre from the holder.",
    responses=errors(*CREATE),
)
async def apply_for_loan(
    body: LoanApply,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
) -> LoanOut:
    today = settings.today()
    loan = await service.apply_for_loan(
        session,
        actor,
        holder_id=body.holder_id,
        enterprise_id=body.enterprise_id,
        product_id=body.product_id,
        principal=body.principal,
        term=body.term,
        grace_periods=body.grace_periods,
        annual_rate=body.annual_rate,
        purpose=body.purpose,
        applied_on=body.applied_on,
        today=today,
        legal_ceiling=settings.max_loan_principal,
    )
    response.headers["Location"] = f"/api/v1/loans/{loan.id}"
    return await respond_with_loan(session, loan, today, response)


@loans_router.get(
    "/{loan_id}",
    response_model=LoanOut,
    summary="Get a loan",
    description="With outstanding principal, arrears, days past due and next due as of today, "
    "or as of `as_of`.",
    responses=errors(*READ),
)
async def get_loan(
    loan_id: PathId,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
    as_of: AsOf = None,
) -> LoanOut:
    loan = await service.get_loan(session, actor, loan_id)
    return await respond_with_loan(session, loan, as_of or settings.today(), response)


@loans_router.post(
    "/{loan_id}/approve",
    response_model=LoanOut,
    summary="Approve an application (admins, managers)",
    description="`submitted` -> `approved` (409 from any other status). `approved_on` defaults "
    "to today; not before `applied_on`, not in the future.",
    responses=errors(*ACTION),
)
async def approve_loan(
    loan_id: PathId,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
    body: Annotated[LoanApprove, Body()] = NO_APPROVAL_DATE,
) -> LoanOut:
    today = settings.today()
    loan = await service.approve_loan(
        session, actor, loan_id, approved_on=body.approved_on, today=today
    )
    return await respond_with_loan(session, loan, today, response)


@loans_router.post(
    "/{loan_id}/reject",
    response_model=LoanOut,
    summary="Reject an application (admins, managers)",
    description="`submitted` -> `rejected` (409 from any other status); `reason` is required.",
    responses=errors(*ACTION),
)
async def reject_loan(
    loan_id: PathId,
    body: LoanReject,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
) -> LoanOut:
    today = settings.today()
    loan = await service.reject_loan(session, actor, loan_id, reason=body.reason, today=today)
    return await respond_with_loan(session, loan, today, response)


@loans_router.post(
    "/{loan_id}/disburse",
    response_model=LoanOut,
    summary="Disburse an approved loan (admins, managers, advisers)",
    description="`approved` -> `active` (409 from any other status): generates and stores the "
    "schedule and records the disbursement. `disbursed_on` not before `approved_on` nor in the "
    "future; `first_due_on` (default one period after disbursement) not before it.",
    responses=errors(*ACTION),
)
async def disburse_loan(
    loan_id: PathId,
    body: LoanDisburse,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
) -> LoanOut:
    today = settings.today()
    loan = await service.disburse_loan(
        session,
        actor,
        loan_id,
        disbursed_on=body.disbursed_on,
        first_due_on=body.first_due_on,
        today=today,
    )
    return await respond_with_loan(session, loan, today, response)


@loans_router.post(
    "/{loan_id}/write-off",
    response_model=LoanOut,
    summary="Write a loan off (admins, managers)",
    description="`active` -> `written_off` (409 from any other status). `written_off_amount` "
    "is the principal outstanding at `written_off_on`, which may not be in the future, before "
    "disbursement or before the latest repayment.",
    responses=errors(*ACTION),
)
async def write_off_loan(
    loan_id: PathId,
    body: LoanWriteOff,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
) -> LoanOut:
    today = settings.today()
    loan = await service.write_off_loan(
        session,
        actor,
        loan_id,
        written_off_on=body.written_off_on,
        reason=body.reason,
        today=today,
    )
    return await respond_with_loan(session, loan, today, response)


@loans_router.get(
    "/{loan_id}/schedule",
    response_model=LoanScheduleOut,
    summary="A loan's schedule",
    description="The stored installments with what was paid on them and their status "
    "(`paid`, `partially_paid`, `due`, `overdue`) as of today or `as_of`; empty before "
    "disbursement.",
    responses=errors(*READ),
)
async def loan_schedule(
    loan_id: PathId,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    as_of: AsOf = None,
) -> LoanScheduleOut:
    day = as_of or settings.today()
    loan, lines = await service.loan_schedule(session, actor, loan_id, day)
    principal = sum((line.principal_due for line in lines), service.ZERO)
    interest = sum((line.interest_due for line in lines), service.ZERO)
    return LoanScheduleOut(
        loan_id=loan.id,
        as_of=day,
        installments=[LoanScheduleLineOut.model_validate(line) for line in lines],
        totals=LoanScheduleTotalsOut(
            principal=principal,
            interest=interest,
            total=principal + interest,
            principal_paid=sum((line.principal_paid for line in lines), service.ZERO),
            interest_paid=sum((line.interest_paid for line in lines), service.ZERO),
        ),
    )


def repayment_body(transaction: LoanTransaction) -> dict[str, Any]:
    out = RepaymentOut(
        id=transaction.id,
        loan_id=transaction.loan_id,
        kind=transaction.kind,
        amount=transaction.amount,
        paid_on=transaction.effective_on,
        principal_portion=transaction.principal_portion,
        interest_portion=transaction.interest_portion,
        reference=transaction.reference,
        reversed=transaction.reversed,
    )
    return out.model_dump(mode="json")


@loans_router.post(
    "/{loan_id}/repayments",
    response_model=RepaymentOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record a repayment (admins, advisers)",
    description="Allocated oldest installment first, interest before principal; a backdated "
    "repayment re-allocates the loan in date order. 422 when the amount is above what the loan "
    "still owes (the detail states that amount) or `paid_on` is before disbursement or in the "
    "future; 409 when the loan is not active.\n\n"
    "`Idempotency-Key` (optional, scoped to the loan): the same key with the same body returns "
    "the original status and body with `Idempotent-Replayed: true` and records nothing; the "
    "same key with another body is 409, and so is a duplicate that arrives while the first is "
    "still being processed. A request that failed stored nothing and may be retried.",
    responses=errors(*ACTION),
)
async def record_repayment(
    loan_id: PathId,
    body: RepaymentCreate,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
    idempotency_key: Annotated[
        IdempotencyKey | None,
        Header(alias="Idempotency-Key", description="Makes a retried request safe."),
    ] = None,
) -> Any:
    outcome = await service.record_repayment(
        session,
        actor,
        loan_id,
        service.NewRepayment(amount=body.amount, paid_on=body.paid_on, reference=body.reference),
        today=settings.today(),
        idempotency_key=idempotency_key,
        render=repayment_body,
    )
    if outcome.replayed is not None:
        stored = outcome.replayed
        return JSONResponse(
            stored.body,
            status_code=stored.status_code,
            headers={
                "Idempotent-Replayed": "true",
                "Location": f"/api/v1/loans/{loan_id}/transactions/{stored.body['id']}",
            },
        )
    assert outcome.transaction is not None
    response.headers["Location"] = f"/api/v1/loans/{loan_id}/transactions/{outcome.transaction.id}"
    return repayment_body(outcome.transaction)


@loans_router.get(
    "/{loan_id}/transactions",
    response_model=Page[TransactionOut],
    summary="A loan's transactions",
    description="Disbursement, repayments, reversals and write-off, ordered by effective date "
    "then id. A reversed repayment shows `reversed: true`; its reversal entry names it in "
    "`reverses_id`.",
    responses=errors(*LIST),
)
async def list_transactions(
    loan_id: PathId, session: SessionDep, actor: CurrentUser, page: PageDep
) -> Page[TransactionOut]:
    items, total = await service.list_transactions(session, actor, loan_id, page)
    return Page(
        items=[TransactionOut.model_validate(item) for item in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@loans_router.get(
    "/{loan_id}/transactions/{transaction_id}",
    response_model=TransactionOut,
    summary="One transaction of a loan",
    responses=errors(*READ),
)
async def get_transaction(
    loan_id: PathId, transaction_id: PathId, session: SessionDep, actor: CurrentUser
) -> TransactionOut:
    transaction = await service.get_transaction(session, actor, loan_id, transaction_id)
    return TransactionOut.model_validate(transaction)


@loans_router.post(
    "/{loan_id}/transactions/{transaction_id}/reverse",
    response_model=TransactionOut,
    summary="Reverse a repayment (admins, managers)",
    description="Records a `reversal` entry (effective today, the reversed amount) and "
    "re-allocates the loan as if the repayment had never been made; a repaid loan becomes "
    "active again if no longer fully paid. Only a non-reversed repayment of a loan that is not "
    "written off can be reversed (409 otherwise). `reason` is required.",
    responses=errors(*ACTION),
)
async def reverse_transaction(
    loan_id: PathId,
    transaction_id: PathId,
    body: ReverseRequest,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
) -> TransactionOut:
    reversal = await service.reverse_transaction(
        session, actor, loan_id, transaction_id, reason=body.reason, today=settings.today()
    )
    return TransactionOut.model_validate(reversal)


router.include_router(lenders_router)
router.include_router(products_router)
router.include_router(loans_router)
