"""Loan applications: the schedule calculator and applying for a loan (`POST /api/v1/loans`)."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import RuleViolation
from app.core.money import round_money
from app.core.scope import Actor
from app.enterprises.service import ensure_owned_by
from app.holders.models import Holder
from app.holders.service import ensure_may_borrow
from app.loans.models import Loan, LoanProduct, LoanStatus
from app.loans.products import ensure_within_ceiling
from app.loans.references import ensure_reference_free, flush_with_reference
from app.loans.rules import APPLY_ROLES, ZERO, ensure_not_in_future, record_event
from app.loans.schedule import ScheduledInstallment, ScheduleTerms, generate_schedule


@dataclass(frozen=True)
class LoanApplication:
    """What an application asks for; `grace_periods` defaults to 0, `annual_rate` to the
    product's and `applied_on` to today."""

    holder_id: int
    product_id: int
    principal: Decimal
    term: int
    purpose: str
    enterprise_id: int | None = None
    grace_periods: int | None = None
    annual_rate: Decimal | None = None
    applied_on: date | None = None
    reference: str | None = None
    """The lender's own loan number; unique per lender (409 when taken)."""


def preview_schedule(
    *,
    principal: Decimal,
    annual_rate: Decimal,
    term: int,
    repayment_frequency: str,
    interest_method: str,
    amortization: str,
    grace_periods: int,
    disbursed_on: date,
    first_due_on: date | None,
    legal_ceiling: Decimal,
) -> list[ScheduledInstallment]:
    """The schedule these terms would give (stores nothing). 422 naming the field when
    principal exceeds the legal ceiling, or as `build_schedule`."""
    ensure_within_ceiling("principal", principal, legal_ceiling)
    return build_schedule(
        principal=principal,
        annual_rate=annual_rate,
        term=term,
        frequency=repayment_frequency,
        interest_method=interest_method,
        amortization=amortization,
        grace_periods=grace_periods,
        disbursed_on=disbursed_on,
        first_due_on=first_due_on,
    )


def build_schedule(
    *,
    principal: Decimal,
    annual_rate: Decimal,
    term: int,
    frequency: str,
    interest_method: str,
    amortization: str,
    grace_periods: int,
    disbursed_on: date,
    first_due_on: date | None,
) -> list[ScheduledInstallment]:
    """`generate_schedule` of these terms, with its preconditions as 422s naming the field:
    principal > 0, term >= 1, 0 <= grace_periods < term, first_due_on not before
    disbursed_on."""
    if principal <= 0:
        raise RuleViolation("principal", "must be greater than 0")
    if term < 1:
        raise RuleViolation("term", "must be at least 1")
    if not 0 <= grace_periods < term:
        raise RuleViolation("grace_periods", f"must be at least 0 and below the term ({term})")
    if first_due_on is not None and first_due_on < disbursed_on:
        raise RuleViolation("first_due_on", "must not be before disbursed_on")
    terms = ScheduleTerms(
        principal=principal,
        annual_rate=annual_rate,
        term=term,
        frequency=frequency,  # type: ignore[arg-type]  # ScheduleTerms normalises str values
        interest_method=interest_method,  # type: ignore[arg-type]
        amortization=amortization,  # type: ignore[arg-type]
        grace_periods=grace_periods,
        disbursed_on=disbursed_on,
        first_due_on=first_due_on,
    )
    return generate_schedule(terms)


def ensure_offered(product: LoanProduct | None) -> LoanProduct:
    """The product exists and is still offered (422 naming `product_id` otherwise)."""
    if product is None:
        raise RuleViolation("product_id", "no such loan product")
    if not product.is_active:
        raise RuleViolation("product_id", "this loan product is no longer offered")
    return product


