from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.loans.ledger import (
    AgingBucket,
    Allocation,
    InstallmentDue,
    InstallmentState,
    InstallmentStatus,
    Payment,
    Position,
    aging_bucket,
    allocate,
    installment_states_as_of,
    installment_status,
    position_as_of,
    replay,
    rewind,
)
from app.loans.schedule import (
    Amortization,
    Frequency,
    InterestMethod,
    ScheduleTerms,
    generate_schedule,
)


def d(value: str) -> Decimal:
    return Decimal(value)


DISBURSED_ON = date(2025, 1, 1)
PRINCIPAL = d("300.00")

# Three monthly installments of 100.00 principal + 10.00 interest.
INSTALLMENTS = [
    InstallmentDue(
        seq=1, due_on=date(2025, 2, 1), principal_due=d("100.00"), interest_due=d("10.00")
    ),
    InstallmentDue(
        seq=2, due_on=date(2025, 3, 1), principal_due=d("100.00"), interest_due=d("10.00")
    ),
    InstallmentDue(
        seq=3, due_on=date(2025, 4, 1), principal_due=d("100.00"), interest_due=d("10.00")
    ),
]


def pay(payment_id: int, paid_on: date, amount: str) -> Payment:
    return Payment(id=payment_id, paid_on=paid_on, amount=d(amount))


def position(
    allocations: list[Allocation], as_of: date, *, ended_on: date | None = None
) -> Position:
    return position_as_of(
        INSTALLMENTS,
        allocations,
        as_of,
        principal=PRINCIPAL,
        disbursed_on=DISBURSED_ON,
        ended_on=ended_on,
    )


# --- replay ----------------------------------------------------------------------------------


def test_no_payments_leaves_everything_owed() -> None:
    result = replay(INSTALLMENTS, [])
    assert result.allocations == []
    assert result.closed_on is None
    assert result.portions == {}
    assert result.amount_owed == d("330.00")
    assert all(state.paid_off_on is None for state in result.installments)


def test_interest_is_paid_before_principal() -> None:
    result = replay(INSTALLMENTS, [pay(1, date(2025, 2, 1), "15.00")])
    assert result.allocations == [
        Allocation(
            payment_id=1, seq=1, paid_on=date(2025, 2, 1), principal=d("5.00"), interest=d("10.00")
        )
    ]
    first = result.installments[0]
    assert (first.interest_paid, first.principal_paid) == (d("10.00"), d("5.00"))
    assert first.paid_off_on is None
    assert not first.is_fully_paid
    assert result.portions == {1: (d("5.00"), d("10.00"))}


def test_payment_below_interest_pays_interest_only() -> None:
    result = replay(INSTALLMENTS, [pay(1, date(2025, 2, 1), "4.00")])
    assert result.allocations[0].interest == d("4.00")
    assert result.allocations[0].principal == d("0.00")


def test_oldest_installment_is_paid_first_and_surplus_pays_the_next_early() -> None:
    result = replay(
        INSTALLMENTS,
        [pay(1, date(2025, 2, 1), "50.00"), pay(2, date(2025, 2, 20), "100.00")],
    )
    assert result.allocations == [
        Allocation(1, 1, date(2025, 2, 1), principal=d("40.00"), interest=d("10.00")),
        Allocation(2, 1, date(2025, 2, 20), principal=d("60.00"), interest=d("0.00")),
        Allocation(2, 2, date(2025, 2, 20), principal=d("30.00"), interest=d("10.00")),
    ]
    first, second, third = result.installments
    assert first.paid_off_on == date(2025, 2, 20)
    assert second.paid_off_on is None
    assert second.remaining == d("70.00")
    assert third.paid == d("0.00")
    assert result.portions == {1: (d("40.00"), d("10.00")), 2: (d("90.00"), d("10.00"))}
    assert result.amount_owed == d("180.00")


def test_paid_off_on_and_closed_on() -> None:
    result = replay(
        INSTALLMENTS,
        [
            pay(1, date(2025, 2, 1), "110.00"),
            pay(2, date(2025, 3, 5), "150.00"),
            pay(3, date(2025, 3, 28), "70.00"),
        ],
    )
    assert [state.paid_off_on for state in result.installments] == [
        date(2025, 2, 1),
        date(2025, 3, 5),
        date(2025, 3, 28),
    ]
    assert result.closed_on == date(2025, 3, 28)
    assert result.amount_owed == d("0.00")
    assert all(state.is_fully_paid for state in result.installments)


