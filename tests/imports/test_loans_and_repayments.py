"""Taken-over loans and lenders' statements: schedules, allocations and summaries exactly as
the loans service keeps them, statements never doubled, every bad row named."""

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import AuditEvent
from app.core.config import Settings
from app.holders.models import Holder
from app.loans import ledger
from app.loans.models import Allocation, Installment, Loan, LoanTransaction
from app.loans.schedule import ScheduleTerms, generate_schedule
from tests.enterprises.factories import make_enterprise
from tests.helpers import auth
from tests.holders.factories import make_holder
from tests.imports.factories import ImportWorld, csv_file, upload, xlsx_file

LOAN_COLUMNS = [
    "holder_national_id",
    "enterprise_name",
    "lender_code",
    "product_name",
    "reference",
    "principal",
    "term",
    "grace_periods",
    "purpose",
    "applied_on",
    "approved_on",
    "disbursed_on",
    "first_due_on",
]
REPAYMENT_COLUMNS = ["lender_code", "reference", "paid_on", "amount", "receipt"]


async def make_borrowers(session: AsyncSession, world: ImportWorld, count: int) -> list[Holder]:
    holders = [
        await make_holder(session, world.centre, national_id=f"LB{n:05d}") for n in range(count)
    ]
    await session.commit()
    return holders


def loan_rows(holders: list[Holder]) -> list[dict[str, Any]]:
    """Every third loan only applied for or approved, the rest disbursed on various dates;
    principals written with a decimal comma and spaces between thousands."""
    rows = []
    for n, holder in enumerate(holders):
        applied = date(2024, 1, 2) + timedelta(days=7 * n)
        row: dict[str, Any] = {
            "holder_national_id": holder.national_id,
            "lender_code": "AMC-ATT",
            "product_name": "Crédit TPE mensuel",
            "reference": f"ATT-{n:05d}",
            "principal": f"{5 + n % 20} {n % 10}00,50",
            "term": str(6 + n % 12),
            "grace_periods": str(n % 2),
            "purpose": "Fonds de roulement",
            "applied_on": applied.strftime("%d/%m/%Y"),
        }
        if n % 3 == 1:
            row["approved_on"] = (applied + timedelta(days=3)).isoformat()
        elif n % 3 == 2 or n % 3 == 0:
            row["disbursed_on"] = (applied + timedelta(days=10)).isoformat()
        rows.append(row)
    return rows


def statement_rows(loans: list[Loan], seed: int = 7) -> list[dict[str, Any]]:
    """Two to five payments per active loan, dated after disbursement, in shuffled order (so
    later rows are backdated), amounts of about one installment."""
    rng = random.Random(seed)
    rows = []
    for loan in loans:
        assert loan.disbursed_on is not None
        for k in range(rng.randint(2, 5)):
            paid_on = loan.disbursed_on + timedelta(days=25 + 30 * k + rng.randint(0, 5))
            if paid_on > date(2025, 6, 30):
                break
            amount = (loan.principal / loan.term).quantize(Decimal("0.01")) + rng.randint(0, 90)
            rows.append(
                {
                    "lender_code": "AMC-ATT",
                    "reference": loan.reference,
                    "paid_on": paid_on,
                    "amount": f"{amount}".replace(".", ","),
                    "receipt": f"R-{loan.reference}-{k}",
                }
            )
    rng.shuffle(rows)
    return rows


def text_dates(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: v.strftime("%d/%m/%Y") if isinstance(v, date) else v for k, v in row.items()}
        for row in rows
    ]


async def imported_loans(session: AsyncSession) -> list[Loan]:
    stmt = select(Loan).where(Loan.reference.like("ATT-%")).order_by(Loan.reference)
    return list((await session.execute(stmt.execution_options(populate_existing=True))).scalars())


