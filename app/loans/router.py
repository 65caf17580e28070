"""Loans over HTTP (the `loans` operations of the OpenAPI document); `router` also carries the lenders and loan products
endpoints of `app.loans.products_router`."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Response, status

from app.core.concurrency import set_etag
from app.core.db import SessionDep
from app.core.deps import CurrentUser, SettingsDep
from app.core.idempotency import IDEMPOTENT, IdempotentRoute
from app.core.openapi import ACTION, CREATE, LIST, READ, UPDATE, errors, roles_doc
from app.core.pagination import Page, PageDep, page_of, sorting
from app.core.params import PathId, QueryId
from app.core.patching import patch_values
from app.core.roles import READERS
from app.core.scope import centre_filter
from app.loans import applications, filters, lifecycle, reads, references, repayments, rules
from app.loans.ledger import Position
from app.loans.models import Loan, LoanStatus, LoanTransaction
from app.loans.products_router import lenders_router, products_router
from app.loans.schedule import (
    Amortization,
    Frequency,
    InterestMethod,
    ScheduledInstallment,
    schedule_totals,
)
from app.loans.schemas import (
    LenderReference,
    LoanApply,
    LoanApprove,
    LoanDisburse,
    LoanOut,
    LoanReject,
    LoanScheduleLineOut,
    LoanScheduleOut,
    LoanScheduleTotalsOut,
    LoanUpdate,
    LoanWriteOff,
    RepaymentCreate,
    RepaymentOut,
    ReverseRequest,
    ScheduleLineOut,
    SchedulePreviewOut,
    SchedulePreviewRequest,
    ScheduleTotalsOut,
    TransactionOut,
)

loans_router = APIRouter(prefix="/api/v1/loans", route_class=IdempotentRoute, tags=["loans"])

router = APIRouter()
"""Lenders, loan products and loans, for `create_app`."""

NO_APPROVAL_DATE = LoanApprove()
"""The body of an approval sent without one: approved today."""

AsOf = Annotated[
    date | None,
    Query(description="Compute the derived figures as of this date (default: today)."),
]

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
transaction_sort = sorting(
    {"id": LoanTransaction.id, "effective_on": LoanTransaction.effective_on},
    default="effective_on",
)


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
    description="A calculator; stores nothing. 422 naming the field "
    "when `grace_periods` >= `term`, `principal` is above the legal ceiling or `first_due_on` "
    "is before `disbursed_on`.",
    responses=errors(400, 401, 413, 415, 422),
    openapi_extra=roles_doc(READERS),
)
async def schedule_preview(
    body: SchedulePreviewRequest, actor: CurrentUser, settings: SettingsDep
) -> SchedulePreviewOut:
    items = applications.preview_schedule(
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


_LOAN_COLUMNS = [name for name in LoanOut.model_fields if name in Loan.__table__.columns]
_TEXT_ENUMS = {
    "status": LoanStatus,
    "repayment_frequency": Frequency,
    "interest_method": InterestMethod,
    "amortization": Amortization,
}


def loan_out(loan: Loan, position: Position, as_of: date) -> LoanOut:
    """The loan's body, built without validation (`model_construct`): every value is a stored
    column, typed by the database, or a ledger figure, so validating them again would only
    re-check what the schema and the ledger guarantee, at about a third of a loans page's
    time. The enum columns are stored as text and converted here; money is formatted by
    the fields' serializers as for any response."""
    values = {name: getattr(loan, name) for name in _LOAN_COLUMNS}
    for name, enum in _TEXT_ENUMS.items():
        values[name] = enum(values[name])
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
    return LoanOut.model_construct(**values)


async def respond_with_loan(
    session: SessionDep, loan: Loan, as_of: date, today: date, response: Response
) -> LoanOut:
    positions = await reads.loan_positions(session, [loan], as_of, today)
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
    "days ago; 0 keeps all), `reference` (the lender's loan number). A `centre_id` outside the caller's scope is 404.",
    responses=errors(*LIST),
    openapi_extra=roles_doc(READERS),
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
    reference: Annotated[LenderReference | None, Query()] = None,
) -> Page[LoanOut]:
    today = settings.today()
    loan_filters = filters.LoanFilters(
        centre_id=centre_filter(actor, centre_id),
        holder_id=holder_id,
        enterprise_id=enterprise_id,
        lender_id=lender_id,
        product_id=product_id,
        status=status,
        in_arrears=in_arrears,
        min_days_past_due=min_days_past_due,
        reference=reference,
    )
    items, total = await filters.list_loans(session, actor, page, order_by, loan_filters, today)
    positions = await reads.loan_positions(session, items, today, today)
    return page_of(items, total, page, lambda loan: loan_out(loan, positions[loan.id], today))


