"""Repayment schedule generation (pure: standard library only).

Implements docs/ARITHMETIC.md, "Loan schedules": every amount is a
``Decimal`` rounded ROUND_HALF_UP to 0.01 at the steps the design names, and
the periodic rate ``r = annual_rate / 100 / periods_per_year`` is never rounded.
"""

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum

__all__ = [
    "CENT",
    "PERIODS_PER_YEAR",
    "ZERO",
    "Amortization",
    "Frequency",
    "InterestMethod",
    "ScheduleTerms",
    "ScheduledInstallment",
    "add_months",
    "due_dates",
    "generate_schedule",
    "installment_amount",
    "round_money",
    "schedule_totals",
]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_ANNUAL_RATE = Decimal("100")

# Enough digits that r and (1 + r) ** -m carry no error that could move a
# result across a half-centime boundary.
_EXACT_PRECISION = 50


class Frequency(StrEnum):
    MONTHLY = "monthly"
    BIWEEKLY = "biweekly"
    WEEKLY = "weekly"


class InterestMethod(StrEnum):
    DECLINING_BALANCE = "declining_balance"
    FLAT = "flat"


class Amortization(StrEnum):
    EQUAL_INSTALLMENTS = "equal_installments"
    EQUAL_PRINCIPAL = "equal_principal"


PERIODS_PER_YEAR: dict[Frequency, int] = {
    Frequency.MONTHLY: 12,
    Frequency.BIWEEKLY: 26,
    Frequency.WEEKLY: 52,
}

_DAYS_PER_PERIOD: dict[Frequency, int] = {Frequency.BIWEEKLY: 14, Frequency.WEEKLY: 7}


def round_money(x: Decimal) -> Decimal:
    """Round to the centime, half up (0.005 -> 0.01, -0.005 -> -0.01)."""
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def add_months(anchor: date, months: int) -> date:
    """``anchor`` moved by whole calendar months, its day clamped to the month's last day.

    Always counted from the anchor itself, so 2025-01-31 + 2 months is
    2025-03-31 (not 2025-03-28 as chaining one month at a time would give).
    """
    month_index = anchor.month - 1 + months
    year = anchor.year + month_index // 12
    month = month_index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(anchor.day, last_day))


def due_dates(
    anchor: date, n: int, frequency: Frequency, *, anchor_is_first_due: bool
) -> list[date]:
    """Due dates of installments 1..n.

    With ``anchor_is_first_due`` (the anchor is ``first_due_on``) installment k
    is due k-1 periods after the anchor; otherwise (the anchor is
    ``disbursed_on``) it is due k periods after it. A monthly period is a
    calendar month counted from the anchor (see ``add_months``); a biweekly
    period is 14 days, a weekly one 7 days.
    """
    if n < 0:
        raise ValueError(f"number of due dates must be >= 0, got {n}")
    frequency = Frequency(frequency)
    first_offset = 0 if anchor_is_first_due else 1
    offsets = range(first_offset, first_offset + n)
    if frequency is Frequency.MONTHLY:
        return [add_months(anchor, k) for k in offsets]
    days = _DAYS_PER_PERIOD[frequency]
    return [anchor + timedelta(days=days * k) for k in offsets]


@dataclass(frozen=True)
class ScheduleTerms:
    """What a schedule is generated from; validated on construction.

    ``annual_rate`` is a percentage (``Decimal("24")`` is 24 % a year).
    ``grace_periods`` is the number of leading installments that repay no
    principal. Enum fields also accept their string values.
    """

    principal: Decimal
    annual_rate: Decimal
    term: int
    frequency: Frequency
    interest_method: InterestMethod
    amortization: Amortization
    grace_periods: int
    disbursed_on: date
    first_due_on: date | None = None

    def __post_init__(self) -> None:
        # Normalising here means a ScheduleTerms that exists is always valid.
        object.__setattr__(self, "frequency", Frequency(self.frequency))
        object.__setattr__(self, "interest_method", InterestMethod(self.interest_method))
        object.__setattr__(self, "amortization", Amortization(self.amortization))
        if not self.principal.is_finite() or self.principal <= 0:
            raise ValueError(f"principal must be > 0, got {self.principal}")
        if self.principal != self.principal.quantize(CENT):
            raise ValueError(f"principal must be a whole number of centimes, got {self.principal}")
        if self.term < 1:
            raise ValueError(f"term must be >= 1 installment, got {self.term}")
        if not 0 <= self.grace_periods < self.term:
            raise ValueError(
                f"grace_periods must be >= 0 and < term ({self.term}), got {self.grace_periods}"
            )
        if not self.annual_rate.is_finite() or not 0 <= self.annual_rate <= MAX_ANNUAL_RATE:
            raise ValueError(f"annual_rate must be between 0 and 100 %, got {self.annual_rate}")
        if self.first_due_on is not None and self.first_due_on < self.disbursed_on:
            raise ValueError(
                f"first_due_on ({self.first_due_on}) is before disbursed_on ({self.disbursed_on})"
            )

    @property
    def periods_per_year(self) -> int:
        return PERIODS_PER_YEAR[self.frequency]

    @property
    def amortising_periods(self) -> int:
        """``m = term - grace_periods``, the installments that repay principal."""
        return self.term - self.grace_periods