async def assert_ledgers_replay_to_the_stored_figures(
    session: AsyncSession, loans: list[Loan]
) -> None:
    """For every loan: its schedule is the one its terms generate, and replaying its
    non-reversed repayments gives exactly the stored installments, allocations, portions
    and summary columns."""
    for loan in loans:
        installments = list(
            (
                await session.execute(
                    select(Installment)
                    .where(Installment.loan_id == loan.id)
                    .order_by(Installment.seq)
                    .execution_options(populate_existing=True)
                )
            ).scalars()
        )
        if loan.disbursed_on is None:
            assert installments == [] and loan.status in ("submitted", "approved")
            continue
        expected_schedule = generate_schedule(
            ScheduleTerms(
                principal=loan.principal,
                annual_rate=loan.annual_rate,
                term=loan.term,
                frequency=loan.repayment_frequency,  # type: ignore[arg-type]
                interest_method=loan.interest_method,  # type: ignore[arg-type]
                amortization=loan.amortization,  # type: ignore[arg-type]
                grace_periods=loan.grace_periods,
                disbursed_on=loan.disbursed_on,
                first_due_on=None,
            )
        )
        assert [(i.due_on, i.principal_due, i.interest_due) for i in installments] == [
            (s.due_on, s.principal_due, s.interest_due) for s in expected_schedule
        ]
        payments = list(
            (
                await session.execute(
                    select(LoanTransaction)
                    .where(
                        LoanTransaction.loan_id == loan.id,
                        LoanTransaction.kind == "repayment",
                        LoanTransaction.reversed.is_(False),
                    )
                    .order_by(LoanTransaction.effective_on, LoanTransaction.id)
                    .execution_options(populate_existing=True)
                )
            ).scalars()
        )
        result = ledger.replay(
            [
                ledger.InstallmentDue(i.seq, i.due_on, i.principal_due, i.interest_due)
                for i in installments
            ],
            [ledger.Payment(p.id, p.effective_on, p.amount) for p in payments],
        )
        assert [(i.principal_paid, i.interest_paid, i.paid_off_on) for i in installments] == [
            (s.principal_paid, s.interest_paid, s.paid_off_on) for s in result.installments
        ]
        assert {p.id: (p.principal_portion, p.interest_portion) for p in payments} == (
            result.portions
        )
        stored_allocations = (
            await session.execute(
                select(
                    Allocation.transaction_id,
                    Allocation.paid_on,
                    Allocation.principal,
                    Allocation.interest,
                )
                .where(Allocation.loan_id == loan.id)
                .order_by(Allocation.id)
            )
        ).all()
        assert [tuple(a) for a in stored_allocations] == [
            (a.payment_id, a.paid_on, a.principal, a.interest) for a in result.allocations
        ]
        paid_principal = sum((s.principal_paid for s in result.installments), Decimal("0"))
        paid_interest = sum((s.interest_paid for s in result.installments), Decimal("0"))
        assert (loan.paid_principal, loan.paid_interest) == (paid_principal, paid_interest)
        assert loan.outstanding_principal == loan.principal - paid_principal
        assert loan.status == ("repaid" if result.closed_on else "active")
        assert loan.closed_on == result.closed_on


async def test_taken_over_loans_and_a_statement_replay_to_their_stored_figures(
    client: AsyncClient, world: ImportWorld, settings: Settings, session: AsyncSession
) -> None:
    holders = await make_borrowers(session, world, 60)
    headers = auth(world.manager, settings)
    response = await upload(client, headers, "loans", csv_file(LOAN_COLUMNS, loan_rows(holders)))
    assert response.status_code == 201, response.text
    assert response.json() == {
        "kind": "loans",
        "dry_run": False,
        "rows": 60,
        "created": 60,
        "skipped": 0,
    }
    loans = await imported_loans(session)
    assert [loan.status for loan in loans[:3]] == ["active", "approved", "active"]
    assert loans[0].principal == Decimal("5000.50")
    assert loans[0].approved_on == loans[0].disbursed_on == date(2024, 1, 12)

    active = [loan for loan in loans if loan.status == "active"]
    statement = statement_rows(active)
    assert len(statement) > 60
    content = xlsx_file(REPAYMENT_COLUMNS, statement)
    first = await upload(client, headers, "repayments", content, filename="s.xlsx")
    assert first.status_code == 201, first.text
    assert first.json()["created"] == len(statement)
    await assert_ledgers_replay_to_the_stored_figures(session, await imported_loans(session))

    again = await upload(
        client, headers, "repayments", csv_file(REPAYMENT_COLUMNS, text_dates(statement))
    )
    assert again.status_code == 201, again.text
    assert again.json()["created"] == 0
    assert again.json()["skipped"] == len(statement)
    count = (
        select(func.count()).select_from(LoanTransaction).where(LoanTransaction.kind == "repayment")
    )
    assert (await session.execute(count)).scalar_one() == len(statement)


