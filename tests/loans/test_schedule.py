from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

import numpy_financial as npf
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.loans.schedule import (
    PERIODS_PER_YEAR,
    Amortization,
    Frequency,
    InterestMethod,
    ScheduledInstallment,
    ScheduleTerms,
    add_months,
    due_dates,
    generate_schedule,
    installment_amount,
    round_money,
    schedule_totals,
)


def make_terms(
    *,
    principal: str = "10000.00",
    annual_rate: str = "24",
    term: int = 12,
    frequency: Frequency = Frequency.MONTHLY,
    interest_method: InterestMethod = InterestMethod.DECLINING_BALANCE,
    amortization: Amortization = Amortization.EQUAL_INSTALLMENTS,
    grace_periods: int = 0,
    disbursed_on: date = date(2025, 1, 15),
    first_due_on: date | None = None,
) -> ScheduleTerms:
    return ScheduleTerms(
        principal=Decimal(principal),
        annual_rate=Decimal(annual_rate),
        term=term,
        frequency=frequency,
        interest_method=interest_method,
        amortization=amortization,
        grace_periods=grace_periods,
        disbursed_on=disbursed_on,
        first_due_on=first_due_on,
    )


def d(value: str) -> Decimal:
    return Decimal(value)


# --- round_money ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "rounded"),
    [
        ("0.005", "0.01"),
        ("0.004999", "0.00"),
        ("1.235", "1.24"),
        ("1.245", "1.25"),  # half up, not banker's rounding
        ("-0.005", "-0.01"),
        ("10", "10.00"),
    ],
)
def test_round_money_is_half_up_to_the_centime(raw: str, rounded: str) -> None:
    result = round_money(d(raw))
    assert result == d(rounded)
    assert result.as_tuple().exponent == -2


# --- worked example (docs/ARITHMETIC.md) --------------------------------------------------------


def test_worked_example_to_the_centime() -> None:
    items = generate_schedule(make_terms())

    assert [item.due_on for item in items] == [
        date(2025, 2, 15),
        date(2025, 3, 15),
        date(2025, 4, 15),
        date(2025, 5, 15),
        date(2025, 6, 15),
        date(2025, 7, 15),
        date(2025, 8, 15),
        date(2025, 9, 15),
        date(2025, 10, 15),
        date(2025, 11, 15),
        date(2025, 12, 15),
        date(2026, 1, 15),
    ]
    assert [item.seq for item in items] == list(range(1, 13))
    assert items[0] == ScheduledInstallment(
        seq=1,
        due_on=date(2025, 2, 15),
        principal_due=d("745.60"),
        interest_due=d("200.00"),
        total_due=d("945.60"),
        balance_after=d("9254.40"),
    )
    assert (items[1].interest_due, items[1].principal_due, items[1].total_due) == (
        d("185.09"),
        d("760.51"),
        d("945.60"),
    )
    assert all(item.total_due == d("945.60") for item in items[:-1])
    last = items[-1]
    assert (last.due_on, last.interest_due, last.principal_due, last.total_due) == (
        date(2026, 1, 15),
        d("18.54"),
        d("927.01"),
        d("945.55"),
    )
    assert last.balance_after == d("0.00")
    assert schedule_totals(items) == (d("10000.00"), d("1347.15"), d("11347.15"))


def test_worked_example_installment_amount() -> None:
    assert installment_amount(d("10000.00"), d("24"), 12, 12) == d("945.60")


def test_amounts_always_have_two_decimal_places() -> None:
    items = generate_schedule(make_terms(principal="5000", grace_periods=2))
    for item in items:
        for amount in (item.principal_due, item.interest_due, item.total_due, item.balance_after):
            assert amount.as_tuple().exponent == -2


# --- equal principal and flat --------------------------------------------------------------


def test_declining_equal_principal() -> None:
    items = generate_schedule(
        make_terms(
            principal="1000.00",
            annual_rate="12",
            term=3,
            amortization=Amortization.EQUAL_PRINCIPAL,
        )
    )
    # r = 0.01; round(1000 / 3) = 333.33, the last takes 333.34.
    assert [item.principal_due for item in items] == [d("333.33"), d("333.33"), d("333.34")]
    assert [item.interest_due for item in items] == [d("10.00"), d("6.67"), d("3.33")]
    assert [item.balance_after for item in items] == [d("666.67"), d("333.34"), d("0.00")]
    assert [item.total_due for item in items] == [d("343.33"), d("340.00"), d("336.67")]