def test_one_payment_can_repay_the_whole_loan() -> None:
    result = replay(INSTALLMENTS, [pay(7, date(2025, 1, 20), "330.00")])
    assert result.closed_on == date(2025, 1, 20)
    assert [a.seq for a in result.allocations] == [1, 2, 3]
    assert result.portions == {7: (d("300.00"), d("30.00"))}


def test_overpayment_is_refused_with_the_amount_owed() -> None:
    payments = [pay(1, date(2025, 2, 1), "100.00"), pay(2, date(2025, 3, 1), "230.01")]
    with pytest.raises(ValueError, match=r"payment 2 of 230\.01 exceeds the 230\.00 still owed"):
        replay(INSTALLMENTS, payments)


def test_payment_after_closing_is_an_overpayment() -> None:
    payments = [pay(1, date(2025, 2, 1), "330.00"), pay(2, date(2025, 3, 1), "0.01")]
    with pytest.raises(ValueError, match=r"exceeds the 0\.00 still owed"):
        replay(INSTALLMENTS, payments)


def test_overpayment_is_judged_in_replay_order() -> None:
    # Entered first but dated later: the backdated payment is applied before it.
    payments = [pay(1, date(2025, 3, 1), "300.00"), pay(2, date(2025, 2, 1), "30.01")]
    with pytest.raises(ValueError, match=r"payment 1 of 300\.00 exceeds the 299\.99 still owed"):
        replay(INSTALLMENTS, payments)


def test_amount_owed() -> None:
    assert replay(INSTALLMENTS, []).amount_owed == d("330.00")
    assert replay(INSTALLMENTS, [pay(1, date(2025, 2, 1), "45.50")]).amount_owed == d("284.50")


@pytest.mark.parametrize("amount", ["0.00", "-1.00"])
def test_non_positive_payment_is_rejected(amount: str) -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        replay(INSTALLMENTS, [pay(1, date(2025, 2, 1), amount)])


def test_duplicate_payment_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match="unique"):
        replay(INSTALLMENTS, [pay(1, date(2025, 2, 1), "1.00"), pay(1, date(2025, 2, 2), "1.00")])


def test_duplicate_installment_seqs_are_rejected() -> None:
    with pytest.raises(ValueError, match="unique"):
        replay([INSTALLMENTS[0], INSTALLMENTS[0]], [])


def test_installments_are_taken_in_seq_order_whatever_the_input_order() -> None:
    payments = [pay(1, date(2025, 2, 1), "150.00")]
    assert replay(list(reversed(INSTALLMENTS)), payments) == replay(INSTALLMENTS, payments)


def test_backdated_payment_is_replayed_in_date_order() -> None:
    later = pay(1, date(2025, 3, 1), "110.00")
    backdated = pay(2, date(2025, 2, 1), "50.00")
    result = replay(INSTALLMENTS, [later, backdated])
    assert result.allocations == [
        Allocation(2, 1, date(2025, 2, 1), principal=d("40.00"), interest=d("10.00")),
        Allocation(1, 1, date(2025, 3, 1), principal=d("60.00"), interest=d("0.00")),
        Allocation(1, 2, date(2025, 3, 1), principal=d("40.00"), interest=d("10.00")),
    ]
    # The earlier payment's split changed because a backdated one came before it.
    assert result.portions[1] == (d("100.00"), d("10.00"))
    assert result.installments[0].paid_off_on == date(2025, 3, 1)


def test_same_day_payments_are_replayed_by_id() -> None:
    result = replay(
        INSTALLMENTS, [pay(9, date(2025, 2, 1), "20.00"), pay(3, date(2025, 2, 1), "5.00")]
    )
    assert [(a.payment_id, a.interest, a.principal) for a in result.allocations] == [
        (3, d("5.00"), d("0.00")),
        (9, d("5.00"), d("15.00")),
    ]


