from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.core.schemas import RequestModel
from app.core.text import LongText, NoNul


class SessionKind(StrEnum):
    """The centre's five support services."""

    advice = "advice"
    follow_up = "follow_up"
    evaluation = "evaluation"
    training = "training"
    business_relations = "business_relations"


class SessionFormat(StrEnum):
    individual = "individual"
    group = "group"


class SessionMode(StrEnum):
    in_person = "in_person"
    phone = "phone"
    video = "video"
    field_visit = "field_visit"


class Attendance(StrEnum):
    present = "present"
    absent = "absent"


Topic = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul
]
Duration = Annotated[int, Field(ge=1, le=600, description="Minutes, 1 to 600.")]


def distinct_holders(ids: list[int]) -> list[int]:
    if len(set(ids)) != len(ids):
        raise ValueError("must not repeat a holder")
    return ids


HolderIds = Annotated[
    list[int],
    Field(
        min_length=1,
        max_length=500,
        description="The holders who took part (at least one, all of the session's centre).",
    ),
    AfterValidator(distinct_holders),
]


class ParticipantIn(RequestModel):
    holder_id: int
    attendance: Attendance


def distinct_participants(items: list[ParticipantIn]) -> list[ParticipantIn]:
    distinct_holders([p.holder_id for p in items])
    return items


Participants = Annotated[
    list[ParticipantIn],
    Field(
        min_length=1,
        max_length=500,
        description="Attendance of some or all holders. Each `holder_id` must also be in "
        "`holder_ids` when both are sent; holders not listed here are `present`. "
        "On creation, `participants` alone may replace `holder_ids`.",
    ),
    AfterValidator(distinct_participants),
]


CREATE_EXAMPLE: dict[str, Any] = {
    "kind": "training",
    "format": "group",
    "mode": "in_person",
    "held_on": "2025-03-12",
    "duration_minutes": 180,
    "topic": "Tenir une comptabilité simple / مسك محاسبة بسيطة",
    "notes": "Atelier sur le cahier de caisse et la séparation des comptes.",
    "next_steps": "Chacun apporte son cahier de caisse à la prochaine séance.",
    "holder_ids": [12, 13, 14],
    "participants": [{"holder_id": 14, "attendance": "absent"}],
}


class SessionCreate(RequestModel):
    """A coaching session. The session's holders are `holder_ids` (or, when it is left out,
    the holders named in `participants`); `participants` marks attendance, and holders it
    does not name are `present`. `centre_id` defaults to the caller's centre; `adviser_id`
    to the caller (managers and admins name an adviser of the centre)."""

    model_config = ConfigDict(json_schema_extra={"examples": [CREATE_EXAMPLE]})

    centre_id: int | None = None
    adviser_id: int | None = None
    kind: SessionKind
    format: SessionFormat
    mode: SessionMode
    held_on: date = Field(description="Not in the future.")
    duration_minutes: Duration
    topic: Topic
    notes: LongText | None = None
    next_steps: LongText | None = None
    holder_ids: HolderIds | None = None
    participants: Participants | None = None
    enterprise_id: int | None = None


NULLABLE_ON_PATCH = ("notes", "next_steps", "enterprise_id")
"""Fields a PATCH may set to null."""


class SessionUpdate(RequestModel):
    """Partial update. `holder_ids` replaces the session's holders (those kept keep their
    attendance, new ones are `present`); `participants` sets the attendance of holders
    of the session."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "duration_minutes": 150,
                    "participants": [{"holder_id": 14, "attendance": "present"}],
                }
            ]
        }
    )

    adviser_id: int | None = None
    kind: SessionKind | None = None
    format: SessionFormat | None = None
    mode: SessionMode | None = None
    held_on: date | None = None
    duration_minutes: Duration | None = None
    topic: Topic | None = None
    notes: LongText | None = None
    next_steps: LongText | None = None
    holder_ids: HolderIds | None = None
    participants: Participants | None = None
    enterprise_id: int | None = None


class ParticipantOut(BaseModel):
    holder_id: int
    attendance: Attendance


class SessionOut(BaseModel):
    id: int
    centre_id: int
    adviser_id: int
    kind: SessionKind
    format: SessionFormat
    mode: SessionMode
    held_on: date
    duration_minutes: int
    topic: str
    notes: str | None
    next_steps: str | None
    holder_ids: list[int] = Field(description="Every holder of the session, ascending.")
    participants: list[ParticipantOut] = Field(
        description="The same holders with their attendance."
    )
    enterprise_id: int | None
    version: int = Field(description="Incremented on every change; send it back in If-Match.")
    created_at: datetime
    updated_at: datetime
