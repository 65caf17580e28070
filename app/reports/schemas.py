"""Report parameters and rows, as the reports' OpenAPI contract fixes them (docs/ARITHMETIC.md, "Report rows").

Every row has `key` (a group id, an enum value or a period's first day; null in `total`)
and `label` (a readable name; `Total` in `total`). Money is a two-decimal string, ratios
four-decimal strings or null where the denominator is zero.
"""

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, PlainSerializer, WithJsonSchema

from app.core.money import Money, Ratio, format_money
from app.core.schemas import ResponseModel
from app.reports.dates import Interval

__all__ = [
    "ActivityReport",
    "Aging",
    "AgingCell",
    "CoachingGroup",
    "CoachingReport",
    "CoachingRow",
    "FlowsReport",
    "FlowsRow",
    "ImpactGroup",
    "ImpactReport",
    "ImpactRow",
    "Interval",
    "PortfolioGroup",
    "PortfolioReport",
    "PortfolioRow",
    "PortfolioTrend",
    "ReportFormat",
    "TrendPoint",
]

Hours = Annotated[
    Decimal,
    PlainSerializer(format_money, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "examples": ["12.50"]}, mode="serialization"),
]
"""Hours with two decimals, as a string."""

GroupKey = int | str | None
KEY_DESCRIPTION = (
    "The group: a centre, lender, product or adviser id, an enum value, an age band or "
    "`unspecified` (borrowers without the attribute); null in `total`."
)


class ReportFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


class PortfolioGroup(StrEnum):
    centre = "centre"
    lender = "lender"
    product = "product"
    sector = "sector"
    gender = "gender"
    area = "area"
    region = "region"
    age_band = "age_band"
    adviser = "adviser"


class CoachingGroup(StrEnum):
    adviser = "adviser"
    kind = "kind"
    centre = "centre"
    month = "month"


class ImpactGroup(StrEnum):
    centre = "centre"
    sector = "sector"
    gender = "gender"
    area = "area"


class AgingCell(ResponseModel):
    loans: int
    outstanding_principal: Money


class Aging(ResponseModel):
    """Loans and their outstanding principal by days past due."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    current: AgingCell = Field(description="0 days past due.")
    days_1_30: AgingCell = Field(alias="1-30")
    days_31_60: AgingCell = Field(alias="31-60")
    days_61_90: AgingCell = Field(alias="61-90")
    days_91_180: AgingCell = Field(alias="91-180")
    days_181_365: AgingCell = Field(alias="181-365")
    days_366_plus: AgingCell = Field(alias="366+")


class PortfolioRow(ResponseModel):
    key: GroupKey = Field(description=KEY_DESCRIPTION)
    label: str
    active_loans: int = Field(description="Loans outstanding at `as_of`.")
    active_borrowers: int = Field(description="Distinct holders with an outstanding loan.")
    outstanding_principal: Money
    arrears_amount: Money = Field(
        description="Unpaid principal + interest of overdue installments."
    )
    par1_amount: Money = Field(description="Outstanding principal of loans > 1 day past due.")
    par30_amount: Money = Field(description="Outstanding principal of loans > 30 days past due.")
    par90_amount: Money = Field(description="Outstanding principal of loans > 90 days past due.")
    par1_ratio: Ratio | None
    par30_ratio: Ratio | None
    par90_ratio: Ratio | None
    aging: Aging


class PortfolioReport(ResponseModel):
    as_of: date
    group_by: PortfolioGroup
    centre_id: int | None = Field(description="The centre the report covers; null for all.")
    rows: list[PortfolioRow]
    total: PortfolioRow


class FlowsRow(ResponseModel):
    key: date | None = Field(description="The period's first day; null in `total`.")
    label: str
    period_start: date | None = Field(description="The calendar period's first day.")
    disbursed_count: int
    disbursed_amount: Money
    collected_principal: Money
    collected_interest: Money
    written_off_amount: Money
    loans_closed: int = Field(description="Loans that became `repaid` (not write-offs).")
    amount_due: Money
    collected_on_time: Money
    on_time_repayment_rate: Ratio | None


class RangeReport(ResponseModel):
    """A report over [`from`, `to`], both included."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: date = Field(alias="from")
    to: date