def test_zero_due_installment_is_paid_from_the_start() -> None:
    grace = InstallmentDue(
        seq=1, due_on=date(2025, 2, 1), principal_due=d("0.00"), interest_due=d("0.00")
    )
    rest = InstallmentDue(
        seq=2, due_on=date(2025, 3, 1), principal_due=d("50.00"), interest_due=d("0.00")
    )
    result = replay([grace, rest], [pay(1, date(2025, 1, 20), "50.00")])
    assert [a.seq for a in result.allocations] == [2]
    assert [s.paid_off_on for s in result.installments] == [date(2025, 2, 1), date(2025, 1, 20)]
    assert result.closed_on == date(2025, 1, 20)
    as_of = date(2025, 2, 15)
    status_states = installment_states_as_of([grace, rest], [], as_of)
    assert installment_status(status_states[0], as_of) is InstallmentStatus.PAID
    figures = position_as_of(
        [grace, rest], [], as_of, principal=d("50.00"), disbursed_on=DISBURSED_ON, ended_on=None
    )
    assert (figures.days_past_due, figures.next_due_on) == (0, date(2025, 3, 1))


# --- replay properties -----------------------------------------------------------------------


@st.composite
def loans_with_payments(draw: st.DrawFn) -> tuple[list[InstallmentDue], list[Payment]]:
    term = draw(st.integers(min_value=1, max_value=12))
    terms = ScheduleTerms(
        principal=Decimal(draw(st.integers(min_value=10_000, max_value=2_000_000))) / 100,
        annual_rate=Decimal(draw(st.integers(min_value=0, max_value=10_000))) / 100,
        term=term,
        frequency=draw(st.sampled_from(list(Frequency))),
        interest_method=draw(st.sampled_from(list(InterestMethod))),
        amortization=draw(st.sampled_from(list(Amortization))),
        grace_periods=draw(st.integers(min_value=0, max_value=term - 1)),
        disbursed_on=DISBURSED_ON,
    )
    installments = [
        InstallmentDue(i.seq, i.due_on, i.principal_due, i.interest_due)
        for i in generate_schedule(terms)
    ]
    owed_centimes = int(sum(i.total_due for i in installments) * 100)
    amounts = draw(st.lists(st.integers(min_value=1, max_value=owed_centimes), max_size=8))
    payments: list[Payment] = []
    paid = 0
    for payment_id, centimes in enumerate(amounts, start=1):
        if paid + centimes > owed_centimes:
            centimes = owed_centimes - paid
        if centimes == 0:
            break
        paid += centimes
        offset = draw(st.integers(min_value=0, max_value=400))
        payments.append(
            Payment(payment_id, DISBURSED_ON + timedelta(days=offset), Decimal(centimes) / 100)
        )
    return installments, payments


@settings(max_examples=200, deadline=None)
@given(case=loans_with_payments(), data=st.data())
def test_replay_is_independent_of_insertion_order(
    case: tuple[list[InstallmentDue], list[Payment]], data: st.DataObject
) -> None:
    installments, payments = case
    shuffled = data.draw(st.permutations(payments))
    assert replay(installments, shuffled) == replay(installments, payments)


@settings(max_examples=200, deadline=None)
@given(case=loans_with_payments())
def test_allocations_add_up(case: tuple[list[InstallmentDue], list[Payment]]) -> None:
    installments, payments = case
    result = replay(installments, payments)
    total_paid = sum((p.amount for p in payments), Decimal(0))
    assert sum((a.amount for a in result.allocations), Decimal(0)) == total_paid
    for payment in payments:
        principal, interest = result.portions[payment.id]
        assert principal + interest == payment.amount
        assert principal == sum(
            (a.principal for a in result.allocations if a.payment_id == payment.id), Decimal(0)
        )
    for allocation in result.allocations:
        assert allocation.principal >= 0
        assert allocation.interest >= 0
        assert allocation.amount > 0
    for state in result.installments:
        assert 0 <= state.interest_paid <= state.interest_due
        assert 0 <= state.principal_paid <= state.principal_due
    total_due = sum((i.total_due for i in installments), Decimal(0))
    assert result.amount_owed == total_due - total_paid
    assert (result.closed_on is not None) == (result.amount_owed == 0 and bool(payments))
    # Oldest first: an installment is touched only once every earlier one is fully paid.
    unpaid_seqs = [s.seq for s in result.installments if not s.is_fully_paid]
    if unpaid_seqs:
        first_unpaid = unpaid_seqs[0]
        assert all(s.paid == 0 for s in result.installments if s.seq > first_unpaid)


