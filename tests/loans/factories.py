"""Lenders, loan products and loans for tests.

- `make_lender`, `make_product`: rows with valid defaults;
- `make_world`, `make_application`, `make_active_loan`, `repay`: through the loans service,
  so that schedules, ledgers and summaries are real;
- `make_loan`, `make_transaction`: bare rows, for tests that only read them;
- `make_loan_with_history`: an active loan with a hand-written schedule and payments.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.core.scope import Actor
from app.holders.models import Holder
from app.loans import applications, lifecycle, repayments
from app.loans.models import Allocation, Installment, Lender, Loan, LoanProduct, LoanTransaction
from app.users.models import User
from app.users.service import actor_of
from tests.centres.factories import make_centre
from tests.helpers import unique
from tests.holders.factories import make_holder
from tests.users.factories import make_user

CEILING = Decimal("150000.00")
TODAY = date(2025, 6, 30)
"""The loan API tests' frozen "today" (tests/loans/conftest.py)."""


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
    return outcome.id


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


async def make_loan(
    session: AsyncSession, holder: Holder, product: LoanProduct, **overrides: Any
) -> Loan:
    values: dict[str, Any] = {
        "centre_id": holder.centre_id,
        "holder_id": holder.id,
        "product_id": product.id,
        "lender_id": product.lender_id,
        "principal": Decimal("10000.00"),
        "annual_rate": Decimal("24.00"),
        "term": 12,
        "repayment_frequency": "monthly",
        "interest_method": "declining_balance",
        "amortization": "equal_installments",
        "grace_periods": 0,
        "purpose": "Sewing machines",
        "status": "submitted",
        "applied_on": date(2024, 3, 1),
        "version": 1,
    }
    values.update(overrides)
    loan = Loan(**values)
    session.add(loan)
    await session.flush()
    return loan


async def make_transaction(
    session: AsyncSession, loan: Loan, kind: str, amount: str, effective_on: date, **overrides: Any
) -> LoanTransaction:
    transaction = LoanTransaction(
        loan_id=loan.id,
        kind=kind,
        amount=Decimal(amount),
        effective_on=effective_on,
        **overrides,
    )
    session.add(transaction)
    await session.flush()
    return transaction


@dataclass
class Due:
    """One installment and the repayments allocated to it: (paid_on, principal, interest)."""

    due_on: date
    principal: str
    interest: str
    payments: list[tuple[date, str, str]] = field(default_factory=list)


async def make_loan_with_history(
    session: AsyncSession,
    holder: Holder,
    product: LoanProduct,
    *,
    disbursed_on: date,
    schedule: list[Due],
    **overrides: Any,
) -> Loan:
    principal = sum((Decimal(d.principal) for d in schedule), Decimal("0.00"))
    values: dict[str, Any] = {
        "centre_id": holder.centre_id,
        "holder_id": holder.id,
        "product_id": product.id,
        "lender_id": product.lender_id,
        "principal": principal,
        "annual_rate": product.annual_rate,
        "term": len(schedule),
        "repayment_frequency": "monthly",
        "interest_method": "declining_balance",
        "amortization": "equal_installments",
        "grace_periods": 0,
        "purpose": "Fonds de roulement",
        "status": "active",
        "applied_on": disbursed_on,
        "approved_on": disbursed_on,
        "disbursed_on": disbursed_on,
        "first_due_on": schedule[0].due_on,
        "outstanding_principal": principal,
        "version": 1,
    }
    values.update(overrides)
    loan = Loan(**values)
    session.add(loan)
    await session.flush()
    for seq, due in enumerate(schedule, start=1):
        paid_principal = sum((Decimal(p) for _, p, _ in due.payments), Decimal("0.00"))
        paid_interest = sum((Decimal(i) for _, _, i in due.payments), Decimal("0.00"))
        fully_paid = paid_principal + paid_interest == Decimal(due.principal) + Decimal(
            due.interest
        )
        installment = Installment(
            loan_id=loan.id,
            seq=seq,
            due_on=due.due_on,
            principal_due=Decimal(due.principal),
            interest_due=Decimal(due.interest),
            principal_paid=paid_principal,
            interest_paid=paid_interest,
            paid_off_on=max(d for d, _, _ in due.payments) if fully_paid else None,
        )
        session.add(installment)
        await session.flush()
        for paid_on, part_principal, part_interest in due.payments:
            transaction = LoanTransaction(
                loan_id=loan.id,
                kind="repayment",
                amount=Decimal(part_principal) + Decimal(part_interest),
                effective_on=paid_on,
                principal_portion=Decimal(part_principal),
                interest_portion=Decimal(part_interest),
            )
            session.add(transaction)
            await session.flush()
            session.add(
                Allocation(
                    loan_id=loan.id,
                    transaction_id=transaction.id,
                    installment_id=installment.id,
                    paid_on=paid_on,
                    due_on=installment.due_on,
                    principal=Decimal(part_principal),
                    interest=Decimal(part_interest),
                )
            )
    await session.flush()
    return loan
