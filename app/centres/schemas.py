from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.enums import Region
from app.core.schemas import RequestModel

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
City = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class CentreKind(StrEnum):
    enterprise_centre = "enterprise_centre"
    microcredit_centre = "microcredit_centre"
    training_centre = "training_centre"
    other = "other"


EXAMPLE: dict[str, Any] = {
    "code": "CAS-01",
    "name": "Centre d'entreprises solidaires de Casablanca",
    "kind": "enterprise_centre",
    "region": "casablanca_settat",
    "city": "Casablanca",
    "opened_on": "2019-03-01",
}


class CentreCreate(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    code: Code
    name: Name
    kind: CentreKind
    region: Region
    city: City
    opened_on: date | None = None


NULLABLE_ON_PATCH = ("opened_on",)
"""Fields a PATCH may set to null."""


class CentreUpdate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "CES Casablanca", "city": "Casablanca"}]}
    )

    code: Code | None = None
    name: Name | None = None
    kind: CentreKind | None = None
    region: Region | None = None
    city: City | None = None
    opened_on: date | None = None


class CentreOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    kind: CentreKind
    region: Region
    city: str
    opened_on: date | None
    version: int = Field(description="Incremented on every change; send it back in If-Match.")
    created_at: datetime
    updated_at: datetime