@settings(max_examples=100, deadline=None)
@given(case=loans_with_payments(), days=st.integers(min_value=-10, max_value=420))
def test_states_as_of_agree_with_replaying_payments_made_by_then(
    case: tuple[list[InstallmentDue], list[Payment]], days: int
) -> None:
    installments, payments = case
    as_of = DISBURSED_ON + timedelta(days=days)
    allocations = replay(installments, payments).allocations
    counted = [p for p in payments if p.paid_on <= as_of]
    assert installment_states_as_of(installments, allocations, as_of) == (
        replay(installments, counted).installments
    )
    figures = position_as_of(
        installments,
        allocations,
        as_of,
        principal=sum((i.principal_due for i in installments), Decimal(0)),
        disbursed_on=DISBURSED_ON,
        ended_on=None,
    )
    states = replay(installments, counted).installments
    if days >= 0:
        assert figures.outstanding_principal == sum(
            (s.principal_remaining for s in states), Decimal(0)
        )
    assert (
        0
        <= figures.arrears_amount
        <= figures.outstanding_principal + sum((s.interest_remaining for s in states), Decimal(0))
    )
    assert (figures.days_past_due > 0) == (figures.arrears_amount > 0)


# --- as-of states and status -----------------------------------------------------------------


def allocations_for(*payments: Payment) -> list[Allocation]:
    return replay(INSTALLMENTS, payments).allocations


def test_states_as_of_ignore_later_payments() -> None:
    allocations = allocations_for(
        pay(1, date(2025, 2, 1), "110.00"), pay(2, date(2025, 2, 10), "20.00")
    )
    before = installment_states_as_of(INSTALLMENTS, allocations, date(2025, 1, 31))
    assert all(state.paid == 0 and state.paid_off_on is None for state in before)
    on_day = installment_states_as_of(INSTALLMENTS, allocations, date(2025, 2, 1))
    assert on_day[0].paid_off_on == date(2025, 2, 1)
    assert on_day[1].paid == 0
    later = installment_states_as_of(INSTALLMENTS, allocations, date(2025, 2, 10))
    assert later[1].interest_paid == d("10.00")
    assert later[1].principal_paid == d("10.00")


def test_states_as_of_reject_unknown_installment() -> None:
    stray = Allocation(1, 99, date(2025, 2, 1), principal=d("1.00"), interest=d("0.00"))
    with pytest.raises(ValueError, match="99"):
        installment_states_as_of(INSTALLMENTS, [stray], date(2025, 2, 1))


def status_of(seq: int, allocations: list[Allocation], as_of: date) -> InstallmentStatus:
    states = installment_states_as_of(INSTALLMENTS, allocations, as_of)
    return installment_status(states[seq - 1], as_of)


def test_installment_status() -> None:
    allocations = allocations_for(
        pay(1, date(2025, 2, 1), "110.00"), pay(2, date(2025, 2, 15), "5.00")
    )
    as_of = date(2025, 2, 20)
    assert status_of(1, allocations, as_of) == "paid"
    assert status_of(2, allocations, as_of) == "partially_paid"
    assert status_of(3, allocations, as_of) == "due"
    later = date(2025, 3, 2)
    assert status_of(2, allocations, later) is InstallmentStatus.OVERDUE  # even though partly paid
    assert status_of(3, allocations, later) is InstallmentStatus.DUE


def test_installment_due_on_d_is_not_overdue() -> None:
    assert status_of(1, [], date(2025, 2, 1)) is InstallmentStatus.DUE
    assert status_of(1, [], date(2025, 2, 2)) is InstallmentStatus.OVERDUE


def test_state_properties() -> None:
    state = InstallmentState(
        seq=1,
        due_on=date(2025, 2, 1),
        principal_due=d("100.00"),
        interest_due=d("10.00"),
        principal_paid=d("20.00"),
        interest_paid=d("10.00"),
        paid_off_on=None,
    )
    assert state.total_due == d("110.00")
    assert state.paid == d("30.00")
    assert state.remaining == d("80.00")
    assert not state.is_fully_paid


# --- position as of D ------------------------------------------------------------------------


