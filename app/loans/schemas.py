"""Request and response bodies of lenders, loan products and loans (the `lenders`
and `loans` operations of the OpenAPI document)."""

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from app.core.money import Money, PositiveMoney, Rate
from app.core.params import DB_INT_MAX
from app.core.schemas import RequestModel, ResponseModel
from app.core.text import NoNul
from app.loans.ledger import InstallmentStatus
from app.loans.models import LoanStatus, TransactionKind
from app.loans.schedule import Amortization, Frequency, InterestMethod

MAX_ID = DB_INT_MAX
MAX_TERM = 360
"""The longest schedule accepted, in installments (30 years monthly, about 7 weekly)."""

EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Term = Annotated[int, Field(ge=1, le=MAX_TERM, description="Number of installments.")]
GracePeriods = Annotated[
    int, Field(ge=0, lt=MAX_TERM, description="Leading installments that repay no principal.")
]
LoanDate = Annotated[date, Field(ge=EARLIEST_DATE, le=LATEST_DATE)]
# Every free-text input refuses NUL characters (`NoNul`), which PostgreSQL cannot store.
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20), NoNul]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul]
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    NoNul,
    Field(description="Required; must not be blank."),
]
Purpose = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), NoNul
]
Reference = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul
]
LenderReference = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40),
    NoNul,
    Field(
        description="The lender's own loan number, unique per lender (409 when taken).",
        examples=["AMC-2025-000123"],
    ),
]


# --- lenders -------------------------------------------------------------------------------


class LenderCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"code": "AMC-ATT", "name": "Association Attadamoune"}]}
    )

    code: Code
    name: Name


class LenderUpdate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Association Attadamoune pour le microcrédit"}]}
    )

    code: Code | None = None
    name: Name | None = None


class LenderOut(ResponseModel):
    id: int
    code: str
    name: str
    version: int = Field(description="Incremented on every change; send it back in If-Match.")
    created_at: datetime
    updated_at: datetime


# --- loan products -------------------------------------------------------------------------

PRODUCT_EXAMPLE: dict[str, Any] = {
    "lender_id": 1,
    "name": "Crédit TPE mensuel",
    "interest_method": "declining_balance",
    "amortization": "equal_installments",
    "annual_rate": "24.00",
    "repayment_frequency": "monthly",
    "min_principal": "1000.00",
    "max_principal": "50000.00",
    "min_term": 6,
    "max_term": 36,
    "max_grace_periods": 3,
    "is_active": True,
}


class ProductCreate(RequestModel):
    """Bounds: 0 < min_principal <= max_principal <= the legal ceiling (MAX_LOAN_PRINCIPAL,
    150000.00 by default); 1 <= min_term <= max_term; 0 <= max_grace_periods < max_term."""

    model_config = ConfigDict(json_schema_extra={"examples": [PRODUCT_EXAMPLE]})

    lender_id: Id
    name: Name
    interest_method: InterestMethod
    amortization: Amortization
    annual_rate: Rate
    repayment_frequency: Frequency
    min_principal: PositiveMoney
    max_principal: PositiveMoney
    min_term: Term
    max_term: Term
    max_grace_periods: GracePeriods = 0
    is_active: bool = True


class ProductUpdate(RequestModel):
    """Partial update; the bounds are checked on the product as it would become."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"annual_rate": "22.50", "is_active": False}]}
    )

    lender_id: Id | None = None
    name: Name | None = None
    interest_method: InterestMethod | None = None
    amortization: Amortization | None = None
    annual_rate: Rate | None = None
    repayment_frequency: Frequency | None = None
    min_principal: PositiveMoney | None = None
    max_principal: PositiveMoney | None = None
    min_term: Term | None = None
    max_term: Term | None = None
    max_grace_periods: GracePeriods | None = None
    is_active: bool | None = None


class ProductOut(ResponseModel):
    id: int
    lender_id: int
    name: str
    interest_method: InterestMethod
    amortization: Amortization
    annual_rate: Rate
    repayment_frequency: Frequency
    min_principal: Money
    max_principal: Money
    min_term: int
    max_term: int
    max_grace_periods: int
    is_active: bool
    version: int = Field(description="Incremented on every change; send it back in If-Match.")
    created_at: datetime
    updated_at: datetime


# --- schedules -----------------------------------------------------------------------------


class SchedulePreviewRequest(RequestModel):
    """A loan's terms. `grace_periods` must be below `term`, `principal` at most the legal
    ceiling, `first_due_on` (default: one period after `disbursed_on`) not before
    `disbursed_on`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "principal": "10000.00",
                    "annual_rate": "24.00",
                    "term": 12,
                    "repayment_frequency": "monthly",
                    "interest_method": "declining_balance",
                    "amortization": "equal_installments",
                    "grace_periods": 0,
                    "disbursed_on": "2025-01-15",
                }
            ]
        }
    )

    principal: PositiveMoney
    annual_rate: Rate
    term: Term
    repayment_frequency: Frequency
    interest_method: InterestMethod
    amortization: Amortization
    grace_periods: GracePeriods = 0
    disbursed_on: LoanDate
    first_due_on: LoanDate | None = None


