"""Request and response bodies of /api/v1/enterprises."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from app.core.enums import Area, Region, Sector
from app.core.schemas import RequestModel, ResponseModel
from app.core.text import NoNul
from app.enterprises.models import Enterprise


class LegalForm(StrEnum):
    informal = "informal"
    auto_entrepreneur = "auto_entrepreneur"
    sole_proprietorship = "sole_proprietorship"
    sarl = "sarl"
    sarl_au = "sarl_au"
    cooperative = "cooperative"


class EnterpriseStatus(StrEnum):
    project = "project"
    active = "active"
    struggling = "struggling"
    closed = "closed"


EnterpriseName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul
]
Activity = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul
]
Ice = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{15}$"),
    Field(
        description="Identifiant commun de l'entreprise: 15 digits.", examples=["001525638000094"]
    ),
]
OwnerIds = Annotated[
    list[int],
    Field(
        min_length=1,
        max_length=50,
        description="Holders of the enterprise's centre; at least one.",
        examples=[[12, 15]],
    ),
]
Jobs = Annotated[int, Field(ge=0, le=500)]

NULLABLE_ON_PATCH = ("activity", "ice", "region", "created_on", "closed_on")

CREATE_EXAMPLE: dict[str, Any] = {
    "name": "Coopérative Tifawin d'argan",
    "legal_form": "cooperative",
    "sector": "agri_food",
    "activity": "Production et vente d'huile d'argan",
    "ice": "001525638000094",
    "area": "rural",
    "region": "souss_massa",
    "created_on": "2024-03-01",
    "status": "active",
    "jobs_at_creation": 4,
    "owner_ids": [12, 15],
}


class EnterpriseCreate(RequestModel):
    """A new enterprise. `centre_id` defaults to the caller's centre; `status` defaults to
    `active` when `created_on` is given and to `project` otherwise."""

    model_config = ConfigDict(json_schema_extra={"examples": [CREATE_EXAMPLE]})

    centre_id: int | None = None
    name: EnterpriseName
    legal_form: LegalForm
    sector: Sector
    activity: Activity | None = None
    ice: Ice | None = None
    area: Area
    region: Region | None = None
    created_on: date | None = Field(
        default=None, description="Required unless `status` is `project`; not in the future."
    )
    status: EnterpriseStatus | None = None
    closed_on: date | None = Field(
        default=None,
        description="Required when `status` is `closed` (and only then); not before "
        "`created_on`, not in the future.",
    )
    jobs_at_creation: Jobs = 0
    owner_ids: OwnerIds


class EnterpriseUpdate(RequestModel):
    """Partial update; `owner_ids`, when sent, replaces the owners. The centre cannot change."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "closed", "closed_on": "2025-09-30"}, {"owner_ids": [12]}]
        }
    )

    name: EnterpriseName | None = None
    legal_form: LegalForm | None = None
    sector: Sector | None = None
    activity: Activity | None = None
    ice: Ice | None = None
    area: Area | None = None
    region: Region | None = None
    created_on: date | None = None
    status: EnterpriseStatus | None = None
    closed_on: date | None = None
    jobs_at_creation: Jobs | None = None
    owner_ids: OwnerIds | None = None


class EnterpriseOut(ResponseModel):
    id: int
    centre_id: int
    name: str
    legal_form: LegalForm
    sector: Sector
    activity: str | None
    ice: str | None
    area: Area
    region: Region | None
    created_on: date | None
    status: EnterpriseStatus
    closed_on: date | None
    jobs_at_creation: int
    owner_ids: list[int] = Field(description="The owners' holder ids, ascending.")
    version: int = Field(description="Incremented on every change; send it back in If-Match.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, enterprise: Enterprise, owner_ids: list[int]) -> "EnterpriseOut":
        fields = {
            name: getattr(enterprise, name) for name in cls.model_fields if name != "owner_ids"
        }
        return cls.model_validate({**fields, "owner_ids": owner_ids})
