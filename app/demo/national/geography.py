"""Where the generated portfolio lives: the 12 regions weighted by population, their rural
shares, and the centres placed across them."""

import random
from dataclasses import dataclass

from app.core.enums import Region
from app.demo.holders import PROVINCES

REGION_POPULATION: dict[Region, int] = {
    # Thousands of inhabitants, 2024 census (rounded).
    Region.casablanca_settat: 7_689,
    Region.rabat_sale_kenitra: 5_133,
    Region.marrakech_safi: 4_893,
    Region.fes_meknes: 4_467,
    Region.tanger_tetouan_al_hoceima: 4_031,
    Region.souss_massa: 3_021,
    Region.beni_mellal_khenifra: 2_526,
    Region.oriental: 2_295,
    Region.draa_tafilalet: 1_655,
    Region.laayoune_sakia_el_hamra: 451,
    Region.guelmim_oued_noun: 448,
    Region.dakhla_oued_ed_dahab: 220,
}

RURAL_SHARE: dict[Region, float] = {
    # Share of the region's young project holders living in villages (about 40 % overall).
    Region.casablanca_settat: 0.22,
    Region.rabat_sale_kenitra: 0.33,
    Region.marrakech_safi: 0.55,
    Region.fes_meknes: 0.40,
    Region.tanger_tetouan_al_hoceima: 0.38,
    Region.souss_massa: 0.42,
    Region.beni_mellal_khenifra: 0.50,
    Region.oriental: 0.32,
    Region.draa_tafilalet: 0.63,
    Region.laayoune_sakia_el_hamra: 0.08,
    Region.guelmim_oued_noun: 0.30,
    Region.dakhla_oued_ed_dahab: 0.18,
}

REGION_CODES: dict[Region, str] = {
    Region.casablanca_settat: "CAS",
    Region.rabat_sale_kenitra: "RAB",
    Region.marrakech_safi: "MAR",
    Region.fes_meknes: "FES",
    Region.tanger_tetouan_al_hoceima: "TNG",
    Region.souss_massa: "AGA",
    Region.beni_mellal_khenifra: "BML",
    Region.oriental: "OUJ",
    Region.draa_tafilalet: "ERR",
    Region.laayoune_sakia_el_hamra: "LAA",
    Region.guelmim_oued_noun: "GLM",
    Region.dakhla_oued_ed_dahab: "DAK",
}


@dataclass(frozen=True)
class CentrePlan:
    """A centre to create: `weight` is its share of the holders (all weights sum to 1)."""

    code: str
    name: str
    region: Region
    city: str
    weight: float


def centres_per_region(count: int) -> dict[Region, int]:
    """`count` centres shared among the regions by population (largest remainder), every
    region getting at least one as soon as there are 12."""
    total = sum(REGION_POPULATION.values())
    floor = 1 if count >= len(REGION_POPULATION) else 0
    spare = count - floor * len(REGION_POPULATION)
    quotas = {region: spare * people / total for region, people in REGION_POPULATION.items()}
    shares = {region: floor + int(quota) for region, quota in quotas.items()}
    by_remainder = sorted(quotas, key=lambda region: quotas[region] - int(quotas[region]))
    for region in reversed(by_remainder):
        if sum(shares.values()) >= count:
            break
        shares[region] += 1
    return {region: n for region, n in shares.items() if n}


def plan_centres(rng: random.Random, count: int) -> list[CentrePlan]:
    """The centres, in a stable order. A region's holders are shared among its centres, each
    centre's share varying a little (some centres are busier than others), so that holders
    follow the regions' populations."""
    total = sum(REGION_POPULATION.values())
    plans: list[CentrePlan] = []
    for region, n in centres_per_region(count).items():
        cities = PROVINCES[region]
        sizes = [rng.lognormvariate(0, 0.3) for _ in range(n)]
        region_weight = REGION_POPULATION[region] / total
        for index, size in enumerate(sizes):
            city = cities[index % len(cities)]
            rank = index // len(cities)
            suffix = f" {rank + 1}" if rank else ""
            plans.append(
                CentrePlan(
                    code=f"{REGION_CODES[region]}-{index + 1:02d}",
                    name=f"Centre d'entreprises solidaires de {city}{suffix}",
                    region=region,
                    city=city,
                    weight=region_weight * size / sum(sizes),
                )
            )
    # Without a centre in every region, the weights are those of the regions that have one.
    scale = sum(plan.weight for plan in plans)
    return [CentrePlan(p.code, p.name, p.region, p.city, p.weight / scale) for p in plans]
