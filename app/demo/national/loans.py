"""Generated loans: a life story per loan, then the rows the loan service would have stored.

A loan's story (`LoanStory`) is what people did: the application, the decision, the
disbursement, then every repayment, reversal and write-off in the order they were entered.
`loan_rows` turns a story into rows with the same pure functions the service uses
(`schedule.generate_schedule` for the installments, `ledger.replay` for the allocations,
the installments' paid amounts and `paid_off_on`, the repayments' portions and the loan's
summary columns), so that every generated loan equals its ledger replay.

Repayment behaviour depends on the borrower and on the cohort: most pay on time; some pay
late (a few more than 30 days late), some pay part of the installment and catch up, some
fall behind for a few months and then clear their arrears, some repay early, and some stop
paying and are written off 181 to 300 days after their first unpaid installment. Recent
cohorts stop more often (a harder year), which makes the portfolio at risk climb over the
last twelve months. Some repayments are entered days or weeks after they were paid
(backdated), and some are reversed (a bounced cheque) and paid again.
"""

import functools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from app.demo.national.calendar import at_office_hours, between
from app.loans import ledger, schedule

ZERO = Decimal("0.00")
WHOLE = Decimal("1")
DAY = timedelta(days=1)

PURPOSES = (
    "Achat d'une machine à coudre et de tissus",
    "Stock de marchandises pour l'épicerie de quartier",
    "Achat de brebis et d'aliments pour l'élevage",
    "Équipement de la pâtisserie",
    "Kit d'irrigation goutte-à-goutte",
    "Ordinateurs et imprimante pour le cybercafé",
    "Fonds de roulement de la coopérative",
    "Rénovation et aménagement du local",
    "Triporteur pour la livraison",
    "Métier à tisser pour les tapis",
    "Matériel de coiffure et d'esthétique",
    "Semences et engrais pour la campagne agricole",
)
REJECTIONS = (
    "Capacité de remboursement insuffisante",
    "Projet non viable en l'état, à retravailler avec le conseiller",
    "Dossier incomplet après relance",
    "Endettement en cours auprès d'une autre association",
)
WRITE_OFF_REASONS = (
    "Activité arrêtée, impayés de plus de 180 jours",
    "Emprunteur injoignable, créance jugée irrécouvrable",
)
REVERSAL_REASONS = (
    "Chèque rejeté pour provision insuffisante",
    "Versement enregistré en double",
)

# Standard terms offered, by repayment frequency.
TERMS = {
    "monthly": (6, 9, 12, 12, 18, 18, 24, 24, 36),
    "biweekly": (12, 18, 24, 26, 36),
    "weekly": (16, 20, 26, 26, 32, 40, 52),
}
PRINCIPAL_STEP = {"monthly": 1000, "biweekly": 500, "weekly": 500}


@dataclass(frozen=True)
class Product:
    """The generator's copy of a stored loan product."""

    id: int
    lender_id: int
    name: str
    interest_method: str
    amortization: str
    annual_rate: Decimal
    repayment_frequency: str
    min_principal: Decimal
    max_principal: Decimal
    min_term: int
    max_term: int
    max_grace_periods: int
    farming: bool


@dataclass(frozen=True, eq=False)
class Repayment:
    paid_on: date
    amount: Decimal
    reference: str | None
    entered_at: datetime


@dataclass(frozen=True, eq=False)
class Reversal:
    """The reversal of the repayment `target`, entered on `on` (its effective date)."""

    target: Repayment
    on: date
    reason: str
    entered_at: datetime


@dataclass(frozen=True)
class WriteOff:
    on: date
    reason: str
    entered_at: datetime


Event = Repayment | Reversal | WriteOff


@dataclass
class LoanStory:
    """Everything that happened to one loan, in the order it was entered."""

    holder_id: int
    centre_id: int
    enterprise_id: int | None
    product: Product
    principal: Decimal
    term: int
    grace_periods: int
    purpose: str
    adviser_id: int
    decider_id: int
    applied_at: datetime
    decided_at: datetime | None = None
    rejection_reason: str | None = None
    disbursed_at: datetime | None = None
    events: list[Event] = field(default_factory=list)
    schedule: list[ledger.InstallmentDue] = field(default_factory=list)
    """The installments, once disbursed (see `installments_of`)."""

    @property
    def applied_on(self) -> date:
        return self.applied_at.date()

    @property
    def disbursed_on(self) -> date | None:
        return None if self.disbursed_at is None else self.disbursed_at.date()


