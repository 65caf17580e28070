"""Money, rates and ratios: Decimal in, two-decimal strings out (never binary floats)."""

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema
from sqlalchemy import Numeric

CENT = Decimal("0.01")
MONEY = Numeric(14, 2)
"""The column type of every amount: NUMERIC(14,2), read back as Decimal."""
BASIS = Decimal("0.0001")


def round_money(value: Decimal) -> Decimal:
    """ROUND_HALF_UP to the centime, as docs/ARITHMETIC.md prescribes at every step."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def round_ratio(value: Decimal) -> Decimal:
    return value.quantize(BASIS, rounding=ROUND_HALF_UP)


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """A four-decimal ratio, or None when the denominator is zero."""
    if denominator == 0:
        return None
    return round_ratio(Decimal(numerator) / Decimal(denominator))


def format_money(value: Decimal) -> str:
    return f"{round_money(Decimal(value)):.2f}"


def format_ratio(value: Decimal) -> str:
    return f"{round_ratio(Decimal(value)):.4f}"


PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]{1,2})?")


def plain_amount(value: Any) -> Any:
    """Amounts given as text are plain ASCII decimals with at most two decimals: no
    exponent, no digit separators, no other digits than 0-9, no trailing zeros beyond."""
    if isinstance(value, str) and not PLAIN_DECIMAL.fullmatch(value.strip()):
        raise ValueError("must be a decimal number with at most two decimals, e.g. 12500.00")
    return value


_money_example = WithJsonSchema(
    {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["12500.00"]}, mode="serialization"
)

Money = Annotated[
    Decimal,
    BeforeValidator(plain_amount),
    Field(max_digits=14, decimal_places=2),
    PlainSerializer(format_money, return_type=str, when_used="json"),
    _money_example,
]
"""An amount in MAD: accepts a string or a number with at most two decimals."""

NonNegativeMoney = Annotated[Money, Field(ge=0)]
PositiveMoney = Annotated[Money, Field(gt=0)]

Rate = Annotated[
    Decimal,
    BeforeValidator(plain_amount),
    Field(ge=0, le=100, max_digits=5, decimal_places=2),
    PlainSerializer(format_money, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "examples": ["18.00"]}, mode="serialization"),
]
"""An annual nominal rate in percent, 0 to 100, e.g. "18.00"."""

Ratio = Annotated[
    Decimal,
    PlainSerializer(format_ratio, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "examples": ["0.0525"]}, mode="serialization"),
]
"""A ratio with four decimals, e.g. "0.0525" for 5.25 %."""