async def test_a_statement_with_bad_rows_writes_nothing_and_names_each_row(
    client: AsyncClient, world: ImportWorld, settings: Settings, session: AsyncSession
) -> None:
    holders = await make_borrowers(session, world, 3)
    headers = auth(world.admin, settings)
    rows = loan_rows(holders)
    rows[1]["disbursed_on"] = "2024-01-20"
    loaded = await upload(client, headers, "loans", csv_file(LOAN_COLUMNS, rows))
    assert loaded.status_code == 201, loaded.text
    statement = [
        {
            "lender_code": "AMC-ATT",
            "reference": "ATT-00000",
            "paid_on": "2024-02-12",
            "amount": "600,00",
            "receipt": "A1",
        },
        {
            "lender_code": "AMC-ATT",
            "reference": "ATT-00000",
            "paid_on": "2024-03-12",
            "amount": "999 999,00",
            "receipt": "A2",
        },
        {
            "lender_code": "AMC-ATT",
            "reference": "NOPE",
            "paid_on": "2024-03-12",
            "amount": "10",
            "receipt": "A3",
        },
        {
            "lender_code": "AMC-ATT",
            "reference": "ATT-00001",
            "paid_on": "2023-12-01",
            "amount": "10",
            "receipt": "A4",
        },
        {
            "lender_code": "AMC-ATT",
            "reference": "ATT-00001",
            "paid_on": "2030-01-01",
            "amount": "10",
            "receipt": "A5",
        },
        {
            "lender_code": "AMC-ATT",
            "reference": "ATT-00001",
            "paid_on": "2024-03-01",
            "amount": "10",
            "receipt": "A5",
        },
        {
            "lender_code": "XXX",
            "reference": "ATT-00001",
            "paid_on": "2024-03-01",
            "amount": "10",
            "receipt": "A6",
        },
        {
            "lender_code": "AMC-ATT",
            "reference": "ATT-00002",
            "paid_on": "2024-03-01",
            "amount": "10,123",
            "receipt": "A7",
        },
    ]
    response = await upload(
        client, headers, "repayments", csv_file(REPAYMENT_COLUMNS, statement, ",")
    )
    assert response.status_code == 422
    errors = [(e["row"], e["field"]) for e in response.json()["errors"]]
    assert errors == [
        (3, "amount"),
        (4, "reference"),
        (5, "paid_on"),
        (6, "paid_on"),
        (7, "receipt"),
        (8, "lender_code"),
        (9, "amount"),
    ]
    owed = next(e for e in response.json()["errors"] if e["row"] == 3)["message"]
    assert "owes" in owed
    count = (
        select(func.count()).select_from(LoanTransaction).where(LoanTransaction.kind == "repayment")
    )
    assert (await session.execute(count)).scalar_one() == 0


async def test_loan_rows_follow_the_application_rules(
    client: AsyncClient, world: ImportWorld, settings: Settings, session: AsyncSession
) -> None:
    holders = await make_borrowers(session, world, 6)
    other = await make_holder(session, world.other_centre, national_id="ZZ1")
    owned = await make_enterprise(session, world.centre, [holders[0]], name="Atelier Zahra")
    await session.commit()
    rows = loan_rows(holders)
    rows[0]["enterprise_name"] = owned.name
    rows[1]["principal"] = "60000"  # above the product's maximum
    rows[2]["term"] = "48"  # above the product's maximum term
    rows[3]["reference"] = rows[0]["reference"]  # the lender already has it (in this file)
    rows[4]["holder_national_id"] = other.national_id  # another centre: outside the scope
    rows[5]["product_name"] = "Unknown product"
    response = await upload(
        client, auth(world.manager, settings), "loans", csv_file(LOAN_COLUMNS, rows)
    )
    assert response.status_code == 422
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [
        (3, "principal"),
        (4, "term"),
        (5, "reference"),
        (6, "holder_national_id"),
        (7, "product_name"),
    ]
    assert (await session.execute(select(func.count()).select_from(Loan))).scalar_one() == 0


async def test_import_audit_event_has_counts_and_no_personal_data(
    client: AsyncClient, world: ImportWorld, settings: Settings, session: AsyncSession
) -> None:
    holders = await make_borrowers(session, world, 3)
    response = await upload(
        client, auth(world.manager, settings), "loans", csv_file(LOAN_COLUMNS, loan_rows(holders))
    )
    assert response.status_code == 201
    events = list(
        (
            await session.execute(select(AuditEvent).where(AuditEvent.actor_id == world.manager.id))
        ).scalars()
    )
    assert [(e.action, e.entity) for e in events] == [("import", "import")]
    assert events[0].changes == {"kind": "loans", "rows": 3, "created": 3, "skipped": 0}
