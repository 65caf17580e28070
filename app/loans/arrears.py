"""Arrears folded into the loan row (docs/ARITHMETIC.md, "Arrears folded into the loan").

Each loan keeps `overdue_amount`: what its installments due before `overdue_through` still
owe. Every ledger write keeps it exact (`ledger_store.summary_of`, from the installments'
new states); folding moves `overdue_through` forward and adds what the installments due
in between still owe. Today's arrears are then `overdue_amount` plus the installments due
from `overdue_through` to yesterday (app/loans/positions.py, `current_loan_positions`),
a month of due dates at most when the fold runs monthly, instead of every unpaid
installment of every loan in arrears.

Folding and writing at the same time: a batch first locks its loans' rows (`FOR UPDATE`,
the lock every ledger write takes before it reads the loan), then computes the amounts in
a second statement. On PostgreSQL's READ COMMITTED, that statement's snapshot is taken
after the locks are held, so it sees every write that committed before, and no write to
those loans can commit until the batch does. SQLite runs one writer at a time.
"""

from collections.abc import Callable, Sequence
from datetime import date

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import RuleViolation
from app.loans.models import Installment, Loan, LoanStatus
from app.loans.positions import still_owed_on_installment

__all__ = ["FOLD_BATCH", "fold_arrears", "fold_date", "fold_loans"]

FOLD_BATCH = 5000
"""Loans per fold transaction: their row locks are held for one batch only."""


def fold_date(today: date) -> date:
    """Where the monthly fold moves `overdue_through`: the first day of today's month."""
    return today.replace(day=1)


async def fold_loans(session: AsyncSession, loan_ids: Sequence[int], through: date) -> None:
    """Set `overdue_through` to `through` on these loans, and `overdue_amount` to what
    their installments due before `through` still owe (recomputed from the installments,
    so a fold also repairs an amount gone wrong). Locks the loans' rows first; the caller
    commits. The loans' `version` and `updated_at` do not change: no figure a user sees
    does."""
    if not loan_ids:
        return
    await session.execute(
        select(Loan.id).where(Loan.id.in_(loan_ids)).order_by(Loan.id).with_for_update()
    )
    still_owed = (
        select(func.coalesce(func.sum(still_owed_on_installment()), 0))
        .where(
            Installment.loan_id == Loan.id,
            Installment.paid_off_on.is_(None),
            Installment.due_on < through,
        )
        .scalar_subquery()
    )
    await session.execute(
        update(Loan)
        .where(Loan.id.in_(loan_ids))
        # Rounded to the centime: a no-op on PostgreSQL's NUMERIC; on SQLite, whose sums
        # are binary floats, the stored value is the exact centime amount.
        .values(
            overdue_through=through,
            overdue_amount=func.round(still_owed, 2),
            updated_at=Loan.updated_at,
        )
        .execution_options(synchronize_session=False)
    )


async def fold_arrears(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    through: date,
    today: date,
    on_batch: Callable[[int], None] = lambda _: None,
) -> int:
    """Fold every active loan not yet folded through `through`, `FOLD_BATCH` loans per
    transaction, in id order; returns how many were folded. `on_batch(loans)` after each
    batch. 422 (field `through`) when `through` is after `today`: a fold date must never
    be after the dates the portfolio as of today is asked for."""
    if through > today:
        raise RuleViolation("through", "must not be after today")
    folded = 0
    after = 0
    while True:
        async with sessionmaker() as session, session.begin():
            loan_ids = list(
                (
                    await session.scalars(
                        select(Loan.id)
                        .where(
                            Loan.status == LoanStatus.active,
                            or_(Loan.overdue_through.is_(None), Loan.overdue_through < through),
                            Loan.id > after,
                        )
                        .order_by(Loan.id)
                        .limit(FOLD_BATCH)
                    )
                ).all()
            )
            if not loan_ids:
                return folded
            await fold_loans(session, loan_ids, through)
        folded += len(loan_ids)
        after = loan_ids[-1]
        on_batch(len(loan_ids))
