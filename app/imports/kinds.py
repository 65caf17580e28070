"""The four kinds of import and their columns: the JSON fields of the matching create body,
with references by natural keys instead of ids (README "Imports")."""

from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel

from app.core.scope import Role
from app.enterprises.schemas import EnterpriseCreate
from app.holders.schemas import HolderCreate


class ImportKind(StrEnum):
    holders = "holders"
    enterprises = "enterprises"
    loans = "loans"
    repayments = "repayments"


@dataclass(frozen=True)
class KindSpec:
    """What a file of one kind may contain.

    `renamed` maps a create body's field to the column that stands for it, so that an error
    the create rules report on `holder_id` is shown on `holder_national_id`."""

    columns: tuple[str, ...]
    required: frozenset[str]
    dates: frozenset[str]
    decimals: frozenset[str]
    roles: tuple[Role, ...]
    example: dict[str, str]
    renamed: dict[str, str] = field(default_factory=dict)


def body_columns(model: type[BaseModel], replaced: tuple[str, ...]) -> tuple[list[str], set[str]]:
    """A create body's fields, without those replaced by natural keys, and the required
    ones among them."""
    names = [name for name in model.model_fields if name not in replaced]
    required = {name for name in names if model.model_fields[name].is_required()}
    return names, required


_holder_fields, _holder_required = body_columns(HolderCreate, ("centre_id", "adviser_id"))
_enterprise_fields, _enterprise_required = body_columns(
    EnterpriseCreate, ("centre_id", "owner_ids")
)

EVERYONE_IN_A_CENTRE = (Role.admin, Role.manager, Role.adviser)
MANAGERS = (Role.admin, Role.manager)

SPECS: dict[ImportKind, KindSpec] = {
    ImportKind.holders: KindSpec(
        columns=("centre_code", "adviser_email", *_holder_fields),
        required=frozenset(_holder_required),
        dates=frozenset({"birth_date", "enrolled_on"}),
        decimals=frozenset(),
        roles=EVERYONE_IN_A_CENTRE,
        renamed={"centre_id": "centre_code", "adviser_id": "adviser_email"},
        example={
            "centre_code": "CASA01",
            "adviser_email": "conseillere@centre.ma",
            "first_name": "Fatima Zahra",
            "last_name": "El Amrani",
            "national_id": "BE123456",
            "birth_date": "17/05/2000",
            "gender": "female",
            "phone": "06 12 34 56 78",
            "email": "fatima.elamrani@example.ma",
            "address": "12 rue des Orangers, Hay Mohammadi",
            "region": "casablanca_settat",
            "province": "Casablanca",
            "area": "urban",
            "education_level": "vocational",
            "household_vulnerable": "true",
            "status": "in_support",
            "enrolled_on": "2025-01-15",
            "sector": "handicrafts",
            "project_summary": "Atelier de couture traditionnelle (caftans)",
        },
    ),
    ImportKind.enterprises: KindSpec(
        columns=("centre_code", *_enterprise_fields, "owner_national_ids"),
        required=frozenset({*_enterprise_required, "owner_national_ids"}),
        dates=frozenset({"created_on", "closed_on"}),
        decimals=frozenset(),
        roles=EVERYONE_IN_A_CENTRE,
        renamed={"centre_id": "centre_code", "owner_ids": "owner_national_ids"},
        example={
            "centre_code": "CASA01",
            "name": "Atelier Caftan Zahra",
            "legal_form": "auto_entrepreneur",
            "sector": "handicrafts",
            "activity": "Couture de caftans sur mesure",
            "ice": "001525638000094",
            "area": "urban",
            "region": "casablanca_settat",
            "created_on": "01/03/2025",
            "status": "active",
            "closed_on": "",
            "jobs_at_creation": "2",
            "owner_national_ids": "BE123456",
        },
    ),
    ImportKind.loans: KindSpec(
        columns=(
            "holder_national_id",
            "enterprise_name",
            "lender_code",
            "product_name",
            "reference",
            "principal",
            "term",
            "grace_periods",
            "annual_rate",
            "purpose",
            "applied_on",
            "approved_on",
            "disbursed_on",
            "first_due_on",
        ),
        required=frozenset(
            {
                "holder_national_id",
                "lender_code",
                "product_name",
                "reference",
                "principal",
                "term",
                "purpose",
                "applied_on",
            }
        ),
        dates=frozenset({"applied_on", "approved_on", "disbursed_on", "first_due_on"}),
        decimals=frozenset({"principal", "annual_rate"}),
        roles=MANAGERS,
        renamed={
            "holder_id": "holder_national_id",
            "enterprise_id": "enterprise_name",
            "product_id": "product_name",
        },
        example={
            "holder_national_id": "BE123456",
            "enterprise_name": "Atelier Caftan Zahra",
            "lender_code": "AMC-ATT",
            "product_name": "Crédit TPE mensuel",
            "reference": "AMC-2025-000123",
            "principal": "15 000,00",
            "term": "12",
            "grace_periods": "0",
            "annual_rate": "",
            "purpose": "Machine à coudre industrielle",
            "applied_on": "06/01/2025",
            "approved_on": "2025-01-10",
            "disbursed_on": "2025-01-15",
            "first_due_on": "2025-02-15",
        },
    ),
    ImportKind.repayments: KindSpec(
        columns=("lender_code", "reference", "paid_on", "amount", "receipt"),
        required=frozenset({"lender_code", "reference", "paid_on", "amount", "receipt"}),
        dates=frozenset({"paid_on"}),
        decimals=frozenset({"amount"}),
        roles=MANAGERS,
        renamed={"reference": "receipt"},
        example={
            "lender_code": "AMC-ATT",
            "reference": "AMC-2025-000123",
            "paid_on": "15/02/2025",
            "amount": "1 418,50",
            "receipt": "REC-000123",
        },
    ),
}