@loans_router.post(
    "",
    dependencies=[IDEMPOTENT],
    response_model=LoanOut,
    status_code=status.HTTP_201_CREATED,
    summary="Apply for a loan",
    description="Creates a `submitted` loan. The holder (and enterprise, owned by the holder) "
    "must be in the caller's scope; the product must be active; principal, term and "
    "grace_periods must fit the product's bounds and principal the legal ceiling (422 naming "
    "the field). The rate defaults to the product's; lender, frequency, interest method and "
    "amortization are copied from the product and the centre from the holder.",
    responses=errors(*CREATE),
    openapi_extra=roles_doc(rules.APPLY_ROLES),
)
async def apply_for_loan(
    body: LoanApply,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
) -> LoanOut:
    today = settings.today()
    application = applications.LoanApplication(**body.model_dump())
    loan = await applications.apply_for_loan(
        session, actor, application, today=today, legal_ceiling=settings.max_loan_principal
    )
    response.headers["Location"] = f"/api/v1/loans/{loan.id}"
    return await respond_with_loan(session, loan, today, today, response)


@loans_router.get(
    "/{loan_id}",
    response_model=LoanOut,
    summary="Get a loan",
    description="With outstanding principal, arrears, days past due and next due as of today, "
    "or as of `as_of`.",
    responses=errors(*READ),
    openapi_extra=roles_doc(READERS),
)
async def get_loan(
    loan_id: PathId,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
    as_of: AsOf = None,
) -> LoanOut:
    loan = await rules.get_loan(session, actor, loan_id)
    today = settings.today()
    return await respond_with_loan(session, loan, as_of or today, today, response)


