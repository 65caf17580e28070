"""Writes cost what they change: a repayment dated on or after the loan's latest payment is
allocated forward from the stored state, a backdated one or a reversal re-allocates only
from its place in the replay order; each leaves exactly the state a full replay gives.

On both backends: random sequences of forward, backdated and same-day repayments and
reversals, with every stored figure compared to `ledger.replay` after each write; and the
statements of a forward repayment counted, the same on a loan with 2 payments as on one
with 60, with no DELETE and only the new allocation rows inserted.
"""

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.loans import ledger, reads, repayments
from app.loans.models import Allocation, Installment, Loan, LoanStatus, LoanTransaction
from tests.holders.factories import make_holder
from tests.loans.factories import TODAY, LoanWorld, make_active_loan, repay
from tests.loans.test_ledger_consistency import check_loan

DISBURSED_ON = date(2023, 1, 10)


async def owed(session: AsyncSession, loan_id: int) -> Decimal:
    stmt = select(
        func.sum(
            Installment.principal_due
            + Installment.interest_due
            - Installment.principal_paid
            - Installment.interest_paid
        )
    ).where(Installment.loan_id == loan_id)
    return Decimal((await session.execute(stmt)).scalar_one())


async def live_payments(session: AsyncSession, loan_id: int) -> list[tuple[int, date]]:
    stmt = (
        select(LoanTransaction.id, LoanTransaction.effective_on)
        .where(
            LoanTransaction.loan_id == loan_id,
            LoanTransaction.kind == "repayment",
            LoanTransaction.reversed.is_(False),
        )
        .order_by(LoanTransaction.effective_on, LoanTransaction.id)
    )
    return [(row.id, row.effective_on) for row in await session.execute(stmt)]


async def reload(session: AsyncSession, loan_id: int) -> Loan:
    session.expunge_all()
    return (await session.execute(select(Loan).where(Loan.id == loan_id))).scalar_one()


