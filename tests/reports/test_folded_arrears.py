"""Arrears folded into the loan row (app/loans/arrears.py): the positions as of today and
later, and the portfolio report as of today, equal the ledger reference whether the loans
were folded at the latest date, at an earlier one or never; a stored `overdue_amount`
changed by hand shows in today's report and no past date's; and after a backdated
repayment, a reversal (one that makes a repaid loan active again) and a write-off through
the API the figures are still exact. The fold dates are due dates of unpaid installments,
so that an installment due on the fold date itself is counted once."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.checks.ledgers import check_loans
from app.core.config import Settings
from app.core.db import create_sessionmaker
from app.core.errors import RuleViolation
from app.loans import arrears
from app.loans.arrears import fold_arrears, fold_loans
from app.loans.models import Installment, Loan
from app.loans.positions import current_loan_positions
from tests.helpers import auth, live_repayments
from tests.reports import reference
from tests.reports.generator import GeneratedPortfolio
from tests.reports.plan import TODAY
from tests.reports.reference import Snapshot, load_snapshot
from tests.reports.test_month_ends import portfolio_at
from tests.reports.test_positions import actual_positions, expected_positions
from tests.users.factories import make_user

AS_OF = [TODAY, TODAY + timedelta(days=40)]


async def unpaid_due_dates(session: AsyncSession, remainder: int) -> list[date]:
    """The due dates before today of unpaid installments of active loans whose id leaves
    `remainder` divided by 3, oldest first."""
    rows = await session.scalars(
        select(Installment.due_on)
        .join(Loan, Loan.id == Installment.loan_id)
        .where(
            Loan.status == "active",
            Loan.id % 3 == remainder,
            Installment.paid_off_on.is_(None),
            Installment.due_on < TODAY,
        )
        .distinct()
        .order_by(Installment.due_on)
    )
    return list(rows.all())


async def active_loan_ids(session: AsyncSession, remainder: int) -> list[int]:
    rows = await session.scalars(
        select(Loan.id).where(Loan.status == "active", Loan.id % 3 == remainder)
    )
    return list(rows.all())


@pytest.fixture(scope="module")
async def fold_dates(
    portfolio_session: AsyncSession, portfolio: GeneratedPortfolio
) -> tuple[date, date]:
    """A third of the active loans folded at the latest date, a third at an earlier one,
    a third never folded: (earlier, latest)."""
    latest = (await unpaid_due_dates(portfolio_session, 2))[-1]
    candidates = [day for day in await unpaid_due_dates(portfolio_session, 1) if day < latest]
    earlier = candidates[len(candidates) // 2]
    await fold_loans(portfolio_session, await active_loan_ids(portfolio_session, 2), latest)
    await fold_loans(portfolio_session, await active_loan_ids(portfolio_session, 1), earlier)
    await portfolio_session.commit()
    portfolio_session.expire_all()
    return earlier, latest


async def mismatches(session: AsyncSession) -> list[str]:
    loan_ids = list((await session.scalars(select(Loan.id).order_by(Loan.id))).all())
    return [str(mismatch) async for mismatch in check_loans(session, loan_ids)]


async def test_the_folds_hold_amounts_and_installments_due_on_the_fold_dates(
    portfolio_session: AsyncSession, fold_dates: tuple[date, date]
) -> None:
    """The cases the comparisons below are meant to catch are there: folded amounts, and
    unpaid installments due on each fold date itself."""
    earlier, latest = fold_dates
    for through, remainder in ((latest, 2), (earlier, 1)):
        folded = await portfolio_session.scalar(
            select(func.sum(Loan.overdue_amount)).where(Loan.overdue_through == through)
        )
        assert folded is not None and folded > 0
        assert through in await unpaid_due_dates(portfolio_session, remainder)
    never = await portfolio_session.scalar(
        select(func.count()).where(Loan.status == "active", Loan.overdue_through.is_(None))
    )
    assert never


@pytest.mark.parametrize("as_of", AS_OF, ids=str)
async def test_positions_match_the_ledger_with_loans_folded_at_different_dates(
    portfolio_session: AsyncSession, snapshot: Snapshot, fold_dates: tuple[date, date], as_of: date
) -> None:
    expected = expected_positions(snapshot, as_of)
    actual = await actual_positions(portfolio_session, current_loan_positions(as_of))
    assert actual == expected
    assert await mismatches(portfolio_session) == []


async def test_the_report_reads_the_folded_amount(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    portfolio_session: AsyncSession,
    fold_dates: tuple[date, date],
) -> None:
    """An `overdue_amount` changed by hand changes today's arrears by as much, and `tracker
    db check` names it; no past date's report reads it."""
    _, latest = fold_dates
    past = TODAY - timedelta(days=45)
    before = await portfolio_at(report_client, national_headers, TODAY, "centre")
    past_before = await portfolio_at(report_client, national_headers, past, "centre")
    loan_id = await portfolio_session.scalar(
        select(Loan.id).where(Loan.overdue_through == latest, Loan.overdue_amount > 0).limit(1)
    )
    bump = update(Loan).where(Loan.id == loan_id)
    await portfolio_session.execute(bump.values(overdue_amount=Loan.overdue_amount + 1))
    await portfolio_session.commit()
    try:
        changed = await portfolio_at(report_client, national_headers, TODAY, "centre")
        total, total_before = changed["total"], before["total"]
        assert isinstance(total, dict) and isinstance(total_before, dict)
        assert Decimal(total["arrears_amount"]) == Decimal(total_before["arrears_amount"]) + 1
        found = await mismatches(portfolio_session)
        assert len(found) == 1 and f"loan {loan_id}:" in found[0] and "overdue_amount" in found[0]
        assert await portfolio_at(report_client, national_headers, past, "centre") == past_before
    finally:
        await portfolio_session.execute(bump.values(overdue_amount=Loan.overdue_amount - 1))
        await portfolio_session.commit()
    assert await portfolio_at(report_client, national_headers, TODAY, "centre") == before


async def test_a_fold_in_batches_folds_every_active_loan(
    portfolio_session: AsyncSession,
    portfolio_connection: AsyncConnection,
    snapshot: Snapshot,
    fold_dates: tuple[date, date],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    maker = create_sessionmaker(portfolio_connection, join_transaction_mode="create_savepoint")
    with pytest.raises(RuleViolation):
        await fold_arrears(maker, through=TODAY + timedelta(days=1), today=TODAY)
    monkeypatch.setattr(arrears, "FOLD_BATCH", 7)
    batches: list[int] = []
    active = await portfolio_session.scalar(select(func.count()).where(Loan.status == "active"))
    folded = await fold_arrears(maker, through=TODAY, today=TODAY, on_batch=batches.append)
    assert folded == active and len(batches) > 1 and max(batches) == 7
    portfolio_session.expire_all()
    not_folded = await portfolio_session.scalar(
        select(func.count()).where(
            Loan.status == "active",
            func.coalesce(Loan.overdue_through, date(1, 1, 1)) != TODAY,
        )
    )
    assert not_folded == 0
    assert await fold_arrears(maker, through=TODAY, today=TODAY) == 0, "nothing left to fold"
    for as_of in AS_OF:
        expected = expected_positions(snapshot, as_of)
        assert await actual_positions(portfolio_session, current_loan_positions(as_of)) == expected
    assert await mismatches(portfolio_session) == []


async def test_writes_after_a_fold_keep_the_arrears_exact(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    portfolio_session: AsyncSession,
    report_settings: Settings,
    fold_dates: tuple[date, date],
) -> None:
    """Runs last in the module: it writes into the module's portfolio."""
    _, latest = fold_dates
    admin = await make_user(portfolio_session, "admin", None)
    await portfolio_session.commit()
    headers = auth(admin, report_settings)
    snap = await load_snapshot(portfolio_session)
    folded = await portfolio_session.scalars(
        select(Loan.id)
        .where(Loan.status == "active", Loan.overdue_amount > 0)
        .order_by(Loan.id)
        .limit(3)
    )
    paid_back, reversed_in, written_off = folded.all()
    reopened = next(
        loan.id
        for loan in sorted(snap.loans.values(), key=lambda loan: loan.id)
        if loan.status == "repaid" and loan.closed_on is not None and loan.closed_on < latest
    )

    backdated = await report_client.post(
        f"/api/v1/loans/{paid_back}/repayments",
        json={"amount": "180.00", "paid_on": (latest - timedelta(days=3)).isoformat()},
        headers=headers,
    )
    assert backdated.status_code == 201, backdated.text
    for loan_id in (reversed_in, reopened):
        repayments = await live_repayments(report_client, loan_id, headers)
        reversal = await report_client.post(
            f"/api/v1/loans/{loan_id}/transactions/{repayments[-1]['id']}/reverse",
            json={"reason": "Chèque rejeté"},
            headers=headers,
        )
        assert reversal.status_code == 200, reversal.text
    write_off = await report_client.post(
        f"/api/v1/loans/{written_off}/write-off",
        json={"written_off_on": TODAY.isoformat(), "reason": "Entreprise fermée"},
        headers=headers,
    )
    assert write_off.status_code == 200, write_off.text

    portfolio_session.expire_all()  # the writes went through the API's own sessions
    reopened_loan = await portfolio_session.get(Loan, reopened)
    assert reopened_loan is not None and reopened_loan.status == "active"
    assert reopened_loan.overdue_through != TODAY, "active again, not folded since"
    after = await load_snapshot(portfolio_session)
    for as_of in AS_OF:
        expected = expected_positions(after, as_of)
        assert await actual_positions(portfolio_session, current_loan_positions(as_of)) == expected
    for group_by in ("centre", "gender"):
        body = await portfolio_at(report_client, national_headers, TODAY, group_by)
        assert body == reference.portfolio(after, TODAY, group_by, None)
    assert await mismatches(portfolio_session) == []
