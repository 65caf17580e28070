"""Lenders (partner microcredit associations) and their loan products (the `lenders`
operations of the OpenAPI document). Every role reads them; only admins create or change them, and every change
records an audit event."""

from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.concurrency import ensure_if_match
from app.core.errors import Conflict, NotFound, RuleViolation
from app.core.money import round_money
from app.core.pagination import PageParams, paginate
from app.core.patching import apply_changes, patch_values
from app.core.roles import ADMINS
from app.core.scope import Actor
from app.loans.models import Lender, LoanProduct
from app.loans.schemas import LenderCreate, LenderUpdate, ProductCreate, ProductUpdate

R = TypeVar("R", Lender, LoanProduct)

MONEY_FIELDS = ("min_principal", "max_principal", "annual_rate")
BOUND_FIELDS = (
    "min_principal",
    "max_principal",
    "min_term",
    "max_term",
    "max_grace_periods",
    "annual_rate",
)
"""The fields `ensure_product_bounds` reads."""


def _in_cents(values: dict[str, Any]) -> dict[str, Any]:
    """Amounts and the rate with exactly two decimals, so that `24` is stored and audited as
    `24.00`."""
    return {
        name: round_money(value) if name in MONEY_FIELDS and value is not None else value
        for name, value in values.items()
    }


async def _insert(
    session: AsyncSession, actor: Actor, record: R, entity: str, values: dict[str, Any]
) -> R:
    """Add `record` (built from `values`) and audit its creation."""
    session.add(record)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="create",
        entity=entity,
        entity_id=record.id,
        changes=audit.snapshot(values),
    )
    return record


async def _update(
    session: AsyncSession, actor: Actor, record: R, entity: str, values: dict[str, Any]
) -> R:
    """Apply `values` to `record` and audit what changed (nothing is written when nothing
    changes, so the version stays)."""
    changes = apply_changes(record, values)
    await audit.record_update(
        session,
        actor_id=actor.id,
        entity=entity,
        entity_id=record.id,
        changes=changes,
    )
    return record


# --- lenders -------------------------------------------------------------------------------


async def list_lenders(
    session: AsyncSession, page: PageParams, order_by: list[Any]
) -> tuple[list[Lender], int]:
    """Every lender; all authenticated roles read them."""
    return await paginate(session, select(Lender), page, order_by)


async def get_lender(session: AsyncSession, lender_id: int) -> Lender:
    lender = await session.get(Lender, lender_id)
    if lender is None:
        raise NotFound("Lender not found.")
    return lender


async def _ensure_lender_code_free(
    session: AsyncSession, code: str, exclude_id: int | None = None
) -> None:
    stmt = select(Lender.id).where(Lender.code == code)
    if exclude_id is not None:
        stmt = stmt.where(Lender.id != exclude_id)
    if (await session.execute(stmt)).first() is not None:
        raise Conflict(
            f"A lender with code {code!r} already exists.", errors=[("code", "already used")]
        )


async def create_lender(session: AsyncSession, actor: Actor, lender: LenderCreate) -> Lender:
    """Admin only; `code` is unique (409)."""
    actor.require(*ADMINS)
    values = lender.model_dump()
    await _ensure_lender_code_free(session, values["code"])
    return await _insert(session, actor, Lender(**values, version=1), "lender", values)


async def update_lender(
    session: AsyncSession,
    actor: Actor,
    lender_id: int,
    patch: LenderUpdate,
    if_match: str | None,
) -> Lender:
    """Admin only; honours If-Match (412); `code` stays unique (409). Only the fields the
    request names change."""
    values = patch_values(patch)
    lender = await get_lender(session, lender_id)
    actor.require(*ADMINS)
    ensure_if_match(if_match, lender.version)
    if "code" in values:
        await _ensure_lender_code_free(session, values["code"], exclude_id=lender.id)
    return await _update(session, actor, lender, "lender", values)


# --- loan products -------------------------------------------------------------------------


