"""Vocabularies shared by several domains."""

from enum import StrEnum


class Region(StrEnum):
    """The 12 regions of Morocco."""

    tanger_tetouan_al_hoceima = "tanger_tetouan_al_hoceima"
    oriental = "oriental"
    fes_meknes = "fes_meknes"
    rabat_sale_kenitra = "rabat_sale_kenitra"
    beni_mellal_khenifra = "beni_mellal_khenifra"
    casablanca_settat = "casablanca_settat"
    marrakech_safi = "marrakech_safi"
    draa_tafilalet = "draa_tafilalet"
    souss_massa = "souss_massa"
    guelmim_oued_noun = "guelmim_oued_noun"
    laayoune_sakia_el_hamra = "laayoune_sakia_el_hamra"
    dakhla_oued_ed_dahab = "dakhla_oued_ed_dahab"


class Sector(StrEnum):
    agriculture = "agriculture"
    livestock = "livestock"
    agri_food = "agri_food"
    handicrafts = "handicrafts"
    commerce = "commerce"
    services = "services"
    manufacturing = "manufacturing"
    construction = "construction"
    tourism = "tourism"
    ict = "ict"
    other = "other"


class Area(StrEnum):
    urban = "urban"
    rural = "rural"


class Gender(StrEnum):
    female = "female"
    male = "male"