@pytest.mark.parametrize("seed", [3, 41, 977])
async def test_every_kind_of_write_leaves_the_state_of_a_full_replay(
    session: AsyncSession, world: LoanWorld, seed: int
) -> None:
    rng = random.Random(seed)
    actor = world.admin_actor
    holder = await make_holder(session, world.centre)
    loan = await make_active_loan(
        session,
        actor,
        holder,
        world.product,
        principal=str(rng.randint(3000, 40000)),
        term=rng.randint(6, 36),
        grace_periods=rng.randint(0, 2),
        disbursed_on=DISBURSED_ON,
        today=TODAY,
    )
    loan_id = loan.id
    kinds: dict[str, int] = {"forward": 0, "same_day": 0, "backdated": 0, "reversal": 0}
    for _ in range(45):
        live = await live_payments(session, loan_id)
        status = (await reload(session, loan_id)).status
        remaining = await owed(session, loan_id)
        roll = rng.random()
        if live and (roll < 0.2 or status != LoanStatus.active or remaining == 0):
            if status == LoanStatus.written_off:
                break
            reversed_id, _ = rng.choice(live)
            await repayments.reverse_transaction(
                session, actor, loan_id, reversed_id, reason="chèque rejeté", today=TODAY
            )
            kinds["reversal"] += 1
        else:
            latest = live[-1][1] if live else DISBURSED_ON
            if live and roll < 0.45:
                kind = "backdated"
                paid_on = DISBURSED_ON + timedelta(
                    days=rng.randint(0, (latest - DISBURSED_ON).days)
                )
            elif live and roll < 0.55:
                kind, paid_on = "same_day", latest
            else:
                kind = "forward"
                paid_on = latest + timedelta(days=rng.randint(0, 40))
            paid_on = min(paid_on, TODAY)
            centimes = int(remaining * 100)
            amount = Decimal(rng.randint(1, max(1, centimes // 3))) / 100
            if rng.random() < 0.08:
                amount = remaining
            await repay(session, actor, loan, f"{amount:.2f}", paid_on, today=TODAY)
            kinds["forward" if paid_on >= latest and kind == "forward" else kind] += 1
        await session.flush()
        await check_loan(session, await reload(session, loan_id))
    assert all(count > 0 for count in kinds.values()), kinds


@dataclass
class StatementLog:
    statements: list[tuple[str, int]] = field(default_factory=list)

    def verbs(self) -> list[str]:
        return [sql.split()[0].upper() for sql, _ in self.statements]

    def rows_of(self, prefix: str) -> int:
        return sum(rows for sql, rows in self.statements if sql.upper().startswith(prefix))


@contextmanager
def statements_on(connection: AsyncConnection) -> Iterator[StatementLog]:
    """Every statement sent on `connection` meanwhile, with how many parameter sets it had."""
    log = StatementLog()

    def record(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool
    ) -> None:
        rows = len(parameters) if many else 1
        log.statements.append((" ".join(statement.split()), rows))

    target = connection.sync_connection
    assert target is not None
    event.listen(target, "before_cursor_execute", record)
    try:
        yield log
    finally:
        event.remove(target, "before_cursor_execute", record)


async def forward_repayment_log(
    session: AsyncSession, connection: AsyncConnection, world: LoanWorld, history: int
) -> tuple[StatementLog, int]:
    """A loan of 36 installments with `history` small repayments, then one more repayment
    dated after them, paying the rest of one installment and part of the next."""
    actor = world.admin_actor
    holder = await make_holder(session, world.centre)
    loan = await make_active_loan(
        session, actor, holder, world.product, term=36, disbursed_on=DISBURSED_ON, today=TODAY
    )
    for index in range(history):
        await repay(session, actor, loan, "7.50", DISBURSED_ON + timedelta(days=index), today=TODAY)
    await session.flush()
    paid_on = DISBURSED_ON + timedelta(days=history + 5)
    with statements_on(connection) as log:
        await repay(session, actor, loan, "400.00", paid_on, today=TODAY)
    new_rows = (
        await session.execute(
            select(func.count()).select_from(Allocation).where(Allocation.paid_on == paid_on)
        )
    ).scalar_one()
    return log, new_rows


async def test_a_forward_repayment_writes_only_what_it_changes(
    session: AsyncSession, connection: AsyncConnection, world: LoanWorld
) -> None:
    short, short_new_rows = await forward_repayment_log(session, connection, world, history=2)
    long, long_new_rows = await forward_repayment_log(session, connection, world, history=60)
    # It touches two installments in both cases: the rest of one and part of the next.
    assert short_new_rows == long_new_rows == 2
    for log in (short, long):
        assert "DELETE" not in log.verbs()
        assert log.rows_of("INSERT INTO ALLOCATIONS") == 2
        assert log.rows_of("UPDATE INSTALLMENTS") == 2
        assert log.rows_of("UPDATE LOANS") == 1
    # The same statements, one for one, whatever the length of the history.
    assert short.verbs() == long.verbs()
    assert [rows for _, rows in short.statements] == [rows for _, rows in long.statements]


async def test_a_backdated_repayment_rewrites_only_the_allocations_after_it(
    session: AsyncSession, connection: AsyncConnection, world: LoanWorld
) -> None:
    actor = world.admin_actor
    holder = await make_holder(session, world.centre)
    loan = await make_active_loan(
        session, actor, holder, world.product, term=36, disbursed_on=DISBURSED_ON, today=TODAY
    )
    for index in range(40):
        await repay(session, actor, loan, "5.00", DISBURSED_ON + timedelta(days=index), today=TODAY)
    await session.flush()
    columns = (
        Allocation.id,
        Allocation.transaction_id,
        Allocation.installment_id,
        Allocation.paid_on,
        Allocation.principal,
        Allocation.interest,
    )
    before = set(
        (await session.execute(select(*columns).where(Allocation.loan_id == loan.id))).all()
    )
    backdated_on = DISBURSED_ON + timedelta(days=36)
    # Dated the day of the 37th payment, after it: the last three are allocated again.
    with statements_on(connection) as log:
        await repay(session, actor, loan, "1.00", backdated_on, today=TODAY)
    after = set(
        (await session.execute(select(*columns).where(Allocation.loan_id == loan.id))).all()
    )
    untouched = {row for row in before if row.paid_on <= backdated_on}
    assert len(untouched) == 37 and untouched <= after
    assert sorted(row.paid_on for row in after - untouched) == [
        DISBURSED_ON + timedelta(days=day) for day in (36, 37, 38, 39)
    ]
    assert log.rows_of("INSERT INTO ALLOCATIONS") == 4
    assert log.verbs().count("DELETE") == 1
    await check_loan(session, await reload(session, loan.id))


@pytest.mark.parametrize("seed", [5, 88])
async def test_reads_from_stored_state_equal_the_replay_at_every_date(
    session: AsyncSession, world: LoanWorld, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loan's figures and schedule as of any date, read from the stored state (minus the
    allocations after the date), equal `ledger.position_as_of` and
    `ledger.installment_states_as_of` over a fresh replay; and reading replays nothing."""
    rng = random.Random(seed)
    actor = world.admin_actor
    loans: list[Loan] = []
    for _ in range(3):
        holder = await make_holder(session, world.centre)
        loans.append(
            await make_active_loan(
                session,
                actor,
                holder,
                world.product,
                principal=str(rng.randint(2000, 20000)),
                term=rng.randint(3, 18),
                disbursed_on=DISBURSED_ON + timedelta(days=rng.randint(0, 60)),
                today=TODAY,
            )
        )
    for _ in range(40):
        loan = rng.choice(loans)
        live = await live_payments(session, loan.id)
        status = (await reload(session, loan.id)).status
        if live and rng.random() < 0.2:
            reversed_id, _ = rng.choice(live)
            await repayments.reverse_transaction(
                session, actor, loan.id, reversed_id, reason="rejet", today=TODAY
            )
        elif status == LoanStatus.active:
            assert loan.disbursed_on is not None
            paid_on = loan.disbursed_on + timedelta(days=rng.randint(0, 500))
            remaining = await owed(session, loan.id)
            amount = min(remaining, Decimal(rng.randint(100, 300_000)) / 100)
            await repay(session, actor, loan, f"{amount:.2f}", min(paid_on, TODAY), today=TODAY)
    await session.flush()

    stored = [await reload(session, loan.id) for loan in loans]
    expected: dict[tuple[int, date], tuple[Any, Any]] = {}
    dates = [DISBURSED_ON - timedelta(days=1)] + [
        DISBURSED_ON + timedelta(days=day) for day in range(0, 900, 23)
    ]
    for loan in stored:
        installments = (
            (
                await session.execute(
                    select(Installment)
                    .where(Installment.loan_id == loan.id)
                    .order_by(Installment.seq)
                )
            )
            .scalars()
            .all()
        )
        dues = [
            ledger.InstallmentDue(i.seq, i.due_on, i.principal_due, i.interest_due)
            for i in installments
        ]
        payments = [
            ledger.Payment(payment_id, paid_on, amount)
            for payment_id, paid_on, amount in (
                await session.execute(
                    select(
                        LoanTransaction.id, LoanTransaction.effective_on, LoanTransaction.amount
                    ).where(
                        LoanTransaction.loan_id == loan.id,
                        LoanTransaction.kind == "repayment",
                        LoanTransaction.reversed.is_(False),
                    )
                )
            ).all()
        ]
        replayed = ledger.replay(dues, payments)
        ended_on = loan.closed_on if loan.status == LoanStatus.repaid else None
        for day in [*dates, TODAY]:
            expected[(loan.id, day)] = (
                ledger.position_as_of(
                    dues,
                    replayed.allocations,
                    day,
                    principal=loan.principal,
                    disbursed_on=loan.disbursed_on,
                    ended_on=ended_on,
                ),
                ledger.installment_states_as_of(dues, replayed.allocations, day),
            )

    def no_replay(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a read replayed the ledger")

    for name in ("replay", "allocate", "position_as_of", "installment_states_as_of"):
        monkeypatch.setattr(ledger, name, no_replay)
    for day in [*dates, TODAY]:
        positions = await reads.loan_positions(session, stored, day, TODAY)
        for loan in stored:
            position, states = expected[(loan.id, day)]
            assert positions[loan.id] == position, (loan.id, day)
            _, lines = await reads.loan_schedule(session, actor, loan.id, day, TODAY)
            assert [
                (line.seq, line.principal_paid, line.interest_paid, line.paid_off_on)
                for line in lines
            ] == [(s.seq, s.principal_paid, s.interest_paid, s.paid_off_on) for s in states], (
                loan.id,
                day,
            )
