"""The items of a holder's timeline."""

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field


class TimelineKind(StrEnum):
    coaching_session = "coaching_session"
    follow_up = "follow_up"
    loan_event = "loan_event"
    status_change = "status_change"


class TimelineItem(BaseModel):
    kind: TimelineKind
    on: date = Field(
        description="The day it happened (status changes: in the configured time zone)."
    )
    id: int = Field(
        description="The record's id: the coaching session's, the follow-up's, the loan's "
        "(for every loan event, repayments and reversals included) or the audit event's."
    )
    summary: str = Field(examples=["Loan #12 disbursed: 10000.00 MAD"])
