"""Payment allocation and as-of loan figures (pure: standard library only).

Implements docs/ARITHMETIC.md, "Payments": the split of
repayments into principal and interest is the deterministic replay of all
non-reversed repayments in (paid_on, id) order, and every as-of figure is
derived from installments plus dated allocations.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

__all__ = [
    "AgingBucket",
    "Allocation",
    "InstallmentDue",
    "InstallmentState",
    "InstallmentStatus",
    "LedgerResult",
    "Payment",
    "Position",
    "aging_bucket",
    "allocate",
    "installment_states_as_of",
    "installment_status",
    "position_as_of",
    "position_of_open_installments",
    "replay",
    "rewind",
]

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class InstallmentDue:
    seq: int
    due_on: date
    principal_due: Decimal
    interest_due: Decimal

    @property
    def total_due(self) -> Decimal:
        return self.principal_due + self.interest_due


@dataclass(frozen=True)
class Payment:
    """A non-reversed repayment."""

    id: int
    paid_on: date
    amount: Decimal


@dataclass(frozen=True)
class Allocation:
    """The part of one payment applied to one installment."""

    payment_id: int
    seq: int
    paid_on: date
    principal: Decimal
    interest: Decimal

    @property
    def amount(self) -> Decimal:
        return self.principal + self.interest


@dataclass
class InstallmentState:
    """An installment with what has been paid on it.

    ``paid_off_on`` is the date of the payment that completed it; an
    installment with nothing due is fully paid from the start and carries its
    own ``due_on`` there, so that it is never overdue in any query that reads
    ``paid_off_on``.
    """

    seq: int
    due_on: date
    principal_due: Decimal
    interest_due: Decimal
    principal_paid: Decimal = ZERO
    interest_paid: Decimal = ZERO
    paid_off_on: date | None = None

    @classmethod
    def unpaid(cls, installment: InstallmentDue) -> "InstallmentState":
        return cls(
            seq=installment.seq,
            due_on=installment.due_on,
            principal_due=installment.principal_due,
            interest_due=installment.interest_due,
            paid_off_on=installment.due_on if installment.total_due == 0 else None,
        )

    @property
    def total_due(self) -> Decimal:
        return self.principal_due + self.interest_due

    @property
    def paid(self) -> Decimal:
        return self.principal_paid + self.interest_paid

    @property
    def principal_remaining(self) -> Decimal:
        return self.principal_due - self.principal_paid

    @property
    def interest_remaining(self) -> Decimal:
        return self.interest_due - self.interest_paid

    @property
    def remaining(self) -> Decimal:
        return self.total_due - self.paid

    @property
    def is_fully_paid(self) -> bool:
        return self.remaining <= 0


@dataclass(frozen=True)
class LedgerResult:
    """The state after replaying every payment.

    ``allocations`` are in replay order, then installment order; ``portions``
    maps each payment id to its (principal, interest) split; ``closed_on`` is
    the date of the payment after which every installment is fully paid.
    """

    installments: list[InstallmentState]
    allocations: list[Allocation]
    closed_on: date | None
    portions: dict[int, tuple[Decimal, Decimal]]

    @property
    def amount_owed(self) -> Decimal:
        return sum((state.remaining for state in self.installments), ZERO)


def _ordered_installments(installments: Iterable[InstallmentDue]) -> list[InstallmentDue]:
    ordered = sorted(installments, key=lambda installment: installment.seq)
    seqs = [installment.seq for installment in ordered]
    if len(set(seqs)) != len(seqs):
        raise ValueError(f"installment seqs must be unique, got {seqs}")
    for installment in ordered:
        if installment.principal_due < 0 or installment.interest_due < 0:
            raise ValueError(f"installment {installment.seq} has a negative amount due")
    return ordered


def replay(installments: Sequence[InstallmentDue], payments: Iterable[Payment]) -> LedgerResult:
    """Allocate ``payments`` to ``installments``, from scratch: ``allocate`` from
    installments with nothing paid.

    Payments are applied in (paid_on, id) order, whatever order they are
    given in. Each pays installments in seq order, oldest unpaid first, and
    within an installment interest before principal; what is left pays the
    following installments early (no interest is recalculated).

    Raises ``ValueError`` when a payment is larger than the total still owed
    at that point of the replay (callers refuse such a payment before), for a
    non-positive payment and for a repeated payment id.
    """
    return allocate(
        [
            InstallmentState.unpaid(installment)
            for installment in _ordered_installments(installments)
        ],
        payments,
    )


def allocate(states: Sequence[InstallmentState], payments: Iterable[Payment]) -> LedgerResult:
    """Apply ``payments`` on top of ``states`` (what had been paid on each installment
    before the first of them), as ``replay`` would from that point on.

    ``states`` are not changed: the result holds updated copies of every installment, the
    allocations of these payments only, their portions, and ``closed_on``, the date of the
    payment among them after which every installment is fully paid (None when none is).
    Allocating forward from the state a replay reached gives exactly what replaying
    everything would (the allocation of a payment reads nothing but that state).
    """
    states = [replace(state) for state in sorted(states, key=lambda state: state.seq)]
    seqs = [state.seq for state in states]
    if len(set(seqs)) != len(seqs):
        raise ValueError(f"installment seqs must be unique, got {seqs}")
    ordered_payments = sorted(payments, key=lambda payment: (payment.paid_on, payment.id))
    payment_ids = [payment.id for payment in ordered_payments]
    if len(set(payment_ids)) != len(payment_ids):
        raise ValueError("payment ids must be unique")

    owed = sum((state.remaining for state in states), ZERO)
    allocations: list[Allocation] = []
    portions: dict[int, tuple[Decimal, Decimal]] = {}
    closed_on: date | None = None
    first_open = 0  # index of the oldest installment not yet fully paid
    while first_open < len(states) and states[first_open].is_fully_paid:
        first_open += 1
    for payment in ordered_payments:
        if payment.amount <= 0:
            raise ValueError(f"payment {payment.id} amount must be > 0, got {payment.amount}")
        if payment.amount > owed:
            raise ValueError(
                f"payment {payment.id} of {payment.amount} exceeds the {owed} still owed"
            )
        left = payment.amount
        payment_principal = payment_interest = ZERO
        index = first_open
        while left > 0:
            state = states[index]
            interest = min(left, state.interest_remaining)
            left -= interest
            principal = min(left, state.principal_remaining)
            left -= principal
            if interest > 0 or principal > 0:
                state.interest_paid += interest
                state.principal_paid += principal
                payment_interest += interest
                payment_principal += principal
                allocations.append(
                    Allocation(
                        payment_id=payment.id,
                        seq=state.seq,
                        paid_on=payment.paid_on,
                        principal=principal,
                        interest=interest,
                    )
                )
                if state.is_fully_paid:
                    state.paid_off_on = payment.paid_on
            if state.is_fully_paid:
                index += 1
        while first_open < len(states) and states[first_open].is_fully_paid:
            first_open += 1
        owed -= payment.amount
        portions[payment.id] = (payment_principal, payment_interest)
        if first_open == len(states) and closed_on is None:
            closed_on = payment.paid_on
    return LedgerResult(
        installments=states, allocations=allocations, closed_on=closed_on, portions=portions
    )


def rewind(
    states: Sequence[InstallmentState], allocations: Iterable[Allocation]
) -> list[InstallmentState]:
    """The installments (in seq order) as they were before ``allocations`` were made.

    ``allocations`` must be every allocation of the payments from some point of the replay
    order on (e.g. all those dated after a day): their amounts are taken off, and an
    installment no longer fully paid has no ``paid_off_on`` (one with nothing due keeps its
    ``due_on``). ``states`` are not changed.
    """
    rewound = {state.seq: replace(state) for state in states}
    for allocation in allocations:
        state = rewound.get(allocation.seq)
        if state is None:
            raise ValueError(f"allocation to unknown installment {allocation.seq}")
        state.principal_paid -= allocation.principal
        state.interest_paid -= allocation.interest
        if state.principal_paid < 0 or state.interest_paid < 0:
            raise ValueError(f"installment {allocation.seq} would have a negative amount paid")
    for state in rewound.values():
        if state.total_due > 0 and not state.is_fully_paid:
            state.paid_off_on = None
    return [rewound[seq] for seq in sorted(rewound)]


def installment_states_as_of(
    installments: Sequence[InstallmentDue], allocations: Iterable[Allocation], as_of: date
) -> list[InstallmentState]:
    """Installments (in seq order) with the allocations paid on or before ``as_of`` summed in.

    ``paid_off_on`` is the latest counted allocation's date when the
    installment is fully paid by ``as_of``, else None (an installment with
    nothing due keeps its ``due_on``, as in ``replay``).
    """
    states = [
        InstallmentState.unpaid(installment) for installment in _ordered_installments(installments)
    ]
    by_seq = {state.seq: state for state in states}
    last_paid_on: dict[int, date] = {}
    for allocation in allocations:
        state = by_seq.get(allocation.seq)
        if state is None:
            raise ValueError(f"allocation to unknown installment {allocation.seq}")
        if allocation.paid_on > as_of:
            continue
        state.principal_paid += allocation.principal
        state.interest_paid += allocation.interest
        previous = last_paid_on.get(allocation.seq)
        if previous is None or allocation.paid_on > previous:
            last_paid_on[allocation.seq] = allocation.paid_on
    for state in states:
        if state.total_due > 0 and state.is_fully_paid:
            state.paid_off_on = last_paid_on[state.seq]
    return states


class InstallmentStatus(StrEnum):
    PAID = "paid"
    OVERDUE = "overdue"
    PARTIALLY_PAID = "partially_paid"
    DUE = "due"


def installment_status(state: InstallmentState, as_of: date) -> InstallmentStatus:
    """Status of an installment as of D, from its state as of D.

    ``paid`` when fully paid by D; otherwise ``overdue`` when due before D
    (even if partly paid); otherwise ``partially_paid`` when something is
    paid, else ``due``.
    """
    if state.is_fully_paid:
        return InstallmentStatus.PAID
    if state.due_on < as_of:
        return InstallmentStatus.OVERDUE
    if state.paid > 0:
        return InstallmentStatus.PARTIALLY_PAID
    return InstallmentStatus.DUE


@dataclass(frozen=True)
class Position:
    """A loan's figures as of a date; see ``position_as_of``."""

    outstanding_principal: Decimal
    arrears_amount: Decimal
    days_past_due: int
    next_due_on: date | None
    next_due_amount: Decimal | None
    principal_repaid: Decimal
    interest_repaid: Decimal