def test_flat_interest_sums_to_total_exactly() -> None:
    items = generate_schedule(
        make_terms(
            principal="10000.00",
            annual_rate="20",
            term=7,
            interest_method=InterestMethod.FLAT,
            amortization=Amortization.EQUAL_PRINCIPAL,
        )
    )
    # I = round(10000 * 0.20 * 7 / 12) = 1166.67; round(I / 7) = 166.67, the last 166.65.
    assert [item.interest_due for item in items] == [d("166.67")] * 6 + [d("166.65")]
    assert schedule_totals(items)[1] == d("1166.67")
    # round(10000 / 7) = 1428.57, the last takes 1428.58.
    assert [item.principal_due for item in items] == [d("1428.57")] * 6 + [d("1428.58")]


def test_flat_ignores_equal_installments_amortization() -> None:
    flat_installments = generate_schedule(
        make_terms(
            interest_method=InterestMethod.FLAT, amortization=Amortization.EQUAL_INSTALLMENTS
        )
    )
    flat_principal = generate_schedule(
        make_terms(interest_method=InterestMethod.FLAT, amortization=Amortization.EQUAL_PRINCIPAL)
    )
    assert flat_installments == flat_principal
    assert [item.principal_due for item in flat_installments] == (
        [d("833.33")] * 11 + [d("833.37")]
    )
    # I = round(10000 * 0.24 * 12 / 12) = 2400.00, 200.00 each.
    assert all(item.interest_due == d("200.00") for item in flat_installments)


# --- grace periods -------------------------------------------------------------------------


def test_grace_declining_equal_installments_charges_interest_and_no_principal() -> None:
    items = generate_schedule(make_terms(term=14, grace_periods=2))
    for item in items[:2]:
        assert item.principal_due == d("0.00")
        assert item.interest_due == d("200.00")
        assert item.balance_after == d("10000.00")
    # After the grace the loan amortises like a 12-installment loan (m = 12).
    after_grace = items[2:]
    worked_example = generate_schedule(make_terms())
    assert [(i.principal_due, i.interest_due) for i in after_grace] == [
        (i.principal_due, i.interest_due) for i in worked_example
    ]
    assert items[-1].balance_after == d("0.00")


def test_grace_declining_equal_principal() -> None:
    items = generate_schedule(
        make_terms(
            principal="1200.00",
            annual_rate="12",
            term=5,
            grace_periods=2,
            amortization=Amortization.EQUAL_PRINCIPAL,
        )
    )
    assert [item.principal_due for item in items] == [
        d("0.00"),
        d("0.00"),
        d("400.00"),
        d("400.00"),
        d("400.00"),
    ]
    assert [item.interest_due for item in items] == [
        d("12.00"),
        d("12.00"),
        d("12.00"),
        d("8.00"),
        d("4.00"),
    ]


def test_grace_flat() -> None:
    items = generate_schedule(
        make_terms(
            principal="1200.00",
            annual_rate="12",
            term=5,
            grace_periods=2,
            interest_method=InterestMethod.FLAT,
        )
    )
    # I = round(1200 * 0.12 * 5 / 12) = 60.00, 12.00 an installment, grace included.
    assert [item.principal_due for item in items] == [
        d("0.00"),
        d("0.00"),
        d("400.00"),
        d("400.00"),
        d("400.00"),
    ]
    assert [item.interest_due for item in items] == [d("12.00")] * 5


# --- zero rate -----------------------------------------------------------------------------


@pytest.mark.parametrize("interest_method", list(InterestMethod))
@pytest.mark.parametrize("amortization", list(Amortization))
def test_zero_rate(interest_method: InterestMethod, amortization: Amortization) -> None:
    items = generate_schedule(
        make_terms(
            principal="1000.00",
            annual_rate="0",
            term=3,
            interest_method=interest_method,
            amortization=amortization,
        )
    )
    assert [item.principal_due for item in items] == [d("333.33"), d("333.33"), d("333.34")]
    assert all(item.interest_due == d("0.00") for item in items)


def test_zero_rate_installment_amount() -> None:
    assert installment_amount(d("1000.00"), d("0"), 12, 3) == d("333.33")


def test_single_installment_repays_everything() -> None:
    items = generate_schedule(make_terms(principal="1000.00", term=1))
    assert len(items) == 1
    assert (items[0].principal_due, items[0].interest_due) == (d("1000.00"), d("20.00"))
    assert items[0].due_on == date(2025, 2, 15)


# --- due dates -----------------------------------------------------------------------------


def test_monthly_due_dates_from_disbursement_clamp_to_month_end() -> None:
    assert due_dates(date(2025, 1, 31), 4, Frequency.MONTHLY, anchor_is_first_due=False) == [
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
        date(2025, 5, 31),
    ]


def test_monthly_due_dates_from_first_due_clamp_to_month_end() -> None:
    assert due_dates(date(2025, 1, 31), 4, Frequency.MONTHLY, anchor_is_first_due=True) == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
    ]


def test_schedule_uses_first_due_on_when_given() -> None:
    items = generate_schedule(
        make_terms(term=4, disbursed_on=date(2025, 1, 10), first_due_on=date(2025, 1, 31))
    )
    assert [item.due_on for item in items] == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
    ]


