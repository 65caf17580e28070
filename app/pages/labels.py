"""French labels of the pages (report keys stay the API's enum values)."""

from decimal import Decimal

LABELS: dict[str, str] = {
    "unspecified": "Non renseigné",
    "female": "Femmes",
    "male": "Hommes",
    "urban": "Urbain",
    "rural": "Rural",
    "18-24": "18-24 ans",
    "25-29": "25-29 ans",
    "30-35": "30-35 ans",
    "36+": "36 ans et plus",
    "agriculture": "Agriculture",
    "livestock": "Élevage",
    "agri_food": "Agroalimentaire",
    "handicrafts": "Artisanat",
    "commerce": "Commerce",
    "services": "Services",
    "manufacturing": "Industrie",
    "construction": "Bâtiment et travaux publics",
    "tourism": "Tourisme",
    "ict": "TIC",
    "other": "Autre",
    "advice": "Conseil",
    "follow_up": "Suivi",
    "evaluation": "Évaluation",
    "training": "Formation",
    "business_relations": "Relations d'affaires",
    "current": "À jour",
    "1-30": "1 à 30 jours",
    "31-60": "31 à 60 jours",
    "61-90": "61 à 90 jours",
    "91-180": "91 à 180 jours",
    "181-365": "181 à 365 jours",
    "366+": "Plus de 365 jours",
}

MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
MONTHS_SHORT = (
    "janv.", "févr.", "mars", "avr.", "mai", "juin",
    "juil.", "août", "sept.", "oct.", "nov.", "déc.",
)  # fmt: skip

NARROW_SPACE = "\u202f"  # French digit grouping


def label(key: str) -> str:
    return LABELS.get(key, key.replace("_", " ").capitalize())


def integer(value: int | str) -> str:
    return f"{int(value):,}".replace(",", NARROW_SPACE)


def money(value: str | Decimal | None) -> str:
    """A two-decimal amount as the French write it: 12 500,00."""
    if value is None:
        return "—"
    whole, _, cents = f"{Decimal(value):,.2f}".partition(".")
    return f"{whole.replace(',', NARROW_SPACE)},{cents}"


def percent(value: str | Decimal | None) -> str:
    """A four-decimal ratio as a percentage with two decimals: "0.1234" -> 12,34 %."""
    if value is None:
        return "—"
    return f"{Decimal(value) * 100:.2f}".replace(".", ",") + "\u00a0%"


def hours(value: str | Decimal) -> str:
    return f"{Decimal(value):.2f}".replace(".", ",")
