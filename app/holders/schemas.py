"""Request and response bodies of /api/v1/holders."""

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, EmailStr, Field, StringConstraints

from app.core.enums import Area, Gender, Region, Sector
from app.core.schemas import RequestModel, ResponseModel
from app.core.text import NoNul


class EducationLevel(StrEnum):
    none = "none"
    primary = "primary"
    lower_secondary = "lower_secondary"
    upper_secondary = "upper_secondary"
    vocational = "vocational"
    university = "university"


class HolderStatus(StrEnum):
    applicant = "applicant"
    eligible = "eligible"
    in_support = "in_support"
    enterprise_created = "enterprise_created"
    graduated = "graduated"
    dropped = "dropped"


CIN_PATTERN = re.compile(r"[A-Z]{1,2}[0-9]{1,6}")
PHONE_SEPARATORS = re.compile(r"[\s.\-]")
LOCAL_PHONE = re.compile(r"0([567][0-9]{8})")
INTERNATIONAL_PHONE = re.compile(r"(?:\+|00)212([567][0-9]{8})")


def normalise_national_id(value: str) -> str:
    """A Moroccan CIN: one or two letters then 1 to 6 digits, returned upper-case."""
    candidate = value.strip().upper()
    if not CIN_PATTERN.fullmatch(candidate):
        raise ValueError("a CIN is one or two letters followed by 1 to 6 digits, e.g. BE123456")
    return candidate


def normalise_phone(value: str) -> str:
    """A Moroccan mobile or landline number as `+212` and 9 digits starting with 5, 6 or 7.

    Accepts what people type: `06 12 34 56 78`, `0612345678`, `+212 6 12 34 56 78`,
    `00212612345678` (spaces, dots and dashes are ignored).
    """
    compact = PHONE_SEPARATORS.sub("", value)
    match = LOCAL_PHONE.fullmatch(compact) or INTERNATIONAL_PHONE.fullmatch(compact)
    if match is None:
        raise ValueError(
            "not a Moroccan phone number: use 06XXXXXXXX, 07XXXXXXXX, 05XXXXXXXX, "
            "+212XXXXXXXXX or 00212XXXXXXXXX"
        )
    return f"+212{match.group(1)}"


NationalId = Annotated[
    str,
    AfterValidator(normalise_national_id),
    Field(
        description="Moroccan CIN: one or two letters then 1 to 6 digits; stored upper-case.",
        examples=["BE123456"],
    ),
]
Phone = Annotated[
    str,
    Field(max_length=30),
    AfterValidator(normalise_phone),
    Field(
        description="Moroccan number; `06...`, `07...`, `05...`, `+212...` and `00212...` "
        "are accepted and stored as `+212XXXXXXXXX`.",
        examples=["+212612345678"],
    ),
]
PersonName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul
]
Address = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), NoNul
]
Province = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul
]
Summary = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), NoNul
]

PERSONAL_FIELDS = (
    "first_name",
    "last_name",
    "national_id",
    "birth_date",
    "phone",
    "email",
    "address",
    "project_summary",
)
"""The fields that anonymisation erases and that can no longer be changed afterwards."""

NULLABLE_ON_PATCH = (
    "adviser_id",
    "phone",
    "email",
    "address",
    "region",
    "province",
    "education_level",
    "sector",
    "project_summary",
)

CREATE_EXAMPLE: dict[str, Any] = {
    "first_name": "Fatima Zahra",
    "last_name": "El Amrani",
    "national_id": "BE123456",
    "birth_date": "2000-05-17",
    "gender": "female",
    "phone": "06 12 34 56 78",
    "email": "fatima.elamrani@example.ma",
    "region": "casablanca_settat",
    "province": "Casablanca",
    "area": "urban",
    "education_level": "vocational",
    "household_vulnerable": True,
    "sector": "handicrafts",
    "project_summary": "Atelier de couture traditionnelle (caftans) à Hay Mohammadi.",
}


class HolderCreate(RequestModel):
    """A new holder. `centre_id` defaults to the caller's centre (required for callers with
    no centre); `enrolled_on` defaults to today; `status` to `applicant`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                CREATE_EXAMPLE,
                {
                    "first_name": "فاطمة الزهراء",
                    "last_name": "العمراني",
                    "national_id": "J412345",
                    "birth_date": "1998-11-02",
                    "gender": "female",
                    "area": "rural",
                    "phone": "+212 7 01 02 03 04",
                },
            ]
        }
    )

    centre_id: int | None = None
    adviser_id: int | None = Field(
        default=None, description="An active adviser or manager of the holder's centre."
    )
    first_name: PersonName
    last_name: PersonName
    national_id: NationalId
    birth_date: date
    gender: Gender
    phone: Phone | None = None
    email: EmailStr | None = None
    address: Address | None = None
    region: Region | None = None
    province: Province | None = None
    area: Area
    education_level: EducationLevel | None = None
    household_vulnerable: bool = False
    status: HolderStatus = HolderStatus.applicant
    enrolled_on: date | None = None
    sector: Sector | None = None
    project_summary: Summary | None = None


class HolderUpdate(RequestModel):
    """Partial update; send only the fields that change. The centre cannot be changed."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "in_support", "phone": "0661234567"}]}
    )

    adviser_id: int | None = None
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    national_id: NationalId | None = None
    birth_date: date | None = None
    gender: Gender | None = None
    phone: Phone | None = None
    email: EmailStr | None = None
    address: Address | None = None
    region: Region | None = None
    province: Province | None = None
    area: Area | None = None
    education_level: EducationLevel | None = None
    household_vulnerable: bool | None = None
    status: HolderStatus | None = None
    enrolled_on: date | None = None
    sector: Sector | None = None
    project_summary: Summary | None = None


class HolderOut(ResponseModel):
    id: int
    centre_id: int
    adviser_id: int | None
    first_name: str
    last_name: str
    national_id: str | None = Field(description="Null once the holder is anonymised.")
    birth_date: date
    gender: Gender
    phone: str | None
    email: str | None
    address: str | None
    region: Region | None
    province: str | None
    area: Area
    education_level: EducationLevel | None
    household_vulnerable: bool
    status: HolderStatus
    enrolled_on: date
    sector: Sector | None
    project_summary: str | None
    anonymised_at: datetime | None = Field(
        description="When the holder's personal data was erased (law 09-08); null otherwise."
    )
    version: int = Field(description="Incremented on every change; send it back in If-Match.")
    created_at: datetime
    updated_at: datetime
