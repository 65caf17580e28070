from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.core.money import Money, NonNegativeMoney
from app.core.schemas import RequestModel
from app.core.text import LongText


class FollowUpMode(StrEnum):
    field_visit = "field_visit"
    at_centre = "at_centre"
    phone = "phone"
    video = "video"


class ObservedStatus(StrEnum):
    """What the visit found; `dormant` sets the enterprise to `struggling`."""

    active = "active"
    struggling = "struggling"
    dormant = "dormant"
    closed = "closed"


class RiskLevel(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class Need(StrEnum):
    financing = "financing"
    marketing = "marketing"
    accounting = "accounting"
    supply = "supply"
    training = "training"
    equipment = "equipment"
    legal = "legal"
    premises = "premises"
    other = "other"


Employees = Annotated[int, Field(ge=0, le=500, description="0 to 500.")]


def distinct_needs(tags: list[Need]) -> list[Need]:
    if len(set(tags)) != len(tags):
        raise ValueError("must not repeat a tag")
    return tags


Needs = Annotated[
    list[Need],
    Field(max_length=len(Need), description="Distinct tags from the list."),
    AfterValidator(distinct_needs),
]


CREATE_EXAMPLE: dict[str, Any] = {
    "enterprise_id": 7,
    "visited_on": "2025-04-03",
    "mode": "field_visit",
    "enterprise_status": "active",
    "monthly_revenue": "8500.00",
    "employees_count": 2,
    "risk_level": "low",
    "needs": ["marketing", "accounting"],
    "notes": "Nouvelle clientèle à Derb Omar; besoin d'un cahier de caisse.",
    "next_follow_up_on": "2025-07-01",
}


class FollowUpCreate(RequestModel):
    """A visit of a created enterprise of the caller's scope. `adviser_id` defaults to the
    caller (managers and admins name an adviser of the enterprise's centre)."""

    model_config = ConfigDict(json_schema_extra={"examples": [CREATE_EXAMPLE]})

    enterprise_id: int
    adviser_id: int | None = None
    visited_on: date = Field(description="Not in the future, not before the enterprise's creation.")
    mode: FollowUpMode
    enterprise_status: ObservedStatus
    monthly_revenue: NonNegativeMoney | None = None
    employees_count: Employees | None = None
    risk_level: RiskLevel | None = None
    needs: Needs = Field(default_factory=list)
    notes: LongText | None = None
    next_follow_up_on: date | None = Field(default=None, description="After `visited_on`.")


NULLABLE_ON_PATCH = (
    "monthly_revenue",
    "employees_count",
    "risk_level",
    "notes",
    "next_follow_up_on",
)
"""Fields a PATCH may set to null."""


class FollowUpUpdate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"enterprise_status": "struggling", "risk_level": "high"}]}
    )

    adviser_id: int | None = None
    visited_on: date | None = None
    mode: FollowUpMode | None = None
    enterprise_status: ObservedStatus | None = None
    monthly_revenue: NonNegativeMoney | None = None
    employees_count: Employees | None = None
    risk_level: RiskLevel | None = None
    needs: Needs | None = None
    notes: LongText | None = None
    next_follow_up_on: date | None = None


class FollowUpOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    enterprise_id: int
    centre_id: int
    adviser_id: int
    visited_on: date
    mode: FollowUpMode
    enterprise_status: ObservedStatus
    monthly_revenue: Money | None
    employees_count: int | None
    risk_level: RiskLevel | None
    needs: list[Need]
    notes: str | None
    next_follow_up_on: date | None
    version: int = Field(description="Incremented on every change; send it back in If-Match.")
    created_at: datetime
    updated_at: datetime


class DueItem(BaseModel):
    enterprise_id: int
    name: str
    centre_id: int
    last_visited_on: date | None = Field(
        description="The latest visit on or before `as_of`; null when never visited."
    )
    due_on: date
    days_overdue: int = Field(description="`as_of` - `due_on`, in days (0 when due that day).")


class ArrearsItem(BaseModel):
    loan_id: int
    holder_id: int
    holder_name: str
    days_past_due: int
    arrears_amount: Money


class UncoachedHolder(BaseModel):
    holder_id: int
    holder_name: str
    last_session_on: date | None


class Worklist(BaseModel):
    as_of: date
    loans_in_arrears: list[ArrearsItem]
    follow_ups_due: list[DueItem]
    holders_without_session: list[UncoachedHolder]
