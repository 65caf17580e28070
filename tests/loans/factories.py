"""Loans made through the service, so that schedules, ledgers and summaries are real."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.core.scope import Actor
from app.holders.models import Holder
from app.loans import applications, lifecycle, repayments
from app.loans.models import Lender, Loan, LoanProduct
from app.users.models import User
from app.users.service import actor_of
from tests.factories import make_centre, make_holder, make_lender, make_product, make_user

CEILING = Decimal("150000.00")


@dataclass
class LoanWorld:
    """A centre with one user per role, a holder, a lender and a product."""

    centre: Centre
    admin: User
    manager: User
    adviser: User
    viewer: User
    holder: Holder
    lender: Lender
    product: LoanProduct

    @property
    def admin_actor(self) -> Actor:
        return actor_of(self.admin)


async def make_world(session: AsyncSession, **product_overrides: Any) -> LoanWorld:
    centre = await make_centre(session)
    lender = await make_lender(session)
    return LoanWorld(
        centre=centre,
        admin=await make_user(session, "admin"),
        manager=await make_user(session, "manager", centre),
        adviser=await make_user(session, "adviser", centre),
        viewer=await make_user(session, "viewer", centre),
        holder=await make_holder(session, centre),
        lender=lender,
        product=await make_product(session, lender, **product_overrides),
    )


async def make_application(
    session: AsyncSession,
    actor: Actor,
    holder: Holder,
    product: LoanProduct,
    *,
    principal: str = "10000.00",
    term: int = 12,
    today: date = date(2026, 1, 1),
    applied_on: date = date(2025, 1, 6),
    **overrides: Any,
) -> Loan:
    values: dict[str, Any] = {
        "holder_id": holder.id,
        "product_id": product.id,
        "principal": Decimal(principal),
        "term": term,
        "purpose": "Matériel de couture",
        "applied_on": applied_on,
    }
    values.update(overrides)
    return await applications.apply_for_loan(
        session,
        actor,
        applications.LoanApplication(**values),
        today=today,
        legal_ceiling=CEILING,
    )


async def make_active_loan(
    session: AsyncSession,
    actor: Actor,
    holder: Holder,
    product: LoanProduct,
    *,
    principal: str = "10000.00",
    term: int = 12,
    disbursed_on: date = date(2025, 1, 15),
    first_due_on: date | None = None,
    today: date = date(2026, 6, 1),
    **overrides: Any,
) -> Loan:
    """Applied and approved on `disbursed_on` (unless `applied_on` is given), then disbursed."""
    overrides.setdefault("applied_on", disbursed_on)
    loan = await make_application(
        session, actor, holder, product, principal=principal, term=term, today=today, **overrides
    )
    await lifecycle.approve_loan(session, actor, loan.id, approved_on=disbursed_on, today=today)
    return await lifecycle.disburse_loan(
        session,
        actor,
        loan.id,
        disbursed_on=disbursed_on,
        first_due_on=first_due_on,
        today=today,
    )


async def repay(
    session: AsyncSession,
    actor: Actor,
    loan: Loan,
    amount: str,
    paid_on: date,
    *,
    today: date = date(2026, 6, 1),
    reference: str | None = None,
) -> int:
    """Record a repayment through the service; returns the transaction id."""
    outcome = await repayments.record_repayment(
        session,
        actor,
        loan.id,
        repayments.NewRepayment(amount=Decimal(amount), paid_on=paid_on, reference=reference),
        today=today,
    )
    assert outcome.transaction is not None
    return outcome.transaction.id
