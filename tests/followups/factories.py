"""Follow-ups and loans with a hand-written history, written straight to the database."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.enterprises.models import Enterprise
from app.followups.models import FollowUp
from app.holders.models import Holder
from app.loans.models import Allocation, Installment, Loan, LoanProduct, LoanTransaction
from app.users.models import User


async def make_follow_up(
    session: AsyncSession,
    enterprise: Enterprise,
    adviser: User,
    *,
    visited_on: date,
    **overrides: Any,
) -> FollowUp:
    values: dict[str, Any] = {
        "enterprise_id": enterprise.id,
        "centre_id": enterprise.centre_id,
        "adviser_id": adviser.id,
        "visited_on": visited_on,
        "mode": "field_visit",
        "enterprise_status": "active",
        "needs": [],
        "version": 1,
    }
    values.update(overrides)
    record = FollowUp(**values)
    session.add(record)
    await session.flush()
    return record


@dataclass
class Due:
    """One installment and the repayments allocated to it: (paid_on, principal, interest)."""

    due_on: date
    principal: str
    interest: str
    payments: list[tuple[date, str, str]] = field(default_factory=list)


async def make_loan(
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