@dataclass(frozen=True)
class ScheduledInstallment:
    seq: int
    due_on: date
    principal_due: Decimal
    interest_due: Decimal
    total_due: Decimal
    balance_after: Decimal


def installment_amount(
    principal: Decimal, annual_rate: Decimal, periods_per_year: int, amortising_periods: int
) -> Decimal:
    """``A = round(P * r / (1 - (1 + r) ** -m))``, or ``round(P / m)`` when r = 0.

    ``r = annual_rate / 100 / periods_per_year`` is carried at 50 significant
    digits, only A itself is rounded.
    """
    if amortising_periods < 1:
        raise ValueError(f"amortising periods must be >= 1, got {amortising_periods}")
    with localcontext() as ctx:
        ctx.prec = _EXACT_PRECISION
        rate = annual_rate / 100 / periods_per_year
        if rate == 0:
            return round_money(principal / amortising_periods)
        return round_money(principal * rate / (1 - (1 + rate) ** -amortising_periods))


def _periodic_interest(balance: Decimal, annual_rate: Decimal, periods_per_year: int) -> Decimal:
    """``round(B * r)``.

    Computed as one division of exact operands, so an exact half-centime
    result (a terminating decimal) is seen as such and rounded up, which
    multiplying by a rounded r would not guarantee.
    """
    with localcontext() as ctx:
        ctx.prec = _EXACT_PRECISION
        return round_money(balance * annual_rate / (100 * periods_per_year))


def _flat_total_interest(terms: ScheduleTerms) -> Decimal:
    """``I = round(P * annual_rate / 100 * n / periods_per_year)``."""
    with localcontext() as ctx:
        ctx.prec = _EXACT_PRECISION
        return round_money(
            terms.principal * terms.annual_rate * terms.term / (100 * terms.periods_per_year)
        )


def _equal_part(total: Decimal, parts: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = _EXACT_PRECISION
        return round_money(total / parts)


def generate_schedule(terms: ScheduleTerms) -> list[ScheduledInstallment]:
    """The n installments of a loan, per docs/ARITHMETIC.md.

    With B the balance before installment k (B starts at P), g grace periods
    and m = n - g:

    - declining balance, equal installments: interest_k = round(B * r);
      principal_k = 0 for k <= g, A - interest_k for g < k < n, and B for
      k = n (the last clears the balance);
    - declining balance, equal principal: interest_k = round(B * r);
      principal_k = 0 for k <= g, round(P / m) for g < k < n, B for k = n;
    - flat (whatever the amortization): principal as in equal principal;
      interest_k = round(I / n) for k < n and the remainder for k = n, so the
      interest sums to I.

    Rounding can only push these rules outside their domain for degenerate
    inputs (a few centimes spread over many installments); there each
    non-final principal is clamped into [0, B] and each non-final flat
    interest to what is left of I, so no amount and no balance is ever
    negative and principals always sum to P exactly.
    """
    principal = round_money(terms.principal)
    n, grace = terms.term, terms.grace_periods
    amortising = terms.amortising_periods
    ppy = terms.periods_per_year
    anchor = terms.first_due_on if terms.first_due_on is not None else terms.disbursed_on
    dates = due_dates(
        anchor, n, terms.frequency, anchor_is_first_due=terms.first_due_on is not None
    )

    is_flat = terms.interest_method is InterestMethod.FLAT
    equal_installments = not is_flat and terms.amortization is Amortization.EQUAL_INSTALLMENTS
    installment = (
        installment_amount(principal, terms.annual_rate, ppy, amortising)
        if equal_installments
        else ZERO
    )
    principal_part = _equal_part(principal, amortising)
    flat_interest_total = _flat_total_interest(terms) if is_flat else ZERO
    flat_interest_part = _equal_part(flat_interest_total, n) if is_flat else ZERO

    items: list[ScheduledInstallment] = []
    balance = principal
    flat_interest_charged = ZERO
    for seq, due_on in enumerate(dates, start=1):
        is_last = seq == n
        if is_flat:
            interest = (
                flat_interest_total - flat_interest_charged
                if is_last
                else min(flat_interest_part, flat_interest_total - flat_interest_charged)
            )
            flat_interest_charged += interest
        else:
            interest = _periodic_interest(balance, terms.annual_rate, ppy)

        if is_last:
            principal_due = balance
        elif seq <= grace:
            principal_due = ZERO
        elif equal_installments:
            principal_due = min(max(installment - interest, ZERO), balance)
        else:
            principal_due = min(principal_part, balance)

        balance -= principal_due
        items.append(
            ScheduledInstallment(
                seq=seq,
                due_on=due_on,
                principal_due=principal_due,
                interest_due=interest,
                total_due=principal_due + interest,
                balance_after=balance,
            )
        )
    return items


def schedule_totals(items: Iterable[ScheduledInstallment]) -> tuple[Decimal, Decimal, Decimal]:
    """(sum of principal_due, sum of interest_due, sum of total_due)."""
    principal = interest = total = ZERO
    for item in items:
        principal += item.principal_due
        interest += item.interest_due
        total += item.total_due
    return principal, interest, total