async def list_products(
    session: AsyncSession,
    page: PageParams,
    order_by: list[Any],
    *,
    lender_id: int | None = None,
    is_active: bool | None = None,
    repayment_frequency: str | None = None,
) -> tuple[list[LoanProduct], int]:
    stmt = select(LoanProduct)
    if lender_id is not None:
        stmt = stmt.where(LoanProduct.lender_id == lender_id)
    if is_active is not None:
        stmt = stmt.where(LoanProduct.is_active.is_(is_active))
    if repayment_frequency is not None:
        stmt = stmt.where(LoanProduct.repayment_frequency == repayment_frequency)
    return await paginate(session, stmt, page, order_by)


async def get_product(session: AsyncSession, product_id: int) -> LoanProduct:
    product = await session.get(LoanProduct, product_id)
    if product is None:
        raise NotFound("Loan product not found.")
    return product


def ensure_within_ceiling(field: str, amount: Decimal, legal_ceiling: Decimal) -> None:
    """No product and no loan may lend more than the legal ceiling (`MAX_LOAN_PRINCIPAL`,
    150000.00 MAD by default): 422 naming `field` otherwise."""
    if amount > legal_ceiling:
        raise RuleViolation(field, f"must not exceed the legal ceiling of {legal_ceiling:.2f} MAD")


def ensure_product_bounds(values: dict[str, Any], legal_ceiling: Decimal) -> None:
    """0 < min_principal <= max_principal <= legal_ceiling; 1 <= min_term <= max_term;
    0 <= max_grace_periods < max_term; 0 <= annual_rate <= 100 (422 naming the field)."""
    if values["min_principal"] <= 0:
        raise RuleViolation("min_principal", "must be greater than 0")
    ensure_within_ceiling("max_principal", values["max_principal"], legal_ceiling)
    if values["min_principal"] > values["max_principal"]:
        raise RuleViolation("min_principal", "must not exceed max_principal")
    if values["min_term"] < 1:
        raise RuleViolation("min_term", "must be at least 1")
    if values["min_term"] > values["max_term"]:
        raise RuleViolation("min_term", "must not exceed max_term")
    if not 0 <= values["max_grace_periods"] < values["max_term"]:
        raise RuleViolation("max_grace_periods", "must be at least 0 and below max_term")
    if not 0 <= values["annual_rate"] <= 100:
        raise RuleViolation("annual_rate", "must be between 0 and 100")


async def _ensure_lender_exists(session: AsyncSession, lender_id: int) -> None:
    if await session.get(Lender, lender_id) is None:
        raise RuleViolation("lender_id", "no such lender")


async def create_product(
    session: AsyncSession, actor: Actor, product: ProductCreate, legal_ceiling: Decimal
) -> LoanProduct:
    """Admin only; the lender must exist (422 lender_id); bounds as `ensure_product_bounds`."""
    actor.require(*ADMINS)
    values = _in_cents(product.model_dump())
    ensure_product_bounds(values, legal_ceiling)
    await _ensure_lender_exists(session, values["lender_id"])
    return await _insert(session, actor, LoanProduct(**values, version=1), "loan_product", values)


async def update_product(
    session: AsyncSession,
    actor: Actor,
    product_id: int,
    patch: ProductUpdate,
    if_match: str | None,
    legal_ceiling: Decimal,
) -> LoanProduct:
    """Admin only; honours If-Match (412); the bounds are checked on the product as it would
    become. Loans already applied for keep the terms they copied. Only the fields the
    request names change."""
    product = await get_product(session, product_id)
    actor.require(*ADMINS)
    ensure_if_match(if_match, product.version)
    values = _in_cents(patch_values(patch))
    ensure_product_bounds(
        {name: values.get(name, getattr(product, name)) for name in BOUND_FIELDS}, legal_ceiling
    )
    if "lender_id" in values:
        await _ensure_lender_exists(session, values["lender_id"])
    return await _update(session, actor, product, "loan_product", values)
