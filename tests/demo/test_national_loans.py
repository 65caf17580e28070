"""Generated loans are exactly what the loan service stores for the same history.

Each generated story (application, decision, disbursement, repayments in the order they
were entered, backdated ones included, reversals and write-offs) is also played through the
loan service, one call per event with "today" the day it was entered; every column of the
loan, its installments, transactions and allocations must then equal the generated rows.
"""

import random
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.scope import Actor
from app.demo import loans as demo_loans
from app.demo.national.calendar import at_office_hours
from app.demo.national.load import stored_products
from app.demo.national.loans import (
    PURPOSES,
    IdBlock,
    LoanStory,
    Repayment,
    Reversal,
    choose_product,
    choose_terms,
    loan_rows,
    tell_story,
)
from app.demo.national.tables import COLUMNS, Row
from app.loans import lifecycle, repayments
from app.loans.applications import LoanApplication, apply_for_loan
from app.loans.models import Allocation, Installment, Loan, LoanTransaction
from app.users.service import actor_of
from tests.centres.factories import make_centre
from tests.enterprises.factories import make_enterprise
from tests.holders.factories import make_holder
from tests.users.factories import make_user

TODAY = date(2026, 11, 20)
CEILING = Decimal("150000.00")


async def play_through_service(
    session: AsyncSession, story: LoanStory, adviser: Actor, decider: Actor
) -> int:
    loan = await apply_for_loan(
        session,
        adviser,
        LoanApplication(
            holder_id=story.holder_id,
            enterprise_id=story.enterprise_id,
            product_id=story.product.id,
            principal=story.principal,
            term=story.term,
            grace_periods=story.grace_periods,
            purpose=story.purpose,
            applied_on=story.applied_on,
        ),
        today=story.applied_on,
        legal_ceiling=CEILING,
    )
    if story.decided_at is not None:
        decided_on = story.decided_at.date()
        if story.rejection_reason is not None:
            await lifecycle.reject_loan(
                session, decider, loan.id, reason=story.rejection_reason, today=decided_on
            )
        else:
            await lifecycle.approve_loan(
                session, decider, loan.id, approved_on=decided_on, today=decided_on
            )
    if story.disbursed_on is not None:
        await lifecycle.disburse_loan(
            session, adviser, loan.id, disbursed_on=story.disbursed_on, today=story.disbursed_on
        )
    transaction_of: dict[int, int] = {}
    for event in story.events:
        if isinstance(event, Repayment):
            outcome = await repayments.record_repayment(
                session,
                adviser,
                loan.id,
                repayments.NewRepayment(event.amount, event.paid_on, event.reference),
                today=event.entered_at.date(),
            )
            transaction_of[id(event)] = outcome.id
        elif isinstance(event, Reversal):
            await repayments.reverse_transaction(
                session,
                decider,
                loan.id,
                transaction_of[id(event.target)],
                reason=event.reason,
                today=event.on,
            )
        else:
            await lifecycle.write_off_loan(
                session,
                decider,
                loan.id,
                written_off_on=event.on,
                reason=event.reason,
                today=event.on,
            )
    return loan.id


def relative(rows: list[Row], columns: tuple[str, ...]) -> list[dict[str, object]]:
    return [dict(zip(columns, row, strict=True)) for row in rows]


async def stored(session: AsyncSession, loan_id: int) -> dict[str, list[dict[str, object]]]:
    found: dict[str, list[dict[str, object]]] = {}
    for table, model, key, order in (
        ("loans", Loan, Loan.id, Loan.id),
        ("installments", Installment, Installment.loan_id, Installment.seq),
        ("loan_transactions", LoanTransaction, LoanTransaction.loan_id, LoanTransaction.id),
        ("allocations", Allocation, Allocation.loan_id, Allocation.id),
    ):
        columns = [getattr(model, name) for name in COLUMNS[table]]
        result = await session.execute(select(*columns).where(key == loan_id).order_by(order))
        found[table] = relative([tuple(row) for row in result], COLUMNS[table])
    return found