def test_position_before_first_due_date() -> None:
    figures = position([], date(2025, 1, 15))
    assert figures == Position(
        outstanding_principal=d("300.00"),
        arrears_amount=d("0.00"),
        days_past_due=0,
        next_due_on=date(2025, 2, 1),
        next_due_amount=d("110.00"),
        principal_repaid=d("0.00"),
        interest_repaid=d("0.00"),
    )


def test_position_days_past_due_and_arrears() -> None:
    allocations = allocations_for(pay(1, date(2025, 2, 10), "30.00"))
    figures = position(allocations, date(2025, 3, 11))
    # Installment 1 (due 2025-02-01) has 80.00 left, installment 2 (due 2025-03-01) 110.00.
    assert figures.days_past_due == 38
    assert figures.arrears_amount == d("190.00")
    assert figures.outstanding_principal == d("280.00")
    assert (figures.principal_repaid, figures.interest_repaid) == (d("20.00"), d("10.00"))
    assert (figures.next_due_on, figures.next_due_amount) == (date(2025, 4, 1), d("110.00"))


def test_position_due_on_d_is_not_overdue_but_is_next_due() -> None:
    figures = position([], date(2025, 2, 1))
    assert (figures.days_past_due, figures.arrears_amount) == (0, d("0.00"))
    assert (figures.next_due_on, figures.next_due_amount) == (date(2025, 2, 1), d("110.00"))
    day_after = position([], date(2025, 2, 2))
    assert (day_after.days_past_due, day_after.arrears_amount) == (1, d("110.00"))
    assert day_after.next_due_on == date(2025, 3, 1)


def test_position_payment_on_d_counts() -> None:
    allocations = allocations_for(pay(1, date(2025, 2, 5), "110.00"))
    on_day = position(allocations, date(2025, 2, 5))
    assert (on_day.days_past_due, on_day.arrears_amount) == (0, d("0.00"))
    assert on_day.outstanding_principal == d("200.00")
    day_before = position(allocations, date(2025, 2, 4))
    assert (day_before.days_past_due, day_before.arrears_amount) == (3, d("110.00"))
    assert day_before.outstanding_principal == d("300.00")


def test_position_next_due_amount_is_the_unpaid_remainder() -> None:
    allocations = allocations_for(pay(1, date(2025, 2, 1), "150.00"))
    figures = position(allocations, date(2025, 2, 10))
    assert (figures.next_due_on, figures.next_due_amount) == (date(2025, 3, 1), d("70.00"))


def test_position_early_paid_installment_is_skipped_for_next_due() -> None:
    allocations = allocations_for(pay(1, date(2025, 1, 20), "220.00"))
    figures = position(allocations, date(2025, 1, 25))
    assert (figures.next_due_on, figures.next_due_amount) == (date(2025, 4, 1), d("110.00"))


def test_position_before_disbursement_is_zero() -> None:
    for disbursed_on in (None, date(2025, 1, 10)):
        figures = position_as_of(
            INSTALLMENTS,
            [],
            date(2025, 1, 9),
            principal=PRINCIPAL,
            disbursed_on=disbursed_on,
            ended_on=None,
        )
        assert figures == Position(d("0.00"), d("0.00"), 0, None, None, d("0.00"), d("0.00"))
    on_disbursement = position_as_of(
        INSTALLMENTS,
        [],
        date(2025, 1, 10),
        principal=PRINCIPAL,
        disbursed_on=date(2025, 1, 10),
        ended_on=None,
    )
    assert on_disbursement.outstanding_principal == PRINCIPAL


def test_position_from_write_off_on_is_zero() -> None:
    allocations = allocations_for(pay(1, date(2025, 2, 1), "50.00"))
    written_off_on = date(2025, 6, 1)
    before = position(allocations, date(2025, 5, 31), ended_on=written_off_on)
    assert before.outstanding_principal == d("260.00")
    assert before.days_past_due == 119
    on_day = position(allocations, written_off_on, ended_on=written_off_on)
    assert on_day == Position(d("0.00"), d("0.00"), 0, None, None, d("40.00"), d("10.00"))
    assert position(allocations, date(2026, 1, 1), ended_on=written_off_on).days_past_due == 0


def test_position_after_full_repayment_is_zero() -> None:
    result = replay(INSTALLMENTS, [pay(1, date(2025, 3, 10), "330.00")])
    figures = position(result.allocations, date(2025, 3, 10), ended_on=result.closed_on)
    assert figures == Position(d("0.00"), d("0.00"), 0, None, None, d("300.00"), d("30.00"))
    before = position(result.allocations, date(2025, 3, 9), ended_on=result.closed_on)
    assert before.days_past_due == 36


