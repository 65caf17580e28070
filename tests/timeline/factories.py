"""Rows of the other domains, inserted through the ORM, for timeline tests."""

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.coaching.models import CoachingSession, SessionParticipant
from app.enterprises.models import Enterprise
from app.followups.models import FollowUp
from app.holders.models import Holder
from app.loans.models import Loan, LoanProduct, LoanTransaction
from app.users.models import User


async def make_coaching_session(
    session: AsyncSession,
    adviser: User,
    holders: list[Holder],
    attendance: str = "present",
    **overrides: Any,
) -> CoachingSession:
    assert adviser.centre_id is not None
    values: dict[str, Any] = {
        "centre_id": adviser.centre_id,
        "adviser_id": adviser.id,
        "kind": "advice",
        "format": "individual" if len(holders) == 1 else "group",
        "mode": "in_person",
        "held_on": date(2024, 2, 1),
        "duration_minutes": 60,
        "topic": "Business plan",
        "version": 1,
    }
    values.update(overrides)
    coaching = CoachingSession(**values)
    session.add(coaching)
    await session.flush()
    session.add_all(
        SessionParticipant(session_id=coaching.id, holder_id=h.id, attendance=attendance)
        for h in holders
    )
    await session.flush()
    return coaching


async def make_follow_up(
    session: AsyncSession, enterprise: Enterprise, adviser: User, **overrides: Any
) -> FollowUp:
    values: dict[str, Any] = {
        "enterprise_id": enterprise.id,
        "centre_id": enterprise.centre_id,
        "adviser_id": adviser.id,
        "visited_on": date(2024, 9, 1),
        "mode": "field_visit",
        "enterprise_status": "active",
        "risk_level": "low",
        "needs": [],
        "version": 1,
    }
    values.update(overrides)
    follow_up = FollowUp(**values)
    session.add(follow_up)
    await session.flush()
    return follow_up


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
