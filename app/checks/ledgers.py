"""`tracker db check`: stored loan figures against their ledger replay.

For each loan checked, its non-reversed repayments are replayed with `ledger.replay` (the
same pure function the loan service uses) and every figure derived from them is compared
with what is stored:

- the schedule: each installment's principal and interest due equal `generate_schedule` of
  the loan's terms (anchored on the disbursement date, or on `first_due_on` when it was
  given), and the first due date is `first_due_on`;
- each installment's `principal_paid`, `interest_paid` and `paid_off_on`;
- the allocations (transaction, installment, date, principal, interest and the
  installment's due date, in id order);
- each live repayment's principal and interest portions; a reversal carries the amount of
  the repayment it reverses;
- the disbursement and write-off transactions (amount = principal, amount = the written
  off amount);
- the loan's summary columns: `paid_principal`, `paid_interest`, `oldest_unpaid_due_on`,
  `overdue_amount` (what the installments due before `overdue_through` still owe),
  `outstanding_principal` (principal minus principal repaid while active or repaid, else
  0), `status` and `closed_on` (repaid on the replay's closing date, else active), and
  `written_off_amount` (principal minus principal repaid);
- a loan never disbursed has no installment, transaction or allocation and zero figures.
"""

from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.loans import ledger, schedule
from app.loans.models import Allocation, Installment, Loan, LoanTransaction

ZERO = Decimal("0.00")
CHUNK = 500


@dataclass(frozen=True)
class Mismatch:
    loan_id: int
    what: str
    stored: object
    expected: object

    def __str__(self) -> str:
        return f"loan {self.loan_id}: {self.what} is {self.stored!r}, the replay gives {self.expected!r}"


async def sample_loan_ids(session: AsyncSession, sample: int) -> list[int]:
    """`sample` loan ids drawn at random (every loan when `sample` is 0), in id order."""
    stmt = select(Loan.id)
    if sample:
        stmt = stmt.order_by(func.random()).limit(sample)
    return sorted((await session.execute(stmt)).scalars())


async def check_loans(session: AsyncSession, loan_ids: Sequence[int]) -> AsyncIterator[Mismatch]:
    """The mismatches of these loans, read `CHUNK` loans at a time."""
    for start in range(0, len(loan_ids), CHUNK):
        chunk = list(loan_ids[start : start + CHUNK])
        loans = (await session.execute(select(Loan).where(Loan.id.in_(chunk)))).scalars().all()
        installments: dict[int, list[Installment]] = defaultdict(list)
        for row in (
            await session.execute(
                select(Installment)
                .where(Installment.loan_id.in_(chunk))
                .order_by(Installment.loan_id, Installment.seq)
            )
        ).scalars():
            installments[row.loan_id].append(row)
        transactions: dict[int, list[LoanTransaction]] = defaultdict(list)
        for entry in (
            await session.execute(
                select(LoanTransaction)
                .where(LoanTransaction.loan_id.in_(chunk))
                .order_by(LoanTransaction.id)
            )
        ).scalars():
            transactions[entry.loan_id].append(entry)
        allocations: dict[int, list[Allocation]] = defaultdict(list)
        for part in (
            await session.execute(
                select(Allocation).where(Allocation.loan_id.in_(chunk)).order_by(Allocation.id)
            )
        ).scalars():
            allocations[part.loan_id].append(part)
        session.expunge_all()
        for loan in loans:
            for mismatch in check_loan(
                loan, installments[loan.id], transactions[loan.id], allocations[loan.id]
            ):
                yield mismatch