# --- aging buckets ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (0, "current"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "91-180"),
        (180, "91-180"),
        (181, "181-365"),
        (365, "181-365"),
        (366, "366+"),
        (5000, "366+"),
    ],
)
def test_aging_bucket_boundaries(days: int, bucket: str) -> None:
    assert aging_bucket(days) == bucket


def test_aging_buckets_are_in_report_order() -> None:
    assert [b.value for b in AgingBucket] == [
        "current",
        "1-30",
        "31-60",
        "61-90",
        "91-180",
        "181-365",
        "366+",
    ]


def test_negative_days_past_due_is_rejected() -> None:
    with pytest.raises(ValueError):
        aging_bucket(-1)


# --- allocating forward from a stored state ---------------------------------------------------


def replay_order(payment: Payment) -> tuple[date, int]:
    return (payment.paid_on, payment.id)


@settings(max_examples=300, deadline=None)
@given(case=loans_with_payments(), data=st.data())
def test_allocating_from_a_rewound_state_equals_the_full_replay(
    case: tuple[list[InstallmentDue], list[Payment]], data: st.DataObject
) -> None:
    """From any point of the replay order: today's state minus the allocations from that
    point on is the state a replay of the earlier payments reaches, and allocating the later
    payments from it gives the full replay's states, allocations, portions and closing date.
    This is what a backdated repayment does (and a forward one, from the end)."""
    installments, payments = case
    ordered = sorted(payments, key=replay_order)
    cut = data.draw(st.integers(min_value=0, max_value=len(ordered)))
    earlier, later = ordered[:cut], ordered[cut:]
    full = replay(installments, payments)
    later_ids = {p.id for p in later}
    start = rewind(full.installments, [a for a in full.allocations if a.payment_id in later_ids])
    assert start == replay(installments, earlier).installments
    resumed = allocate(start, later)
    assert resumed.installments == full.installments
    assert resumed.allocations == [a for a in full.allocations if a.payment_id in later_ids]
    assert resumed.portions == {p.id: full.portions[p.id] for p in later}
    closed_by_earlier = replay(installments, earlier).closed_on
    assert resumed.closed_on == (None if closed_by_earlier else full.closed_on)


@settings(max_examples=300, deadline=None)
@given(case=loans_with_payments(), data=st.data())
def test_a_reversal_replayed_from_its_date_equals_the_full_replay_without_it(
    case: tuple[list[InstallmentDue], list[Payment]], data: st.DataObject
) -> None:
    installments, payments = case
    if not payments:
        return
    reversed_payment = data.draw(st.sampled_from(payments))
    full = replay(installments, payments)
    boundary = replay_order(reversed_payment)
    from_boundary = {p.id for p in payments if replay_order(p) >= boundary}
    start = rewind(
        full.installments, [a for a in full.allocations if a.payment_id in from_boundary]
    )
    remaining = [p for p in payments if p.id in from_boundary and p.id != reversed_payment.id]
    resumed = allocate(start, remaining)
    without = replay(installments, [p for p in payments if p.id != reversed_payment.id])
    assert resumed.installments == without.installments
    assert resumed.closed_on == without.closed_on
    assert resumed.portions == {p.id: without.portions[p.id] for p in remaining}


def test_allocate_does_not_change_the_states_it_starts_from() -> None:
    start = replay(INSTALLMENTS, [pay(1, date(2025, 2, 1), "50.00")]).installments
    snapshot = [replace(state) for state in start]
    allocate(start, [pay(2, date(2025, 3, 1), "100.00")])
    assert start == snapshot


def test_rewind_refuses_allocations_that_were_never_made() -> None:
    start = replay(INSTALLMENTS, [pay(1, date(2025, 2, 1), "50.00")]).installments
    with pytest.raises(ValueError, match="negative amount paid"):
        rewind(start, [Allocation(2, 1, date(2025, 3, 1), d("45.00"), d("10.00"))])
    with pytest.raises(ValueError, match="unknown installment"):
        rewind(start, [Allocation(2, 9, date(2025, 3, 1), d("1.00"), d("0.00"))])