@loans_router.patch(
    "/{loan_id}",
    response_model=LoanOut,
    summary="Set a loan's lender reference",
    description="Admins, managers and advisers in scope. `reference` is the lender's own loan "
    "number (up to 40 characters, unique per lender: 409 when taken; `null` clears it). Send "
    "the `ETag` you read as `If-Match`; 412 when it is stale.",
    responses=errors(*UPDATE),
    openapi_extra=roles_doc(references.EDIT_ROLES),
)
async def update_loan(
    loan_id: PathId,
    body: LoanUpdate,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> LoanOut:
    loan = await rules.get_loan(session, actor, loan_id)
    values = patch_values(body, nullable=("reference",))
    loan = await references.update_loan(session, actor, loan, values, if_match)
    today = settings.today()
    return await respond_with_loan(session, loan, today, today, response)


@loans_router.post(
    "/{loan_id}/approve",
    dependencies=[IDEMPOTENT],
    response_model=LoanOut,
    summary="Approve an application",
    description="`submitted` -> `approved` (409 from any other status). `approved_on` defaults "
    "to today; not before `applied_on`, not in the future.",
    responses=errors(*ACTION),
    openapi_extra=roles_doc(rules.APPROVE_ROLES),
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
    loan = await lifecycle.approve_loan(
        session, actor, loan_id, approved_on=body.approved_on, today=today
    )
    return await respond_with_loan(session, loan, today, today, response)


@loans_router.post(
    "/{loan_id}/reject",
    dependencies=[IDEMPOTENT],
    response_model=LoanOut,
    summary="Reject an application",
    description="`submitted` -> `rejected` (409 from any other status); `reason` is required.",
    responses=errors(*ACTION),
    openapi_extra=roles_doc(rules.APPROVE_ROLES),
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
    loan = await lifecycle.reject_loan(session, actor, loan_id, reason=body.reason, today=today)
    return await respond_with_loan(session, loan, today, today, response)


@loans_router.post(
    "/{loan_id}/disburse",
    dependencies=[IDEMPOTENT],
    response_model=LoanOut,
    summary="Disburse an approved loan",
    description="`approved` -> `active` (409 from any other status): generates and stores the "
    "schedule and records the disbursement. `disbursed_on` not before `approved_on` nor in the "
    "future; `first_due_on` (default one period after disbursement) not before it.",
    responses=errors(*ACTION),
    openapi_extra=roles_doc(rules.DISBURSE_ROLES),
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
    loan = await lifecycle.disburse_loan(
        session,
        actor,
        loan_id,
        disbursed_on=body.disbursed_on,
        first_due_on=body.first_due_on,
        today=today,
    )
    return await respond_with_loan(session, loan, today, today, response)


@loans_router.post(
    "/{loan_id}/write-off",
    dependencies=[IDEMPOTENT],
    response_model=LoanOut,
    summary="Write a loan off",
    description="`active` -> `written_off` (409 from any other status). `written_off_amount` "
    "is the principal outstanding at `written_off_on`, which may not be in the future, before "
    "disbursement or before the latest repayment.",
    responses=errors(*ACTION),
    openapi_extra=roles_doc(rules.WRITE_OFF_ROLES),
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
    loan = await lifecycle.write_off_loan(
        session,
        actor,
        loan_id,
        written_off_on=body.written_off_on,
        reason=body.reason,
        today=today,
    )
    return await respond_with_loan(session, loan, today, today, response)


@loans_router.get(
    "/{loan_id}/schedule",
    response_model=LoanScheduleOut,
    summary="A loan's schedule",
    description="The stored installments with what was paid on them and their status "
    "(`paid`, `partially_paid`, `due`, `overdue`) as of today or `as_of`; empty before "
    "disbursement.",
    responses=errors(*READ),
    openapi_extra=roles_doc(READERS),
)
async def loan_schedule(
    loan_id: PathId,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    as_of: AsOf = None,
) -> LoanScheduleOut:
    day = as_of or settings.today()
    loan, lines = await reads.loan_schedule(session, actor, loan_id, day, settings.today())
    principal = sum((line.principal_due for line in lines), rules.ZERO)
    interest = sum((line.interest_due for line in lines), rules.ZERO)
    return LoanScheduleOut(
        loan_id=loan.id,
        as_of=day,
        installments=[LoanScheduleLineOut.model_validate(line) for line in lines],
        totals=LoanScheduleTotalsOut(
            principal=principal,
            interest=interest,
            total=principal + interest,
            principal_paid=sum((line.principal_paid for line in lines), rules.ZERO),
            interest_paid=sum((line.interest_paid for line in lines), rules.ZERO),
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
    dependencies=[IDEMPOTENT],
    response_model=RepaymentOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record a repayment",
    description="Allocated oldest installment first, interest before principal; a backdated "
    "repayment re-allocates the loan in date order. 422 when the amount is above what the loan "
    "still owes (the detail states that amount) or `paid_on` is before disbursement or in the "
    "future; 409 when the loan is not active.\n\n"
    "`Idempotency-Key` (optional): see the header; a request that failed stored nothing and "
    "may be retried.",
    responses=errors(*ACTION),
    openapi_extra=roles_doc(rules.REPAY_ROLES),
)
async def record_repayment(
    loan_id: PathId,
    body: RepaymentCreate,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
) -> Any:
    transaction = await repayments.record_repayment(
        session,
        actor,
        loan_id,
        repayments.NewRepayment(amount=body.amount, paid_on=body.paid_on, reference=body.reference),
        today=settings.today(),
    )
    response.headers["Location"] = f"/api/v1/loans/{loan_id}/transactions/{transaction.id}"
    return repayment_body(transaction)


@loans_router.get(
    "/{loan_id}/transactions",
    response_model=Page[TransactionOut],
    summary="A loan's transactions",
    description="Disbursement, repayments, reversals and write-off, ordered by effective date "
    "then id unless `sort` says otherwise. A reversed repayment shows `reversed: true`; its reversal entry names it in "
    "`reverses_id`.",
    responses=errors(*LIST),
    openapi_extra=roles_doc(READERS),
)
async def list_transactions(
    loan_id: PathId,
    session: SessionDep,
    actor: CurrentUser,
    page: PageDep,
    order_by: Annotated[list[Any], Depends(transaction_sort)],
) -> Page[TransactionOut]:
    items, total = await reads.list_transactions(session, actor, loan_id, page, order_by)
    return page_of(items, total, page, TransactionOut.model_validate)


@loans_router.get(
    "/{loan_id}/transactions/{transaction_id}",
    response_model=TransactionOut,
    summary="One transaction of a loan",
    description="A disbursement, repayment, reversal or write-off of the loan, as listed by `GET "
    "/api/v1/loans/{loan_id}/transactions`. 404 when the loan is missing or outside the "
    "caller's centre, or the transaction belongs to another loan.",
    responses=errors(*READ),
    openapi_extra=roles_doc(READERS),
)
async def get_transaction(
    loan_id: PathId, transaction_id: PathId, session: SessionDep, actor: CurrentUser
) -> TransactionOut:
    transaction = await reads.get_transaction(session, actor, loan_id, transaction_id)
    return TransactionOut.model_validate(transaction)


@loans_router.post(
    "/{loan_id}/transactions/{transaction_id}/reverse",
    dependencies=[IDEMPOTENT],
    response_model=TransactionOut,
    summary="Reverse a repayment",
    description="Records a `reversal` entry (effective today, the reversed amount) and "
    "re-allocates the loan as if the repayment had never been made; a repaid loan becomes "
    "active again if no longer fully paid. Only a non-reversed repayment of a loan that is not "
    "written off can be reversed (409 otherwise). `reason` is required.",
    responses=errors(*ACTION),
    openapi_extra=roles_doc(rules.REVERSE_ROLES),
)
async def reverse_transaction(
    loan_id: PathId,
    transaction_id: PathId,
    body: ReverseRequest,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
) -> TransactionOut:
    reversal = await repayments.reverse_transaction(
        session, actor, loan_id, transaction_id, reason=body.reason, today=settings.today()
    )
    return TransactionOut.model_validate(reversal)


router.include_router(lenders_router)
router.include_router(products_router)
router.include_router(loans_router)
