"""Hand-made portfolio records: a loan with its schedule, repayments, reversals and write-off,
written by the portfolio generator's writer exactly as the loans service stores them (see
tests/reports/generator.py); a user of a given centre. The model factories themselves are
in each domain's tests (`tests/<domain>/factories.py`)."""

import random
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
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
from tests.users.factories import make_user


async def insert_planned_loan(
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


async def centre_user(session: AsyncSession, role: str, centre_id: int) -> User:
    centre = await session.get(Centre, centre_id)
    assert centre is not None
    user = await make_user(session, role, centre)
    await session.commit()
    return user