class FlowsReport(RangeReport):
    interval: Interval
    centre_id: int | None = Field(description="The centre the report covers; null for all.")
    rows: list[FlowsRow]
    total: FlowsRow


class CoachingRow(ResponseModel):
    key: GroupKey = Field(description=KEY_DESCRIPTION)
    label: str
    sessions: int
    hours: Hours = Field(description="Sum of durations / 60, two decimals.")
    holders_reached: int
    female_share: Ratio | None


class CoachingReport(RangeReport):
    group_by: CoachingGroup
    centre_id: int | None = Field(description="The centre the report covers; null for all.")
    rows: list[CoachingRow]
    total: CoachingRow


class ImpactRow(ResponseModel):
    key: GroupKey = Field(
        description=KEY_DESCRIPTION
        + " By gender, enterprises of owners of both genders count under `mixed`."
    )
    label: str
    holders: int
    enterprises_created: int
    active_enterprises: int
    closed_enterprises: int
    survival_rate_12m: Ratio | None
    survival_rate_24m: Ratio | None
    jobs: int
    coached_holders: int
    loan_uptake_6m: Ratio | None


class ImpactReport(ResponseModel):
    as_of: date
    group_by: ImpactGroup
    centre_id: int | None = Field(description="The centre the report covers; null for all.")
    rows: list[ImpactRow]
    total: ImpactRow


class CountAmount(ResponseModel):
    count: int = Field(description="Loans disbursed in the year.")
    amount: Money = Field(description="Their principal.")


class SessionsHours(ResponseModel):
    sessions: int
    hours: Hours = Field(description="Sum of durations / 60, two decimals.")


class ActivityHolders(ResponseModel):
    enrolled: int = Field(description="Holders enrolled in the year.")
    supported: int = Field(
        description="Holders with a coaching session they attended in the year, or a loan "
        "outstanding on at least one day of it."
    )
    by_gender: dict[str, int] = Field(description="`supported` by gender.")
    by_area: dict[str, int] = Field(description="`supported` by area.")
    by_age_band: dict[str, int] = Field(
        description="`supported` by age band at the year's last day (`unspecified`: under 18)."
    )


class ActivityEnterprises(ResponseModel):
    created: int = Field(description="Enterprises created in the year.")
    by_sector: dict[str, int] = Field(description="`created` by the enterprise's sector.")
    by_area: dict[str, int] = Field(description="`created` by the enterprise's area.")
    jobs: int = Field(
        description="Jobs of the enterprises active at the year's last day, as of their "
        "latest follow-up on or before it (else their jobs at creation)."
    )


class ActivityLoans(ResponseModel):
    disbursed_count: int
    disbursed_amount: Money
    by_sector: dict[str, CountAmount] = Field(
        description="The year's disbursements by the borrower's sector."
    )
    by_lender: dict[str, CountAmount] = Field(
        description="The year's disbursements by lender id (every lender, zeros included)."
    )
    lender_names: dict[str, str] = Field(description="Each lender id's name.")
    collected_principal: Money
    collected_interest: Money
    on_time_repayment_rate: Ratio | None
    par30_ratio_at_year_end: Ratio | None


class ActivityCoaching(ResponseModel):
    sessions: int
    hours: Hours
    holders_reached: int
    by_kind: dict[str, SessionsHours]


class ActivityReport(ResponseModel):
    year: int
    centre_id: int | None = Field(description="The centre the report covers; null for all.")
    first_day: date = Field(description="1 January of the year.")
    last_day: date = Field(description="31 December, or today for the current year.")
    holders: ActivityHolders
    enterprises: ActivityEnterprises
    loans: ActivityLoans
    coaching: ActivityCoaching


class TrendPoint(ResponseModel):
    as_of: date
    active_loans: int
    outstanding_principal: Money
    par30_ratio: Ratio | None
    par90_ratio: Ratio | None


class PortfolioTrend(ResponseModel):
    months: int
    centre_id: int | None = Field(description="The centre the report covers; null for all.")
    points: list[TrendPoint] = Field(
        description="The last `months` month ends, then today, oldest first."
    )
