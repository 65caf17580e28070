"""Hand-made records: a loan with its schedule, repayments, reversals and write-off, stored
exactly as the loans service stores them (see tests/reports/generator.py); a coaching
session with its participants' attendance."""

import random
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.coaching.models import CoachingSession, SessionParticipant
from app.holders.models import Holder
from app.loans.models import Loan, LoanProduct
from app.loans.schedule import (
    Amortization,
    Frequency,
    InterestMethod,
    ScheduleTerms,
    generate_schedule,
)
from app.users.models import User
from tests.reports.generator import PlannedLoan, PlannedPayment, insert_loans


async def make_loan(
    session: AsyncSession,
    holder: Holder,
    product: LoanProduct,
    *,
    disbursed_on: date,
    principal: str = "1200.00",
    term: int = 12,
    first_due_on: date | None = None,
    payments: Sequence[tuple[date, str]] = (),
    reversed_payments: Sequence[tuple[date, str, date]] = (),
    written_off_on: date | None = None,
) -> Loan:
    """`payments` are (paid_on, amount); `reversed_payments` (paid_on, amount, reversed_on)."""
    terms = ScheduleTerms(
        principal=Decimal(principal),
        annual_rate=product.annual_rate,
        term=term,
        frequency=Frequency(product.repayment_frequency),
        interest_method=InterestMethod(product.interest_method),
        amortization=Amortization(product.amortization),
        grace_periods=0,
        disbursed_on=disbursed_on,
        first_due_on=first_due_on,
    )
    row: dict[str, Any] = {
        "centre_id": holder.centre_id,
        "holder_id": holder.id,
        "enterprise_id": None,
        "product_id": product.id,
        "lender_id": product.lender_id,
        "principal": Decimal(principal),
        "annual_rate": product.annual_rate,
        "term": term,
        "repayment_frequency": product.repayment_frequency,
        "interest_method": product.interest_method,
        "amortization": product.amortization,
        "grace_periods": 0,
        "purpose": "Fonds de roulement",
        "applied_on": disbursed_on,
        "approved_on": disbursed_on,
        "disbursed_on": disbursed_on,
        "first_due_on": generate_schedule(terms)[0].due_on,
        "version": 1,
    }
    planned = [PlannedPayment(paid_on, Decimal(amount)) for paid_on, amount in payments]
    planned += [
        PlannedPayment(paid_on, Decimal(amount), reversed_on)
        for paid_on, amount, reversed_on in reversed_payments
    ]
    (loan_id,) = await insert_loans(
        session,
        random.Random(0),
        [PlannedLoan(row=row, schedule_terms=terms, payments=planned, write_off_on=written_off_on)],
    )
    loan = await session.get(Loan, loan_id)
    assert loan is not None
    await session.refresh(loan)
    return loan


async def make_coaching_session(
    session: AsyncSession,
    adviser: User,
    *,
    held_on: date,
    attendance: Mapping[Holder, str],
    minutes: int = 60,
    kind: str = "advice",
) -> CoachingSession:
    """A session of the adviser's centre with each holder `present` or `absent`."""
    assert adviser.centre_id is not None
    record = CoachingSession(
        centre_id=adviser.centre_id,
        adviser_id=adviser.id,
        kind=kind,
        format="group" if len(attendance) > 1 else "individual",
        mode="in_person",
        held_on=held_on,
        duration_minutes=minutes,
        topic="Plan d'affaires",
        version=1,
    )
    session.add(record)
    await session.flush()
    session.add_all(
        SessionParticipant(session_id=record.id, holder_id=holder.id, attendance=mark)
        for holder, mark in attendance.items()
    )
    await session.flush()
    return record
