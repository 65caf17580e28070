"""A statement over many loans, recorded a few hundred loans at a time, stores exactly what
recording its rows one by one through the single-repayment service stores, and what a full
replay of each loan's ledger gives: backdated rows (before repayments already recorded),
several rows of one day, partial payments and payoffs that close loans."""

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.checks.ledgers import check_loans
from app.core.config import Settings
from app.imports import importers
from app.loans import repayments
from app.loans.models import Allocation, Installment, Loan, LoanTransaction
from app.users.service import actor_of
from tests.helpers import auth, recorded_statements
from tests.holders.factories import make_holder
from tests.imports.factories import ImportWorld, csv_file, upload
from tests.loans.factories import make_active_loan, make_product, repay

REPAYMENT_COLUMNS = ["lender_code", "reference", "paid_on", "amount", "receipt"]
LOANS = 24
TODAY = date(2025, 6, 30)
"""The imports' "today" (frozen by the area's conftest)."""


async def remaining(session: AsyncSession, loan_id: int) -> Decimal:
    stmt = select(
        func.sum(
            Installment.principal_due
            + Installment.interest_due
            - Installment.principal_paid
            - Installment.interest_paid
        )
    ).where(Installment.loan_id == loan_id)
    return Decimal((await session.execute(stmt)).scalar_one()).quantize(Decimal("0.01"))


async def twin_loans(
    session: AsyncSession, world: ImportWorld
) -> list[tuple[Loan, Loan, list[date]]]:
    """Pairs of loans with the same terms and the same repayments already recorded: the
    first carries the reference the statement names, the second gets the same rows one by
    one. Monthly and weekly schedules; every third pair has repayments already."""
    weekly = await make_product(
        session,
        world.lender,
        name="Crédit hebdomadaire",
        repayment_frequency="weekly",
        interest_method="flat",
        max_term=52,
    )
    actor = actor_of(world.admin)
    pairs = []
    for n in range(LOANS):
        product, term = (weekly, 20) if n % 4 == 3 else (world.product, 6 + n % 7)
        disbursed_on = date(2024, 8, 1) + timedelta(days=5 * n)
        twins = []
        for side in ("S", "T"):
            holder = await make_holder(session, world.centre, national_id=f"ST{side}{n:04d}")
            twins.append(
                await make_active_loan(
                    session,
                    actor,
                    holder,
                    product,
                    principal=f"{3000 + 250 * n}.00",
                    term=term,
                    disbursed_on=disbursed_on,
                    today=TODAY,
                    reference=f"{side}-{n:03d}",
                )
            )
        earlier = []
        if n % 3 == 0:
            for k, amount in ((2, "400.00"), (4, "333.33")):
                paid_on = disbursed_on + timedelta(days=30 * k + 2)
                for loan in twins:
                    await repay(session, actor, loan, amount, paid_on, today=TODAY)
                earlier.append(paid_on)
        pairs.append((twins[0], twins[1], earlier))
    await session.commit()
    return pairs


async def statement_rows(
    session: AsyncSession, pairs: list[tuple[Loan, Loan, list[date]]]
) -> list[dict[str, Any]]:
    """For each loan: rows before its recorded repayments (backdated) and after them, two
    rows on one day for some, and for every other loan a last row that pays off what is
    left (closing it); the rows of all loans shuffled."""
    rng = random.Random(12)
    rows: list[dict[str, Any]] = []
    for n, (loan, _, earlier) in enumerate(pairs):
        assert loan.disbursed_on is not None
        owed = await remaining(session, loan.id)
        dates = [loan.disbursed_on + timedelta(days=20 + 27 * k) for k in range(4)]
        if n % 5 == 0:
            dates.append(dates[1])
        if earlier:
            dates.append(earlier[0] - timedelta(days=1))
        amounts = [Decimal(rng.randint(150, 420)) + Decimal("0.45") for _ in dates]
        if n % 2 == 1:
            dates.append(dates[-1] + timedelta(days=9))
            amounts.append(owed - sum(amounts, Decimal("0")))
        assert sum(amounts, Decimal("0")) <= owed and all(a > 0 for a in amounts)
        assert max(dates) <= TODAY
        rows += [
            {
                "lender_code": "AMC-ATT",
                "reference": loan.reference,
                "paid_on": paid_on.isoformat(),
                "amount": f"{amount}".replace(".", ","),
                "receipt": f"Q{n}-{k}",
            }
            for k, (paid_on, amount) in enumerate(zip(dates, amounts, strict=True))
        ]
    rng.shuffle(rows)
    return rows