def comparable(rows: dict[str, list[dict[str, object]]]) -> dict[str, list[dict[str, object]]]:
    """Ids replaced by positions (transactions in id order, installments by seq), and the
    moments of writing dropped (the service stamps the clock)."""
    positions = {row["id"]: n for n, row in enumerate(rows["loan_transactions"])}
    seqs = {row["id"]: row["seq"] for row in rows["installments"]}
    out: dict[str, list[dict[str, object]]] = {}
    for table, table_rows in rows.items():
        cleaned = []
        for row in table_rows:
            row = {k: v for k, v in row.items() if k not in ("id", "loan_id", "created_at")}
            row.pop("updated_at", None)
            if table == "loan_transactions" and row["reverses_id"] is not None:
                row["reverses_id"] = positions[row["reverses_id"]]
            if table == "allocations":
                row["transaction_id"] = positions[row["transaction_id"]]
                row["installment_id"] = seqs[row["installment_id"]]
            if table == "loans":
                row.pop("holder_id")
                row.pop("centre_id")
            cleaned.append(row)
        out[table] = cleaned
    return out


async def test_generated_loans_equal_the_rows_the_service_stores(session: AsyncSession) -> None:
    centre = await make_centre(session)
    admin = await make_user(session, "admin")
    manager = await make_user(session, "manager", centre)
    adviser = await make_user(session, "adviser", centre)
    await demo_loans.seed_products(session, actor_of(admin))
    products = await stored_products(session)
    rng = random.Random(11)
    kinds: Counter[str] = Counter()
    for n in range(90):
        farming = n % 4 == 0
        holder = await make_holder(
            session,
            centre,
            status="enterprise_created",
            enrolled_on=date(2019, 1, 1),
            sector="agriculture" if farming else "commerce",
        )
        enterprise = await make_enterprise(session, centre, [holder]) if n % 2 else None
        product = choose_product(rng, products, farming)
        principal, term, grace = choose_terms(rng, product)
        recent = n % 10 == 0  # still waiting for a decision or a disbursement
        applied_on = TODAY - timedelta(days=rng.randint(0, 12 if recent else 1100))
        story = LoanStory(
            holder_id=holder.id,
            centre_id=centre.id,
            enterprise_id=enterprise.id if enterprise else None,
            product=product,
            principal=principal,
            term=term,
            grace_periods=grace,
            purpose=rng.choice(PURPOSES),
            adviser_id=adviser.id,
            decider_id=manager.id,
            applied_at=at_office_hours(rng, applied_on),
        )
        tell_story(rng, story, TODAY, stop_risk=0.25)
        expected = loan_rows(story, IdBlock(1, 1, 1, 1))
        kinds[expected.status] += 1
        kinds.update(type(event).__name__ for event in story.events)
        paid_on = [e.paid_on for e in story.events if isinstance(e, Repayment)]
        kinds["backdated"] += paid_on != sorted(paid_on)

        loan_id = await play_through_service(session, story, actor_of(adviser), actor_of(manager))
        generated = {
            "loans": relative([expected.loan], COLUMNS["loans"]),
            "installments": relative(expected.installments, COLUMNS["installments"]),
            "loan_transactions": relative(expected.transactions, COLUMNS["loan_transactions"]),
            "allocations": relative(expected.allocations, COLUMNS["allocations"]),
        }
        assert comparable(await stored(session, loan_id)) == comparable(generated), story

    # The stories cover every stage and every kind of entry.
    for kind in ("submitted", "approved", "rejected", "active", "repaid", "written_off"):
        assert kinds[kind] >= 1, kinds
    assert kinds["WriteOff"] == kinds["written_off"]
    assert kinds["Reversal"] >= 1, kinds
    assert kinds["backdated"] >= 1, kinds
    assert kinds["Repayment"] >= 500, kinds