def unpaid_due_before(states: Iterable[InstallmentState], before: date | None) -> Decimal:
    """What the installments due before ``before`` still owe: the sum of principal plus
    interest due minus paid over those installments (fully paid ones owe 0). 0 when
    ``before`` is None. With the states as of today and ``before`` on or before today, this
    is the part of today's arrears that the loan row keeps as ``overdue_amount``."""
    if before is None:
        return ZERO
    return sum((state.remaining for state in states if state.due_on < before), ZERO)


def position_as_of(
    installments: Sequence[InstallmentDue],
    allocations: Iterable[Allocation],
    as_of: date,
    *,
    principal: Decimal,
    disbursed_on: date | None,
    ended_on: date | None,
) -> Position:
    """A loan's figures as of D (allocations count when paid_on <= D).

    ``ended_on`` is the write-off date or the full repayment date. Before
    disbursement (``disbursed_on`` None or after D) and from ``ended_on`` on
    (``ended_on`` <= D) the loan is not outstanding: outstanding principal,
    arrears and days past due are 0 and there is no next due. Otherwise:

    - outstanding_principal = principal - principal repaid by D;
    - an installment is overdue if due before D and not fully paid by D;
    - days_past_due = D - due_on of the oldest overdue installment, else 0;
    - arrears_amount = unpaid principal + interest of overdue installments;
    - next_due_on = due date of the first installment due on or after D not
      fully paid by D, next_due_amount its unpaid remainder (None if none).

    ``principal_repaid`` and ``interest_repaid`` are the sums repaid by D in
    every case.
    """
    states = installment_states_as_of(installments, allocations, as_of)
    principal_repaid = sum((state.principal_paid for state in states), ZERO)
    interest_repaid = sum((state.interest_paid for state in states), ZERO)
    not_disbursed = disbursed_on is None or disbursed_on > as_of
    has_ended = ended_on is not None and ended_on <= as_of
    return position_of_open_installments(
        None if not_disbursed or has_ended else states,
        as_of,
        principal=principal,
        principal_repaid=principal_repaid,
        interest_repaid=interest_repaid,
    )