async def ledger_of(session: AsyncSession, loan_id: int) -> dict[str, Any]:
    """Everything stored about a loan's repayments, with transactions named by reference."""
    loan = (
        await session.execute(
            select(Loan).where(Loan.id == loan_id).execution_options(populate_existing=True)
        )
    ).scalar_one()
    transactions = (
        (
            await session.execute(
                select(LoanTransaction)
                .where(LoanTransaction.loan_id == loan_id)
                .order_by(LoanTransaction.id)
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    reference = {t.id: t.reference for t in transactions}
    installments = (
        await session.execute(
            select(
                Installment.id,
                Installment.seq,
                Installment.principal_paid,
                Installment.interest_paid,
                Installment.paid_off_on,
            )
            .where(Installment.loan_id == loan_id)
            .order_by(Installment.seq)
        )
    ).all()
    seq_of = {row.id: row.seq for row in installments}
    allocations = (
        await session.execute(
            select(Allocation).where(Allocation.loan_id == loan_id).order_by(Allocation.id)
        )
    ).scalars()
    return {
        "summary": (
            loan.status,
            loan.closed_on,
            loan.outstanding_principal,
            loan.paid_principal,
            loan.paid_interest,
            loan.oldest_unpaid_due_on,
        ),
        "installments": [tuple(row[1:]) for row in installments],
        "transactions": sorted(
            (
                t.kind,
                t.reference or "",
                t.effective_on,
                t.amount,
                t.principal_portion,
                t.interest_portion,
                t.reversed,
            )
            for t in transactions
            if t.kind != "disbursement"
        ),
        "allocations": [
            (
                reference[a.transaction_id],
                seq_of[a.installment_id],
                a.paid_on,
                a.due_on,
                a.principal,
                a.interest,
            )
            for a in allocations
        ],
    }


async def test_a_statement_in_batches_stores_what_one_by_one_repayments_store(
    client: AsyncClient,
    world: ImportWorld,
    settings: Settings,
    session: AsyncSession,
    engine: AsyncEngine,
    backend: str,
    monkeypatch: Any,
) -> None:
    # Batches of 5 loans, so that the statement spans several (and a batch's boundaries).
    monkeypatch.setattr(importers, "BATCH_ROWS", 5)
    pairs = await twin_loans(session, world)
    rows = await statement_rows(session, pairs)
    closing = sum(1 for n in range(LOANS) if n % 2 == 1)

    with recorded_statements(engine) as statements:
        response = await upload(
            client, auth(world.manager, settings), "repayments", csv_file(REPAYMENT_COLUMNS, rows)
        )
    assert response.status_code == 201, response.text
    assert response.json()["created"] == len(rows)
    # A constant number of statements per batch of loans (lock, receipts, installments,
    # later allocations and their repayments, delete, two INSERTs, three UPDATEs) and per
    # batch of rows (their loans), not some ten per loan. SQLite inserts the new repayments
    # one by one to get their ids back in order; PostgreSQL in one multi-row INSERT.
    batches = -(-LOANS // 5)
    inserts = [s for s in statements if s.startswith("INSERT INTO loan_transactions")]
    assert len(statements) - len(inserts) <= 12 * batches + -(-len(rows) // 5) + 5
    assert len(inserts) == (len(rows) if backend == "sqlite" else batches)

    # The same rows through the single-repayment service, one by one in the file's order
    # (backdated ones re-allocate what follows them), on the twins.
    actor = actor_of(world.admin)
    twin_of = {loan.reference: twin for loan, twin, _ in pairs}
    for row in rows:
        await repayments.record_repayment(
            session,
            actor,
            twin_of[row["reference"]].id,
            repayments.NewRepayment(
                amount=Decimal(row["amount"].replace(",", ".")),
                paid_on=date.fromisoformat(row["paid_on"]),
                reference=row["receipt"],
            ),
            today=TODAY,
        )
    await session.commit()

    repaid = 0
    for loan, twin, _ in pairs:
        imported = await ledger_of(session, loan.id)
        assert imported == await ledger_of(session, twin.id), loan.reference
        repaid += imported["summary"][0] == "repaid"
    assert repaid == closing

    ids = [loan.id for pair in pairs for loan in pair[:2]]
    assert [str(m) async for m in check_loans(session, ids)] == []
