"""`record_repayments_of_loans` (a statement's batch) outside an import: each loan all or
nothing with the error `record_repayments` gives, and the audit events of one-by-one
repayments when nothing folds them."""

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import AuditEvent
from app.core.errors import Conflict, RuleViolation
from app.loans import repayments, rules
from app.loans.ledger_store import installments_of
from app.loans.models import LoanTransaction
from tests.holders.factories import make_holder
from tests.loans.factories import TODAY, LoanWorld, make_active_loan

NEW = repayments.NewRepayment


async def repayments_owed(session: AsyncSession, loan_id: int) -> Decimal:
    """What the loan owes: its installments' dues less what is paid on them."""
    rows = await installments_of(session, loan_id)
    return sum(
        (r.principal_due + r.interest_due - r.principal_paid - r.interest_paid for r in rows),
        Decimal("0.00"),
    )


async def test_each_loan_is_recorded_or_refused_whole_and_audited(
    session: AsyncSession, world: LoanWorld
) -> None:
    actor = world.admin_actor
    loans = [
        await make_active_loan(
            session,
            actor,
            await make_holder(session, world.centre),
            world.product,
            principal="1200.00",
            term=3,
            disbursed_on=date(2025, 1, 15),
            today=TODAY,
        )
        for _ in range(3)
    ]
    owed = [await repayments_owed(session, loan.id) for loan in loans]
    locked = await rules.lock_loans(session, actor, [loan.id for loan in loans], rules.REPAY_ROLES)
    outcomes = await repayments.record_repayments_of_loans(
        session,
        actor,
        [
            (locked[loans[0].id], [NEW(Decimal("100.004"), date(2025, 2, 10), "A")]),
            (locked[loans[1].id], [NEW(owed[1], date(2025, 2, 11), "B")]),
            (
                locked[loans[2].id],
                [NEW(Decimal("50"), date(2025, 2, 12), "C1"), NEW(owed[2], date(2025, 3, 1))],
            ),
        ],
        today=TODAY,
    )
    assert outcomes[:2] == [1, 1]
    assert isinstance(outcomes[2], RuleViolation)
    assert [error.field for error in outcomes[2].errors or []] == ["amount"]

    stored = (
        await session.execute(
            select(LoanTransaction.loan_id, LoanTransaction.amount, LoanTransaction.reference)
            .where(LoanTransaction.kind == "repayment")
            .order_by(LoanTransaction.id)
        )
    ).all()
    assert [tuple(row) for row in stored] == [
        (loans[0].id, Decimal("100.00"), "A"),
        (loans[1].id, owed[1], "B"),
    ]
    assert locked[loans[1].id].status == "repaid"
    assert locked[loans[1].id].outstanding_principal == Decimal("0.00")
    events = (
        await session.execute(
            select(AuditEvent.entity_id, AuditEvent.changes)
            .where(AuditEvent.action == "repayment")
            .order_by(AuditEvent.id)
        )
    ).all()
    assert [(entity_id, changes["status"]) for entity_id, changes in events] == [
        (loans[0].id, "active"),
        (loans[1].id, "repaid"),
    ]
    assert events[1][1]["outstanding_principal"] == {"from": "1200.00", "to": "0.00"}

    again = await repayments.record_repayments_of_loans(
        session, actor, [(locked[loans[1].id], [NEW(Decimal("1"), date(2025, 3, 1))])], today=TODAY
    )
    assert isinstance(again[0], Conflict)
