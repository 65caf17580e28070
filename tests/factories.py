"""Plain functions that create test records: `make_x(session, **overrides)`."""

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.core.config import Settings
from app.core.security import create_access_token, hash_password_sync
from app.enterprises.models import Enterprise, EnterpriseOwner
from app.holders.models import Holder
from app.loans.models import Lender, LoanProduct
from app.users.models import User

PASSWORD = "correct-horse-battery"
_PASSWORD_HASH = hash_password_sync(PASSWORD)
_counter = itertools.count(1)


def unique() -> int:
    return next(_counter)


async def make_centre(session: AsyncSession, **overrides: Any) -> Centre:
    n = unique()
    values: dict[str, Any] = {
        "code": f"C{n:04d}",
        "name": f"Centre {n}",
        "kind": "enterprise_centre",
        "region": "casablanca_settat",
        "city": "Casablanca",
        "opened_on": date(2020, 1, 1),
        "version": 1,
    }
    values.update(overrides)
    centre = Centre(**values)
    session.add(centre)
    await session.flush()
    return centre


async def make_user(
    session: AsyncSession, role: str = "adviser", centre: Centre | None = None, **overrides: Any
) -> User:
    n = unique()
    values: dict[str, Any] = {
        "email": f"user{n}@centre.ma",
        "full_name": f"User {n}",
        "password_hash": _PASSWORD_HASH,
        "role": role,
        "centre_id": centre.id if centre else None,
        "is_active": True,
        "version": 1,
    }
    values.update(overrides)
    user = User(**values)
    session.add(user)
    await session.flush()
    return user


def auth(user: User, settings: Settings) -> dict[str, str]:
    token, _ = create_access_token(
        user.id, settings.signing_key, settings.access_token_minutes, user.password_generation
    )
    return {"Authorization": f"Bearer {token}"}


async def make_holder(session: AsyncSession, centre: Centre, **overrides: Any) -> Holder:
    n = unique()
    values: dict[str, Any] = {
        "centre_id": centre.id,
        "first_name": "Fatima Zahra",
        "last_name": f"Alaoui{n}",
        "search_text": f"fatima zahra alaoui{n}",
        "national_id": f"BE{n:06d}"[-8:],
        "birth_date": date(2000, 5, 17),
        "gender": "female",
        "area": "urban",
        "region": centre.region,
        "status": "in_support",
        "enrolled_on": date(2024, 1, 15),
        "household_vulnerable": True,
        "version": 1,
    }
    values.update(overrides)
    holder = Holder(**values)
    session.add(holder)
    await session.flush()
    return holder


async def make_enterprise(
    session: AsyncSession, centre: Centre, owners: list[Holder], **overrides: Any
) -> Enterprise:
    n = unique()
    values: dict[str, Any] = {
        "centre_id": centre.id,
        "name": f"Atelier {n}",
        "search_text": f"atelier {n}",
        "legal_form": "auto_entrepreneur",
        "sector": "handicrafts",
        "area": "urban",
        "region": centre.region,
        "created_on": date(2024, 6, 1),
        "status": "active",
        "jobs_at_creation": 1,
        "version": 1,
    }
    values.update(overrides)
    enterprise = Enterprise(**values)
    session.add(enterprise)
    await session.flush()
    for owner in owners:
        session.add(EnterpriseOwner(enterprise_id=enterprise.id, holder_id=owner.id))
    await session.flush()
    return enterprise


async def make_lender(session: AsyncSession, **overrides: Any) -> Lender:
    n = unique()
    values: dict[str, Any] = {
        "code": f"AMC{n}",
        "name": f"Association de microcrédit {n}",
        "version": 1,
    }
    values.update(overrides)
    lender = Lender(**values)
    session.add(lender)
    await session.flush()
    return lender


async def make_product(session: AsyncSession, lender: Lender, **overrides: Any) -> LoanProduct:
    values: dict[str, Any] = {
        "lender_id": lender.id,
        "name": "Crédit TPE mensuel",
        "interest_method": "declining_balance",
        "amortization": "equal_installments",
        "annual_rate": Decimal("24.00"),
        "repayment_frequency": "monthly",
        "min_principal": Decimal("1000.00"),
        "max_principal": Decimal("50000.00"),
        "min_term": 3,
        "max_term": 36,
        "max_grace_periods": 3,
        "is_active": True,
        "version": 1,
    }
    values.update(overrides)
    product = LoanProduct(**values)
    session.add(product)
    await session.flush()
    return product