def ensure_fits_product(product: LoanProduct, principal: Decimal, term: int, grace: int) -> None:
    """Principal, term and grace periods fit the product's bounds, and the grace periods are
    below the term (422 naming the field otherwise)."""
    if not product.min_principal <= principal <= product.max_principal:
        raise RuleViolation(
            "principal",
            f"must be between {product.min_principal:.2f} and {product.max_principal:.2f} "
            "for this product",
        )
    if not product.min_term <= term <= product.max_term:
        raise RuleViolation(
            "term", f"must be between {product.min_term} and {product.max_term} for this product"
        )
    if grace > product.max_grace_periods:
        raise RuleViolation(
            "grace_periods", f"must not exceed {product.max_grace_periods} for this product"
        )
    if grace >= term:
        raise RuleViolation("grace_periods", f"must be below the term ({term})")


async def apply_for_loan(
    session: AsyncSession,
    actor: Actor,
    application: LoanApplication,
    *,
    today: date,
    legal_ceiling: Decimal,
) -> Loan:
    """A `submitted` loan (admins and advisers).

    422 naming the field when: the holder is missing, outside the caller's scope, dropped
    or anonymised; the enterprise is missing, outside the scope, in another centre than the
    holder or not owned by the holder; the product is missing or inactive; the principal is
    outside the product's bounds or above the legal ceiling; the term is outside the
    product's bounds; grace_periods (default 0) exceeds the product's maximum or is not
    below the term; applied_on (default today) is in the future. The loan copies lender,
    frequency, interest method and amortization from the product, the rate too unless one
    is given, and its centre from the holder. A `reference` the lender already gave another
    loan is a 409.
    """
    actor.require(*APPLY_ROLES)
    holder = await ensure_may_borrow(session, actor, application.holder_id)
    product = await session.get(LoanProduct, application.product_id)
    loan = await new_application(
        session, actor, application, holder, product, today=today, legal_ceiling=legal_ceiling
    )
    await ensure_reference_free(session, loan.lender_id, application.reference)
    session.add(loan)
    await flush_with_reference(session)
    await record_application(session, actor, loan)
    return loan


async def new_application(
    session: AsyncSession,
    actor: Actor,
    application: LoanApplication,
    holder: Holder,
    product: LoanProduct | None,
    *,
    today: date,
    legal_ceiling: Decimal,
) -> Loan:
    """The application's rules once its holder may borrow (`ensure_may_borrow`): the
    enterprise, the product, the ceiling and the product's bounds, applied_on not in the
    future. Returns the new `submitted` loan, not yet added to the session."""
    principal = round_money(application.principal)
    annual_rate = application.annual_rate
    if annual_rate is not None:
        annual_rate = round_money(annual_rate)
    enterprise_id = application.enterprise_id
    if enterprise_id is not None:
        await ensure_owned_by(session, actor, enterprise_id, holder.id, holder.centre_id)
    product = ensure_offered(product)
    ensure_within_ceiling("principal", principal, legal_ceiling)
    term = application.term
    grace = 0 if application.grace_periods is None else application.grace_periods
    ensure_fits_product(product, principal, term, grace)
    applied = today if application.applied_on is None else application.applied_on
    ensure_not_in_future("applied_on", applied, today)
    return Loan(
        centre_id=holder.centre_id,
        holder_id=holder.id,
        enterprise_id=enterprise_id,
        product_id=product.id,
        lender_id=product.lender_id,
        principal=principal,
        annual_rate=product.annual_rate if annual_rate is None else annual_rate,
        term=term,
        repayment_frequency=product.repayment_frequency,
        interest_method=product.interest_method,
        amortization=product.amortization,
        grace_periods=grace,
        purpose=application.purpose,
        reference=application.reference,
        status=LoanStatus.submitted,
        applied_on=applied,
        outstanding_principal=ZERO,
        paid_principal=ZERO,
        paid_interest=ZERO,
        created_by=actor.id,
        version=1,
    )


async def record_application(session: AsyncSession, actor: Actor, loan: Loan) -> None:
    await record_event(
        session,
        actor,
        loan,
        "apply",
        {
            "holder_id": loan.holder_id,
            "enterprise_id": loan.enterprise_id,
            "product_id": loan.product_id,
            "principal": loan.principal,
            "annual_rate": loan.annual_rate,
            "term": loan.term,
            "grace_periods": loan.grace_periods,
            "applied_on": loan.applied_on,
            "reference": loan.reference,
        },
    )
