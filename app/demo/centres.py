"""Demo data: three enterprise centres."""

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre

CENTRES = [
    ("CAS-01", "Centre d'entreprises solidaires de Casablanca", "casablanca_settat", "Casablanca"),
    ("FES-01", "Centre d'entreprises solidaires de Fès", "fes_meknes", "Fès"),
    ("AGA-01", "Centre d'entreprises solidaires d'Agadir", "souss_massa", "Agadir"),
]


async def seed(session: AsyncSession) -> list[Centre]:
    """The centres of CENTRES, opened on 2018-09-01."""
    centres: list[Centre] = []
    for code, name, region, city in CENTRES:
        centre = Centre(
            code=code,
            name=name,
            kind="enterprise_centre",
            region=region,
            city=city,
            opened_on=date(2018, 9, 1),
            version=1,
        )
        session.add(centre)
        centres.append(centre)
    await session.flush()
    return centres