class ScheduleLineOut(ResponseModel):
    seq: int
    due_on: date
    principal_due: Money
    interest_due: Money
    total_due: Money
    balance_after: Money = Field(description="Scheduled principal balance after this installment.")


class ScheduleTotalsOut(ResponseModel):
    principal: Money
    interest: Money
    total: Money


class SchedulePreviewOut(ResponseModel):
    installments: list[ScheduleLineOut]
    totals: ScheduleTotalsOut


class LoanScheduleLineOut(ScheduleLineOut):
    principal_paid: Money
    interest_paid: Money
    paid_off_on: date | None = Field(description="Date of the payment that completed it.")
    status: InstallmentStatus


class LoanScheduleTotalsOut(ScheduleTotalsOut):
    principal_paid: Money
    interest_paid: Money


class LoanScheduleOut(ResponseModel):
    loan_id: int
    as_of: date = Field(description="Paid amounts and statuses are those of this date.")
    installments: list[LoanScheduleLineOut] = Field(description="Empty until disbursement.")
    totals: LoanScheduleTotalsOut


# --- loans ---------------------------------------------------------------------------------


class LoanApply(RequestModel):
    """An application. `annual_rate` defaults to the product's; `principal`, `term` and
    `grace_periods` (default 0) must fit the product's bounds and the legal ceiling;
    `applied_on` defaults to today and may not be in the future."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "holder_id": 12,
                    "enterprise_id": 4,
                    "product_id": 1,
                    "principal": "15000.00",
                    "term": 18,
                    "grace_periods": 1,
                    "purpose": "Achat d'un four et de matières premières pour la pâtisserie",
                    "applied_on": "2025-01-06",
                    "reference": "AMC-2025-000123",
                }
            ]
        }
    )

    holder_id: Id
    enterprise_id: Id | None = None
    product_id: Id
    principal: PositiveMoney
    term: Term
    grace_periods: GracePeriods | None = None
    annual_rate: Rate | None = None
    purpose: Purpose
    applied_on: LoanDate | None = None
    reference: LenderReference | None = None


class LoanUpdate(RequestModel):
    """What may change after the application: the lender's `reference` (`null` clears it)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"reference": "AMC-2025-000123"}]})

    reference: LenderReference | None = None


class LoanApprove(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"approved_on": "2025-01-10"}]})

    approved_on: LoanDate | None = Field(
        default=None, description="Default today; not before applied_on, not in the future."
    )


class LoanReject(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Projet non viable en l'état"}]}
    )

    reason: Reason


class LoanDisburse(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"disbursed_on": "2025-01-15", "first_due_on": "2025-02-15"}]
        }
    )

    disbursed_on: LoanDate = Field(description="Not before approved_on, not in the future.")
    first_due_on: LoanDate | None = Field(
        default=None, description="Default: one period after disbursed_on; not before it."
    )


class LoanWriteOff(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"written_off_on": "2025-12-31", "reason": "Activité arrêtée, 180 jours"}]
        }
    )

    written_off_on: LoanDate = Field(
        description="Not before disbursement nor the last repayment, not in the future."
    )
    reason: Reason


class LoanOut(ResponseModel):
    id: int
    holder_id: int
    enterprise_id: int | None
    product_id: int
    lender_id: int
    centre_id: int
    principal: Money
    annual_rate: Rate
    term: int
    repayment_frequency: Frequency
    interest_method: InterestMethod
    amortization: Amortization
    grace_periods: int
    purpose: str
    reference: str | None = Field(description="The lender's loan number; null when not known.")
    status: LoanStatus
    applied_on: date
    approved_on: date | None
    rejected_on: date | None
    rejection_reason: str | None
    disbursed_on: date | None
    first_due_on: date | None
    closed_on: date | None
    written_off_on: date | None
    written_off_amount: Money | None
    write_off_reason: str | None
    as_of: date = Field(description="The date of the derived figures below.")
    outstanding_principal: Money
    arrears_amount: Money
    days_past_due: int
    next_due_on: date | None
    next_due_amount: Money | None
    paid_principal: Money = Field(description="Principal repaid by as_of.")
    paid_interest: Money = Field(description="Interest repaid by as_of.")
    created_by: int | None
    version: int
    created_at: datetime
    updated_at: datetime


# --- repayments and transactions -----------------------------------------------------------


class RepaymentCreate(RequestModel):
    """`amount` at most what the loan still owes; `paid_on` not before disbursement, not in
    the future (backdated repayments are re-allocated in date order)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"amount": "945.60", "paid_on": "2025-02-15", "reference": "REC-000123"}]
        }
    )

    amount: PositiveMoney
    paid_on: LoanDate
    reference: Reference | None = None


class RepaymentOut(ResponseModel):
    id: int
    loan_id: int
    kind: TransactionKind
    amount: Money
    paid_on: date
    principal_portion: Money
    interest_portion: Money
    reference: str | None
    reversed: bool


class ReverseRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Chèque rejeté par la banque"}]}
    )

    reason: Reason


class TransactionOut(ResponseModel):
    id: int
    loan_id: int
    kind: TransactionKind
    amount: Money = Field(description="Always positive.")
    effective_on: date
    principal_portion: Money
    interest_portion: Money
    reference: str | None
    reversed: bool
    reverses_id: int | None
    reason: str | None
    created_at: datetime
    created_by: int | None
