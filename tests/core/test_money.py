from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from app.core.money import Money, Rate, format_money, ratio, round_money


class Amount(BaseModel):
    amount: Money
    rate: Rate = Decimal("0")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("12500.00", "12500.00"),
        ("12500", "12500.00"),
        ("0.5", "0.50"),
        (945.6, "945.60"),
        (12, "12.00"),
    ],
)
def test_amounts_accept_strings_and_numbers_with_two_decimals(given: object, expected: str) -> None:
    parsed = Amount.model_validate({"amount": given})
    assert parsed.model_dump(mode="json")["amount"] == expected


@pytest.mark.parametrize(
    "given",
    ["12.345", 12.345, "1_000.00", "１２.00", "1e3", "100.100", "12,50", "NaN", "Infinity", ""],
)
def test_amounts_refuse_anything_else(given: object) -> None:
    with pytest.raises(ValidationError):
        Amount.model_validate({"amount": given})


def test_rates_are_bounded_percentages() -> None:
    assert Amount.model_validate({"amount": 1, "rate": "100.00"}).rate == Decimal("100.00")
    for bad in ("100.01", "-1", "18.005"):
        with pytest.raises(ValidationError):
            Amount.model_validate({"amount": 1, "rate": bad})


def test_rounding_is_half_up_to_the_centime() -> None:
    assert round_money(Decimal("0.005")) == Decimal("0.01")
    assert round_money(Decimal("2.675")) == Decimal("2.68")
    assert round_money(Decimal("-0.005")) == Decimal("-0.01")
    assert format_money(Decimal("7")) == "7.00"
    assert ratio(Decimal("1"), Decimal("3")) == Decimal("0.3333")
    assert ratio(Decimal("2"), Decimal("3")) == Decimal("0.6667")
    assert ratio(Decimal("1"), Decimal("0")) is None