def check_loan(
    loan: Loan,
    installments: Sequence[Installment],
    transactions: Sequence[LoanTransaction],
    allocations: Sequence[Allocation],
) -> list[Mismatch]:
    """Every difference between the stored loan and its replay (none when consistent)."""
    found: list[Mismatch] = []

    def compare(what: str, stored: object, expected: object) -> None:
        if stored != expected:
            found.append(Mismatch(loan.id, what, stored, expected))

    if loan.disbursed_on is None:
        compare("installments", len(installments), 0)
        compare("transactions", len(transactions), 0)
        compare("allocations", len(allocations), 0)
        for name in ("outstanding_principal", "paid_principal", "paid_interest"):
            compare(name, getattr(loan, name), ZERO)
        compare("oldest_unpaid_due_on", loan.oldest_unpaid_due_on, None)
        compare("overdue_amount", loan.overdue_amount, ZERO)
        return found

    _check_schedule(loan, installments, compare)
    dues = [
        ledger.InstallmentDue(row.seq, row.due_on, row.principal_due, row.interest_due)
        for row in installments
    ]
    live = [t for t in transactions if t.kind == "repayment" and not t.reversed]
    result = ledger.replay(dues, [ledger.Payment(t.id, t.effective_on, t.amount) for t in live])
    for row, state in zip(installments, result.installments, strict=True):
        compare(f"installment {row.seq} principal_paid", row.principal_paid, state.principal_paid)
        compare(f"installment {row.seq} interest_paid", row.interest_paid, state.interest_paid)
        compare(f"installment {row.seq} paid_off_on", row.paid_off_on, state.paid_off_on)

    seq_of = {row.id: row.seq for row in installments}
    due_on = {row.seq: row.due_on for row in installments}
    stored_parts = [
        (
            a.transaction_id,
            seq_of.get(a.installment_id),
            a.paid_on,
            a.principal,
            a.interest,
            a.due_on,
        )
        for a in allocations
    ]
    expected_parts = [
        (a.payment_id, a.seq, a.paid_on, a.principal, a.interest, due_on[a.seq])
        for a in result.allocations
    ]
    compare("allocations", stored_parts, expected_parts)

    by_id = {t.id: t for t in transactions}
    for entry in live:
        principal, interest = result.portions[entry.id]
        compare(f"repayment {entry.id} principal_portion", entry.principal_portion, principal)
        compare(f"repayment {entry.id} interest_portion", entry.interest_portion, interest)
    for entry in transactions:
        if entry.kind == "reversal":
            target = by_id.get(entry.reverses_id or 0)
            compare(
                f"reversal {entry.id} reverses a reversed repayment",
                target is not None and target.kind == "repayment" and target.reversed,
                True,
            )
            if target is not None:
                compare(f"reversal {entry.id} amount", entry.amount, target.amount)
        elif entry.kind == "disbursement":
            compare(f"disbursement {entry.id} amount", entry.amount, loan.principal)

    paid_principal = sum((s.principal_paid for s in result.installments), ZERO)
    paid_interest = sum((s.interest_paid for s in result.installments), ZERO)
    oldest_unpaid = min(
        (s.due_on for s in result.installments if not s.is_fully_paid), default=None
    )
    compare("paid_principal", loan.paid_principal, paid_principal)
    compare("paid_interest", loan.paid_interest, paid_interest)
    compare("oldest_unpaid_due_on", loan.oldest_unpaid_due_on, oldest_unpaid)
    compare(
        "overdue_amount",
        loan.overdue_amount,
        ledger.unpaid_due_before(result.installments, loan.overdue_through),
    )
    if loan.status == "written_off":
        compare("outstanding_principal", loan.outstanding_principal, ZERO)
        compare("written_off_amount", loan.written_off_amount, loan.principal - paid_principal)
        write_offs = [t.amount for t in transactions if t.kind == "write_off"]
        compare("write-off transactions", write_offs, [loan.written_off_amount])
    else:
        compare(
            "outstanding_principal", loan.outstanding_principal, loan.principal - paid_principal
        )
        expected_status = "repaid" if result.closed_on is not None else "active"
        compare("status", loan.status, expected_status)
        compare("closed_on", loan.closed_on, result.closed_on)
    return found


def _check_schedule(
    loan: Loan,
    installments: Sequence[Installment],
    compare: Callable[[str, object, object], None],
) -> None:
    assert loan.disbursed_on is not None
    stored = [(r.seq, r.due_on, r.principal_due, r.interest_due) for r in installments]
    candidates: list[list[tuple[int, date, Decimal, Decimal]]] = []
    for first_due_on in (None, loan.first_due_on):
        try:
            terms = schedule.ScheduleTerms(
                principal=loan.principal,
                annual_rate=loan.annual_rate,
                term=loan.term,
                frequency=schedule.Frequency(loan.repayment_frequency),
                interest_method=schedule.InterestMethod(loan.interest_method),
                amortization=schedule.Amortization(loan.amortization),
                grace_periods=loan.grace_periods,
                disbursed_on=loan.disbursed_on,
                first_due_on=first_due_on,
            )
        except ValueError as exc:
            compare("terms", str(exc), "valid terms")
            return
        items = schedule.generate_schedule(terms)
        candidates.append([(i.seq, i.due_on, i.principal_due, i.interest_due) for i in items])
    if stored not in candidates:
        compare("schedule", stored, candidates[0])
    first = installments[0].due_on if installments else None
    compare("first_due_on", loan.first_due_on, first)