def test_schedule_month_end_clamping_from_disbursement() -> None:
    items = generate_schedule(make_terms(term=3, disbursed_on=date(2025, 1, 31)))
    assert [item.due_on for item in items] == [
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
    ]


def test_leap_year_february() -> None:
    assert due_dates(date(2024, 1, 31), 2, Frequency.MONTHLY, anchor_is_first_due=False) == [
        date(2024, 2, 29),
        date(2024, 3, 31),
    ]
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)


def test_monthly_crosses_year_end() -> None:
    assert due_dates(date(2025, 11, 30), 3, Frequency.MONTHLY, anchor_is_first_due=True) == [
        date(2025, 11, 30),
        date(2025, 12, 30),
        date(2026, 1, 30),
    ]


def test_biweekly_due_dates() -> None:
    assert due_dates(date(2025, 1, 15), 3, Frequency.BIWEEKLY, anchor_is_first_due=False) == [
        date(2025, 1, 29),
        date(2025, 2, 12),
        date(2025, 2, 26),
    ]
    assert due_dates(date(2025, 1, 15), 2, Frequency.BIWEEKLY, anchor_is_first_due=True) == [
        date(2025, 1, 15),
        date(2025, 1, 29),
    ]


def test_weekly_due_dates() -> None:
    assert due_dates(date(2024, 12, 25), 3, Frequency.WEEKLY, anchor_is_first_due=False) == [
        date(2025, 1, 1),
        date(2025, 1, 8),
        date(2025, 1, 15),
    ]
    assert due_dates(date(2025, 1, 15), 2, Frequency.WEEKLY, anchor_is_first_due=True) == [
        date(2025, 1, 15),
        date(2025, 1, 22),
    ]


def test_weekly_interest_uses_52_periods() -> None:
    items = generate_schedule(
        make_terms(principal="5200.00", annual_rate="10", term=4, frequency=Frequency.WEEKLY)
    )
    assert items[0].interest_due == d("10.00")  # 5200 * 0.10 / 52


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"principal": "0"}, "principal"),
        ({"principal": "-5.00"}, "principal"),
        ({"principal": "10.005"}, "centimes"),
        ({"term": 0}, "term"),
        ({"grace_periods": -1}, "grace_periods"),
        ({"grace_periods": 12}, "grace_periods"),
        ({"annual_rate": "-0.01"}, "annual_rate"),
        ({"annual_rate": "100.01"}, "annual_rate"),
        ({"first_due_on": date(2025, 1, 14)}, "first_due_on"),
    ],
)
def test_invalid_terms_are_rejected(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_terms(**overrides)  # type: ignore[arg-type]


def test_invalid_enum_value_is_rejected() -> None:
    with pytest.raises(ValueError):
        make_terms(frequency="daily")  # type: ignore[arg-type]


def test_rate_bounds_are_inclusive() -> None:
    assert len(generate_schedule(make_terms(annual_rate="0"))) == 12
    assert len(generate_schedule(make_terms(annual_rate="100"))) == 12
    assert len(generate_schedule(make_terms(grace_periods=11))) == 12


def test_string_enum_values_are_normalised() -> None:
    terms = ScheduleTerms(
        principal=d("100.00"),
        annual_rate=d("12"),
        term=2,
        frequency="monthly",  # type: ignore[arg-type]
        interest_method="flat",  # type: ignore[arg-type]
        amortization="equal_principal",  # type: ignore[arg-type]
        grace_periods=0,
        disbursed_on=date(2025, 1, 1),
    )
    assert terms.frequency is Frequency.MONTHLY
    assert terms.interest_method is InterestMethod.FLAT
    assert terms.amortization is Amortization.EQUAL_PRINCIPAL


# --- oracle: numpy_financial.pmt -----------------------------------------------------------


def pmt_oracle(principal: Decimal, annual_rate: Decimal, ppy: int, periods: int) -> Decimal | None:
    """numpy_financial's payment rounded half up, or None when the float sits on a tie."""
    rate = float(annual_rate / 100 / ppy)
    payment = -npf.pmt(rate, periods, float(principal))
    exact = Decimal(float(payment))  # the float's exact binary value
    centimes = exact * 100
    if abs(centimes - centimes.to_integral_value() - Decimal("0.5")) < Decimal("1e-6"):
        return None
    if abs(centimes - centimes.to_integral_value() + Decimal("0.5")) < Decimal("1e-6"):
        return None
    return exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@pytest.mark.parametrize(
    ("principal", "annual_rate", "frequency", "periods"),
    [
        ("10000.00", "24", Frequency.MONTHLY, 12),
        ("5000.00", "18.5", Frequency.MONTHLY, 24),
        ("150000.00", "9.75", Frequency.MONTHLY, 60),
        ("3000.00", "30", Frequency.BIWEEKLY, 26),
        ("800.00", "42", Frequency.WEEKLY, 52),
        ("100.00", "0.01", Frequency.WEEKLY, 1),
        ("2500.00", "100", Frequency.MONTHLY, 6),
    ],
)
def test_installment_amount_matches_numpy_financial(
    principal: str, annual_rate: str, frequency: Frequency, periods: int
) -> None:
    expected = pmt_oracle(d(principal), d(annual_rate), PERIODS_PER_YEAR[frequency], periods)
    assert expected is not None
    assert (
        installment_amount(d(principal), d(annual_rate), PERIODS_PER_YEAR[frequency], periods)
        == expected
    )


centimes = st.integers(min_value=10_000, max_value=15_000_000).map(lambda c: Decimal(c) / 100)
rates = st.integers(min_value=0, max_value=10_000).map(lambda bp: Decimal(bp) / 100)
positive_rates = st.integers(min_value=1, max_value=10_000).map(lambda bp: Decimal(bp) / 100)


@settings(max_examples=200, deadline=None)
@given(
    principal=centimes,
    annual_rate=positive_rates,
    frequency=st.sampled_from(list(Frequency)),
    periods=st.integers(min_value=1, max_value=60),
)
def test_installment_amount_agrees_with_numpy_financial(
    principal: Decimal, annual_rate: Decimal, frequency: Frequency, periods: int
) -> None:
    ppy = PERIODS_PER_YEAR[frequency]
    expected = pmt_oracle(principal, annual_rate, ppy, periods)
    assume(expected is not None)
    assert installment_amount(principal, annual_rate, ppy, periods) == expected


# --- properties ----------------------------------------------------------------------------


@st.composite
def schedule_terms(draw: st.DrawFn) -> ScheduleTerms:
    term = draw(st.integers(min_value=1, max_value=60))
    return ScheduleTerms(
        principal=draw(centimes),
        annual_rate=draw(rates),
        term=term,
        frequency=draw(st.sampled_from(list(Frequency))),
        interest_method=draw(st.sampled_from(list(InterestMethod))),
        amortization=draw(st.sampled_from(list(Amortization))),
        grace_periods=draw(st.integers(min_value=0, max_value=term - 1)),
        disbursed_on=draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))),
        first_due_on=None,
    )


