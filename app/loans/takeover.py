"""Existing loans brought in with their state (README "Imports", kind `loans`): each is
applied for, then approved and disbursed when it was, under exactly the rules of
`apply_for_loan`, `approve_loan` and `disburse_loan` (the same rule steps), and many are
written at once: one multi-row INSERT of the loans, one of their installments and one of
their disbursements, instead of some twenty statements per loan."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import DomainError
from app.core.scope import Actor, Role
from app.holders.service import ensure_borrower, holders_in_scope
from app.loans import ledger, lifecycle
from app.loans.applications import LoanApplication, new_application, record_application
from app.loans.models import Installment, Loan, LoanProduct
from app.loans.month_ends import refresh_month_ends
from app.loans.references import duplicate_reference, flush_with_reference, taken_references
from app.loans.rules import record_event

TAKE_OVER_ROLES = (Role.admin, Role.manager)
"""Bringing in a centre's existing loans is a manager's or an admin's work (README "Imports")."""


@dataclass(frozen=True)
class TakenOverLoan:
    application: LoanApplication
    approved_on: date | None = None
    """When it was approved; a disbursed loan without one was approved when disbursed."""
    disbursed_on: date | None = None
    first_due_on: date | None = None


async def take_over_loans(
    session: AsyncSession,
    actor: Actor,
    loans: Sequence[TakenOverLoan],
    *,
    today: date,
    legal_ceiling: Decimal,
) -> list[Loan | DomainError]:
    """Create each loan in its state (`submitted`, `approved` or `active` with its stored
    schedule), or give the error the endpoints would have answered; a reference already
    used by the lender (or by an earlier loan of `loans`) is the 409 of `apply_for_loan`.
    The audit events are those of the three endpoints."""
    actor.require(*TAKE_OVER_ROLES)
    holders = await holders_in_scope(session, actor, [t.application.holder_id for t in loans])
    products: dict[int, LoanProduct | None] = {}
    for product_id in {t.application.product_id for t in loans}:
        products[product_id] = await session.get(LoanProduct, product_id)
    wanted = {
        (product.lender_id, t.application.reference)
        for t in loans
        if t.application.reference is not None
        and (product := products[t.application.product_id]) is not None
    }
    taken = await taken_references(session, wanted)
    outcomes: list[Loan | DomainError] = []
    schedules: list[tuple[Loan, list[ledger.InstallmentState]]] = []
    for item in loans:
        try:
            holder = ensure_borrower(holders.get(item.application.holder_id))
            loan = await new_application(
                session,
                actor,
                item.application,
                holder,
                products[item.application.product_id],
                today=today,
                legal_ceiling=legal_ceiling,
            )
            if loan.reference is not None:
                if (loan.lender_id, loan.reference) in taken:
                    raise duplicate_reference()
                taken.add((loan.lender_id, loan.reference))
            approved_on = item.approved_on or item.disbursed_on
            if approved_on is not None:
                lifecycle.approve(loan, today=today, approved_on=approved_on)
            if item.disbursed_on is not None:
                unpaid = lifecycle.disburse(
                    loan,
                    today=today,
                    disbursed_on=item.disbursed_on,
                    first_due_on=item.first_due_on,
                )
                schedules.append((loan, unpaid))
        except DomainError as exc:
            outcomes.append(exc)
            continue
        outcomes.append(loan)
    created = [loan for loan in outcomes if isinstance(loan, Loan)]
    session.add_all(created)
    await flush_with_reference(session)
    rows = [
        row for loan, unpaid in schedules for row in lifecycle.installment_rows(loan.id, unpaid)
    ]
    if rows:
        # On the connection: a plain multi-row INSERT, without the ORM's per-row bookkeeping
        # of a bulk insert (a batch carries some 9,000 installments).
        connection = await session.connection()
        await connection.execute(insert(Installment), rows)
    session.add_all(lifecycle.disbursement_entry(loan, actor) for loan, _ in schedules)
    await session.flush()
    disbursed = [loan for loan, _ in schedules]
    if disbursed:
        earliest = min(loan.disbursed_on for loan in disbursed if loan.disbursed_on is not None)
        await refresh_month_ends(session, disbursed, since=earliest, today=today)
    for loan in created:
        await record_application(session, actor, loan)
        if loan.approved_on is not None:
            await record_event(session, actor, loan, "approve", {"approved_on": loan.approved_on})
        if loan.disbursed_on is not None:
            await lifecycle.record_disbursement(session, actor, loan)
    return outcomes
