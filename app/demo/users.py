"""Demo data: one account per role, and advisers in every centre."""

import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.core.scope import Role
from app.users import service as users

ADVISERS = [
    ("Salma Bennani", "سلمى بناني"),
    ("Youssef El Idrissi", "يوسف الإدريسي"),
    ("Khadija Ouazzani", "خديجة الوزاني"),
    ("Hamza Tazi", "حمزة التازي"),
    ("Meryem Chraibi", "مريم الشرايبي"),
    ("Omar Benjelloun", "عمر بنجلون"),
]

Credential = tuple[str, str, str]
"""(email, password, role) of a demo account that people log in with."""


async def seed(session: AsyncSession, centres: list[Centre], scale: int) -> list[Credential]:
    """An admin, two managers (one national, one for the first centre), an adviser and a
    viewer, each with a random password (returned), and `scale` advisers per centre in all."""
    credentials: list[Credential] = []

    async def account(email: str, role: Role, centre_id: int | None, full_name: str) -> None:
        password = secrets.token_urlsafe(9)
        await users.create_user(
            session,
            None,
            email=email,
            full_name=full_name,
            password=password,
            role=role,
            centre_id=centre_id,
        )
        credentials.append((email, password, role.value))

    await account("admin@demo.ma", Role.admin, None, "Administrateur")
    await account("manager@demo.ma", Role.manager, None, "Nadia Berrada")
    await account("manager.cas@demo.ma", Role.manager, centres[0].id, "Rachid Alami")
    await account("adviser@demo.ma", Role.adviser, centres[0].id, ADVISERS[0][0])
    await account("viewer@demo.ma", Role.viewer, None, "Observatoire régional")
    advisers_per_centre = max(1, scale)
    names = iter(ADVISERS[1:] * (advisers_per_centre * len(centres)))
    for index, centre in enumerate(centres):
        for n in range(advisers_per_centre if index else advisers_per_centre - 1):
            await users.create_user(
                session,
                None,
                email=f"adviser{index + 1}{n + 1}@demo.ma",
                full_name=next(names)[0],
                password=secrets.token_urlsafe(9),
                role=Role.adviser,
                centre_id=centre.id,
            )
    return credentials
