"""Readable labels for report group keys (enum values, age bands, `unspecified`, `mixed`)."""

UNSPECIFIED = "unspecified"
MIXED = "mixed"
TOTAL_LABEL = "Total"

_LABELS: dict[str, str] = {
    UNSPECIFIED: "Unspecified",
    MIXED: "Mixed",
    # regions
    "tanger_tetouan_al_hoceima": "Tanger-Tétouan-Al Hoceïma",
    "oriental": "L'Oriental",
    "fes_meknes": "Fès-Meknès",
    "rabat_sale_kenitra": "Rabat-Salé-Kénitra",
    "beni_mellal_khenifra": "Béni Mellal-Khénifra",
    "casablanca_settat": "Casablanca-Settat",
    "marrakech_safi": "Marrakech-Safi",
    "draa_tafilalet": "Drâa-Tafilalet",
    "souss_massa": "Souss-Massa",
    "guelmim_oued_noun": "Guelmim-Oued Noun",
    "laayoune_sakia_el_hamra": "Laâyoune-Sakia El Hamra",
    "dakhla_oued_ed_dahab": "Dakhla-Oued Ed-Dahab",
    # sectors
    "agri_food": "Agri-food",
    "ict": "ICT",
    # coaching kinds
    "follow_up": "Follow-up",
    "business_relations": "Business relations",
    # age bands
    "18-24": "18-24 years",
    "25-29": "25-29 years",
    "30-35": "30-35 years",
    "36+": "36 years and over",
}


def humanise(value: str) -> str:
    """The label of an enum value: a known name, else the value with spaces, capitalised."""
    known = _LABELS.get(value)
    if known is not None:
        return known
    return value.replace("_", " ").capitalize()