@functools.lru_cache(maxsize=16384)
def scheduled_amounts(
    principal: Decimal,
    annual_rate: Decimal,
    term: int,
    frequency: str,
    interest_method: str,
    amortization: str,
    grace_periods: int,
) -> tuple[tuple[Decimal, Decimal], ...]:
    """(principal_due, interest_due) of each installment. The amounts of a schedule do not
    depend on its dates (interest is per period), so they are computed once per set of
    terms; the dates come from `schedule.due_dates`."""
    items = schedule.generate_schedule(
        schedule.ScheduleTerms(
            principal=principal,
            annual_rate=annual_rate,
            term=term,
            frequency=schedule.Frequency(frequency),
            interest_method=schedule.InterestMethod(interest_method),
            amortization=schedule.Amortization(amortization),
            grace_periods=grace_periods,
            disbursed_on=date(2000, 1, 1),
        )
    )
    return tuple((item.principal_due, item.interest_due) for item in items)


def installments_of(story: LoanStory) -> list[ledger.InstallmentDue]:
    """The loan's schedule, as `generate_schedule` gives it for its disbursement date
    (computed once per story)."""
    if story.schedule:
        return story.schedule
    disbursed_on = story.disbursed_on
    assert disbursed_on is not None
    product = story.product
    amounts = scheduled_amounts(
        story.principal,
        product.annual_rate,
        story.term,
        product.repayment_frequency,
        product.interest_method,
        product.amortization,
        story.grace_periods,
    )
    dues = schedule.due_dates(
        disbursed_on,
        story.term,
        schedule.Frequency(product.repayment_frequency),
        anchor_is_first_due=False,
    )
    story.schedule = [
        ledger.InstallmentDue(seq, due_on, principal_due, interest_due)
        for seq, (due_on, (principal_due, interest_due)) in enumerate(
            zip(dues, amounts, strict=True), start=1
        )
    ]
    return story.schedule


# --- the story ------------------------------------------------------------------------------


def choose_product(rng: random.Random, products: Sequence[Product], farming: bool) -> Product:
    weights = [
        (4.0 if product.farming else 0.6)
        if farming
        else (0.5 if product.farming else 3.0 if product.repayment_frequency == "monthly" else 1.6)
        for product in products
    ]
    return rng.choices(products, weights)[0]


def choose_terms(rng: random.Random, product: Product) -> tuple[Decimal, int, int]:
    """A principal skewed towards small loans on the product's grid, a standard term and,
    for one loan in five, a few grace periods."""
    step = PRINCIPAL_STEP[product.repayment_frequency]
    low = int(product.min_principal)
    high = int(product.max_principal)
    drawn = low + (high - low) * rng.betavariate(1.3, 4.0)
    principal = Decimal(max(low, min(high, round(drawn / step) * step)))
    terms = [
        t for t in TERMS[product.repayment_frequency] if product.min_term <= t <= product.max_term
    ]
    term = rng.choice(terms) if terms else product.min_term
    grace = 0
    if product.max_grace_periods and rng.random() < 0.2:
        grace = min(between(rng, 1, product.max_grace_periods), term - 1)
    return principal.quantize(Decimal("0.01")), term, grace


def behaviour_of(rng: random.Random, stop_risk: float) -> str:
    """How the borrower repays; `stop_risk` is the cohort's chance of stopping altogether."""
    roll = rng.random()
    if roll < stop_risk:
        return "stops"
    roll = rng.random()
    for name, share in (
        ("late", 0.15),
        ("partial", 0.07),
        ("recovers", 0.06),
        ("early_payoff", 0.07),
    ):
        if roll < share:
            return name
        roll -= share
    return "on_time"