def position_of_open_installments(
    open_states: Sequence[InstallmentState] | None,
    as_of: date,
    *,
    principal: Decimal,
    principal_repaid: Decimal,
    interest_repaid: Decimal,
) -> Position:
    """``position_as_of`` from what is kept: the states at D of the installments not fully
    paid at D (None when the loan is not outstanding at D: not yet disbursed, or repaid or
    written off on or before D) and the sums repaid by D.

    Fully paid installments owe nothing and are never overdue or next due, so these give
    every figure: outstanding principal = principal - principal repaid; arrears, days past
    due and the next due as in ``position_as_of``.
    """
    if open_states is None:
        return Position(
            outstanding_principal=ZERO,
            arrears_amount=ZERO,
            days_past_due=0,
            next_due_on=None,
            next_due_amount=None,
            principal_repaid=principal_repaid,
            interest_repaid=interest_repaid,
        )
    unpaid = [state for state in open_states if not state.is_fully_paid]
    overdue = [state for state in unpaid if state.due_on < as_of]
    upcoming = [state for state in unpaid if state.due_on >= as_of]
    oldest_overdue_on = min((state.due_on for state in overdue), default=None)
    next_due = min(upcoming, key=lambda state: (state.due_on, state.seq), default=None)
    return Position(
        outstanding_principal=principal - principal_repaid,
        arrears_amount=sum((state.remaining for state in overdue), ZERO),
        days_past_due=0 if oldest_overdue_on is None else (as_of - oldest_overdue_on).days,
        next_due_on=None if next_due is None else next_due.due_on,
        next_due_amount=None if next_due is None else next_due.remaining,
        principal_repaid=principal_repaid,
        interest_repaid=interest_repaid,
    )


class AgingBucket(StrEnum):
    """Days-past-due buckets, in report order."""

    CURRENT = "current"
    DAYS_1_30 = "1-30"
    DAYS_31_60 = "31-60"
    DAYS_61_90 = "61-90"
    DAYS_91_180 = "91-180"
    DAYS_181_365 = "181-365"
    DAYS_366_PLUS = "366+"


_BUCKET_UPPER_BOUNDS: tuple[tuple[int, AgingBucket], ...] = (
    (0, AgingBucket.CURRENT),
    (30, AgingBucket.DAYS_1_30),
    (60, AgingBucket.DAYS_31_60),
    (90, AgingBucket.DAYS_61_90),
    (180, AgingBucket.DAYS_91_180),
    (365, AgingBucket.DAYS_181_365),
)


def aging_bucket(days_past_due: int) -> AgingBucket:
    """``current`` for 0, then 1-30, 31-60, 61-90, 91-180, 181-365 (bounds included), 366+."""
    if days_past_due < 0:
        raise ValueError(f"days past due must be >= 0, got {days_past_due}")
    for upper_bound, bucket in _BUCKET_UPPER_BOUNDS:
        if days_past_due <= upper_bound:
            return bucket
    return AgingBucket.DAYS_366_PLUS