def check_invariants(terms: ScheduleTerms, items: list[ScheduledInstallment]) -> None:
    assert len(items) == terms.term
    assert [item.seq for item in items] == list(range(1, terms.term + 1))
    principal_total, interest_total, total = schedule_totals(items)
    assert principal_total == terms.principal
    assert total == principal_total + interest_total
    balance = terms.principal
    for item in items:
        assert item.principal_due >= 0
        assert item.interest_due >= 0
        assert item.total_due == item.principal_due + item.interest_due
        assert 0 <= item.balance_after <= balance
        assert item.balance_after == balance - item.principal_due
        balance = item.balance_after
    for item in items[: terms.grace_periods]:
        assert item.principal_due == 0
    assert items[-1].balance_after == 0
    assert all(earlier.due_on < later.due_on for earlier, later in pairwise(items))


@settings(max_examples=200, deadline=None)
@given(terms=schedule_terms())
def test_schedule_invariants(terms: ScheduleTerms) -> None:
    check_invariants(terms, generate_schedule(terms))


@settings(max_examples=100, deadline=None)
@given(terms=schedule_terms())
def test_flat_interest_total_is_exact(terms: ScheduleTerms) -> None:
    assume(terms.interest_method is InterestMethod.FLAT)
    expected = round_money(
        terms.principal * terms.annual_rate * terms.term / (100 * terms.periods_per_year)
    )
    assert schedule_totals(generate_schedule(terms))[1] == expected


@pytest.mark.parametrize("interest_method", list(InterestMethod))
@pytest.mark.parametrize("amortization", list(Amortization))
@pytest.mark.parametrize(
    ("principal", "annual_rate", "term", "grace"),
    [
        ("0.01", "0", 60, 0),  # one centime over many installments
        ("0.05", "100", 60, 59),
        ("0.25", "0.06", 50, 0),
        ("100.00", "0.06", 50, 0),  # flat I = 0.25: round(I / n) * (n - 1) would exceed I
        ("1.00", "100", 10, 0),
    ],
)
def test_degenerate_inputs_keep_invariants(
    interest_method: InterestMethod,
    amortization: Amortization,
    principal: str,
    annual_rate: str,
    term: int,
    grace: int,
) -> None:
    terms = make_terms(
        principal=principal,
        annual_rate=annual_rate,
        term=term,
        grace_periods=grace,
        interest_method=interest_method,
        amortization=amortization,
    )
    check_invariants(terms, generate_schedule(terms))