def plan_payments(
    rng: random.Random,
    behaviour: str,
    installments: Sequence[ledger.InstallmentDue],
    disbursed_on: date,
    today: date,
) -> list[tuple[date, Decimal]]:
    """(paid_on, amount) in date order: never after today, never more than is owed."""
    total = sum((item.total_due for item in installments), ZERO)
    payments: list[tuple[date, Decimal]] = []
    paid = ZERO
    last_on = disbursed_on

    def pay(on: date, amount: Decimal) -> None:
        nonlocal paid, last_on
        on = max(on, last_on)
        amount = min(amount, total - paid)
        if on > today or amount <= 0:
            return
        payments.append((on, amount))
        paid += amount
        last_on = on

    n = len(installments)
    if behaviour == "stops":
        stop_at = int(n * rng.uniform(0.0, 0.75))
        for item in installments[:stop_at]:
            pay(item.due_on + between(rng, -3, 12) * DAY, item.total_due)
    elif behaviour == "late":
        for item in installments:
            roll = rng.random()
            delay = (
                between(rng, 3, 20)
                if roll < 0.7
                else between(rng, 21, 40)
                if roll < 0.9
                else between(rng, 41, 80)
            )
            pay(item.due_on + delay * DAY, item.total_due)
    elif behaviour == "partial":
        shortfall = ZERO
        for index, item in enumerate(installments):
            amount = item.total_due
            if rng.random() < 0.6:
                amount = (amount * Decimal(rng.uniform(0.5, 0.9))).quantize(WHOLE)
            shortfall += item.total_due - amount
            if index % 3 == 2 or index == n - 1:
                amount, shortfall = amount + shortfall, ZERO
            pay(item.due_on + between(rng, 0, 10) * DAY, amount)
    elif behaviour == "recovers":
        gap_start = between(rng, 0, max(0, n - 3))
        gap_end = min(n - 1, gap_start + between(rng, 2, 5))
        owed = ZERO
        for index, item in enumerate(installments):
            owed += item.total_due
            if gap_start <= index < gap_end:
                continue
            pay(item.due_on + between(rng, 0, 15 if index == gap_end else 3) * DAY, owed)
            owed = ZERO
    elif behaviour == "early_payoff":
        payoff_at = between(rng, n // 3, max(n // 3, 2 * n // 3))
        for index, item in enumerate(installments):
            if index == payoff_at:
                pay(item.due_on - between(rng, 0, 5) * DAY, total - paid)
                break
            pay(item.due_on - between(rng, 0, 3) * DAY, item.total_due)
    else:  # on_time
        for item in installments:
            pay(item.due_on + between(rng, -3, 3) * DAY, item.total_due)
    return payments


def first_unpaid_due(installments: Sequence[ledger.InstallmentDue], paid: Decimal) -> date | None:
    """The due date of the first installment that `paid` (allocated oldest first) leaves
    not fully paid."""
    covered = ZERO
    for item in installments:
        covered += item.total_due
        if covered > paid:
            return item.due_on
    return None


def tell_story(
    rng: random.Random,
    story: LoanStory,
    today: date,
    stop_risk: float,
) -> LoanStory:
    """Decide the loan's fate from its application on: rejected (7 %), still waiting for a
    decision or disbursement when recent, else disbursed and repaid as its borrower
    repays. Every date is on or before `today`."""
    decided_on = story.applied_on + timedelta(days=between(rng, 2, 12))
    if decided_on > today:
        return story
    story.decided_at = at_office_hours(rng, decided_on)
    if rng.random() < 0.07:
        story.rejection_reason = rng.choice(REJECTIONS)
        return story
    disbursed_on = decided_on + timedelta(days=between(rng, 1, 10))
    if disbursed_on > today:
        return story
    story.disbursed_at = at_office_hours(rng, disbursed_on)
    installments = installments_of(story)
    behaviour = behaviour_of(rng, stop_risk)
    planned = plan_payments(rng, behaviour, installments, disbursed_on, today)

    write_off: WriteOff | None = None
    if behaviour == "stops":
        unpaid_since = first_unpaid_due(installments, sum((a for _, a in planned), ZERO))
        if unpaid_since is not None and rng.random() < 0.9:
            written_off_on = max(
                unpaid_since + timedelta(days=between(rng, 181, 300)),
                planned[-1][0] if planned else disbursed_on,
            )
            if written_off_on <= today:
                write_off = WriteOff(
                    written_off_on,
                    rng.choice(WRITE_OFF_REASONS),
                    at_office_hours(rng, written_off_on),
                )

    repayments: list[Repayment] = []
    for paid_on, amount in planned:
        roll = rng.random()
        if write_off is not None or roll < 0.92:
            entered_on = paid_on
        elif roll < 0.97:
            entered_on = paid_on + timedelta(days=between(rng, 1, 5))
        else:  # entered weeks later, after later payments: a backdated repayment
            entered_on = paid_on + timedelta(days=between(rng, 7, 40))
        entered_on = min(entered_on, today)
        reference = f"REC-{between(rng, 100000, 999999)}" if rng.random() < 0.7 else None
        repayments.append(Repayment(paid_on, amount, reference, at_office_hours(rng, entered_on)))

    events: list[Event] = list(repayments)
    if write_off is None and len(repayments) >= 2 and rng.random() < 0.03:
        bounced = rng.choice(repayments)
        reversed_on = min(
            max(bounced.paid_on + timedelta(days=between(rng, 3, 10)), bounced.entered_at.date()),
            today,
        )
        reversal_at = max(at_office_hours(rng, reversed_on), bounced.entered_at + DAY / 24)
        if reversal_at.date() == reversed_on:
            events.append(Reversal(bounced, reversed_on, rng.choice(REVERSAL_REASONS), reversal_at))
            paid_again_on = reversed_on + timedelta(days=between(rng, 1, 14))
            if paid_again_on <= today and rng.random() < 0.8:
                events.append(
                    Repayment(
                        paid_again_on,
                        bounced.amount,
                        bounced.reference,
                        at_office_hours(rng, paid_again_on),
                    )
                )
    events.sort(key=lambda event: event.entered_at)
    if write_off is not None:
        events.append(write_off)
    story.events = events
    return story


# --- the rows -------------------------------------------------------------------------------


@dataclass
class LoanRows:
    loan: tuple[object, ...]
    installments: list[tuple[object, ...]]
    transactions: list[tuple[object, ...]]
    allocations: list[tuple[object, ...]]
    status: str
    ended_on: date | None
    """The date it was fully repaid or written off (None while active or not disbursed)."""


@dataclass
class IdBlock:
    """The next free id of each table the loan rows fill."""

    loans: int
    installments: int
    transactions: int
    allocations: int


def loan_summary(
    principal: Decimal,
    result: ledger.LedgerResult,
) -> tuple[Decimal, Decimal, date | None, Decimal, str, date | None]:
    """(paid_principal, paid_interest, oldest_unpaid_due_on, outstanding_principal, status,
    closed_on) of an active or repaid loan after `result`, as the loan service stores them."""
    paid_principal = sum((state.principal_paid for state in result.installments), ZERO)
    paid_interest = sum((state.interest_paid for state in result.installments), ZERO)
    oldest_unpaid = min(
        (state.due_on for state in result.installments if not state.is_fully_paid),
        default=None,
    )
    status = "repaid" if result.closed_on is not None else "active"
    return (
        paid_principal,
        paid_interest,
        oldest_unpaid,
        principal - paid_principal,
        status,
        result.closed_on,
    )


def loan_rows(story: LoanStory, ids: IdBlock) -> LoanRows:
    """The rows of `story`, with ids taken from `ids` (which moves on). Transactions get
    their ids in the order they were entered, as the service gives them; a loan's version
    counts its updates (a decision, the disbursement, then one per entry)."""
    loan_id = ids.loans
    ids.loans += 1
    product = story.product
    version = 1
    updated_at = story.applied_at
    approved_on = rejected_on = disbursed_on = first_due_on = closed_on = None
    written_off_on: date | None = None
    written_off_amount: Decimal | None = None
    write_off_reason: str | None = None
    paid_principal = paid_interest = outstanding = ZERO
    oldest_unpaid: date | None = None
    status = "submitted"
    installment_rows: list[tuple[object, ...]] = []
    transaction_rows: list[tuple[object, ...]] = []
    allocation_rows: list[tuple[object, ...]] = []

    if story.decided_at is not None:
        version += 1
        updated_at = story.decided_at
        if story.rejection_reason is not None:
            status, rejected_on = "rejected", story.decided_at.date()
        else:
            status, approved_on = "approved", story.decided_at.date()
    if story.disbursed_at is not None:
        disbursed_on = story.disbursed_at.date()
        installments = installments_of(story)
        first_due_on = installments[0].due_on
        version += 1 + len(story.events)
        updated_at = story.events[-1].entered_at if story.events else story.disbursed_at
        disbursement_id = ids.transactions
        entries = [(disbursement_id + n, event) for n, event in enumerate(story.events, 1)]
        ids.transactions = disbursement_id + 1 + len(entries)
        repayment_id = {
            id(event): transaction_id
            for transaction_id, event in entries
            if isinstance(event, Repayment)
        }
        live: dict[int, Repayment] = {}
        kept_portions: dict[int, tuple[Decimal, Decimal]] = {}
        for transaction_id, event in entries:
            if isinstance(event, Repayment):
                live[transaction_id] = event
            elif isinstance(event, Reversal):
                target_id = repayment_id[id(event.target)]
                # The reversed repayment keeps the split it had just before its reversal.
                kept_portions[target_id] = ledger.replay(installments, _payments(live)).portions[
                    target_id
                ]
                del live[target_id]
        result = ledger.replay(installments, _payments(live))
        paid_principal, paid_interest, oldest_unpaid, outstanding, status, closed_on = loan_summary(
            story.principal, result
        )

        transaction_rows.append(
            (disbursement_id, loan_id, "disbursement", story.principal, disbursed_on,
             story.principal, ZERO, None, False, None, None, story.disbursed_at,
             story.adviser_id)
        )  # fmt: skip
        for transaction_id, event in entries:
            if isinstance(event, Repayment):
                principal_part, interest_part = (
                    kept_portions.get(transaction_id) or result.portions[transaction_id]
                )
                transaction_rows.append(
                    (transaction_id, loan_id, "repayment", event.amount, event.paid_on,
                     principal_part, interest_part, event.reference,
                     transaction_id in kept_portions, None, None, event.entered_at,
                     story.adviser_id)
                )  # fmt: skip
            elif isinstance(event, Reversal):
                target_id = repayment_id[id(event.target)]
                principal_part, interest_part = kept_portions[target_id]
                transaction_rows.append(
                    (transaction_id, loan_id, "reversal", event.target.amount, event.on,
                     principal_part, interest_part, None, False, target_id, event.reason,
                     event.entered_at, story.decider_id)
                )  # fmt: skip
            else:
                status, written_off_on = "written_off", event.on
                written_off_amount, write_off_reason = outstanding, event.reason
                outstanding, closed_on = ZERO, None
                transaction_rows.append(
                    (transaction_id, loan_id, "write_off", written_off_amount, event.on,
                     written_off_amount, ZERO, None, False, None, event.reason,
                     event.entered_at, story.decider_id)
                )  # fmt: skip

        installment_ids: dict[int, int] = {}
        due_on = {state.seq: state.due_on for state in result.installments}
        for state in result.installments:
            installment_ids[state.seq] = ids.installments
            installment_rows.append(
                (ids.installments, loan_id, state.seq, state.due_on, state.principal_due,
                 state.interest_due, state.principal_paid, state.interest_paid,
                 state.paid_off_on)
            )  # fmt: skip
            ids.installments += 1
        for allocation in result.allocations:
            allocation_rows.append(
                (ids.allocations, loan_id, allocation.payment_id,
                 installment_ids[allocation.seq], allocation.paid_on, allocation.principal,
                 allocation.interest, due_on[allocation.seq])
            )  # fmt: skip
            ids.allocations += 1

    loan_row = (
        loan_id, story.centre_id, story.holder_id, story.enterprise_id, product.id,
        product.lender_id, story.principal, product.annual_rate, story.term,
        product.repayment_frequency, product.interest_method, product.amortization,
        story.grace_periods, story.purpose, None, status, story.applied_on,
        approved_on,
        rejected_on, story.rejection_reason, disbursed_on, first_due_on, closed_on,
        written_off_on, written_off_amount, write_off_reason, outstanding, paid_principal,
        paid_interest, oldest_unpaid, None, ZERO, story.adviser_id, story.applied_at,
        updated_at, version,
    )  # fmt: skip
    # Not folded (overdue_through NULL, nothing owed before it): `tracker demo-data` folds
    # the active loans after loading, as the monthly job does.
    ended_on = closed_on if status == "repaid" else written_off_on
    return LoanRows(loan_row, installment_rows, transaction_rows, allocation_rows, status, ended_on)


def _payments(live: dict[int, Repayment]) -> list[ledger.Payment]:
    return [
        ledger.Payment(id=transaction_id, paid_on=event.paid_on, amount=event.amount)
        for transaction_id, event in live.items()
    ]
