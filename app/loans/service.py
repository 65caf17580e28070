"""The loan operations under the names the demo seeding (`app.loans.demo`) calls them by.

Loans are split by job: `applications`, `lifecycle`, `repayments`, `reads`, `filters`, and
`ledger_store` beside the pure `schedule` and `ledger`. This module only forwards to them and
goes away once the demo seeding calls those modules directly.
"""

from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.scope import Actor
from app.loans.applications import LoanApplication
from app.loans.applications import apply_for_loan as apply_application
from app.loans.lifecycle import approve_loan, disburse_loan, reject_loan, write_off_loan
from app.loans.models import Loan
from app.loans.repayments import NewRepayment, record_repayments, reverse_transaction

__all__ = [
    "NewRepayment",
    "apply_for_loan",
    "approve_loan",
    "disburse_loan",
    "record_repayments",
    "reject_loan",
    "reverse_transaction",
    "write_off_loan",
]


async def apply_for_loan(
    session: AsyncSession,
    actor: Actor,
    *,
    holder_id: int,
    product_id: int,
    principal: Decimal,
    term: int,
    purpose: str,
    today: date,
    legal_ceiling: Decimal,
    enterprise_id: int | None = None,
    grace_periods: int | None = None,
    annual_rate: Decimal | None = None,
    applied_on: date | None = None,
) -> Loan:
    """`applications.apply_for_loan` with the application given as keywords."""
    application = LoanApplication(
        holder_id=holder_id,
        product_id=product_id,
        principal=principal,
        term=term,
        purpose=purpose,
        enterprise_id=enterprise_id,
        grace_periods=grace_periods,
        annual_rate=annual_rate,
        applied_on=applied_on,
    )
    return await apply_application(
        session, actor, application, today=today, legal_ceiling=legal_ceiling
    )
