"""Portable SQL building blocks: day and month arithmetic, calendar parts, exact money
sums.

Each construct compiles to the same result on SQLite and PostgreSQL, so the queries that
use them are written once.
"""

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    Select,
    cast,
    extract,
    func,
    literal,
    literal_column,
    type_coerce,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

from app.core.money import MONEY

__all__ = [
    "AddMonths",
    "AnySelect",
    "days_after",
    "money",
    "money_sum",
    "money_sum_where",
    "month_of",
    "year_of",
    "zero_money",
]

AnySelect = Select[*tuple[Any, ...]]
"""A SELECT of any columns."""


class AddMonths(FunctionElement[date]):
    """`value` plus a whole number of calendar months, clamped to the month's last day
    (2024-02-29 + 12 months = 2025-02-28), as `app.reports.dates.add_months` does."""

    type = Date()
    inherit_cache = True
    name = "add_months"
    # The month count is rendered into the SQL text, so it must be part of the cache key.
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy reads it on the class)
        *FunctionElement._traverse_internals,
        ("months", InternalTraversal.dp_plain_obj),
    ]

    def __init__(self, value: Any, months: int) -> None:
        self.months = int(months)
        super().__init__(value)


@compiles(AddMonths, "postgresql")
def _add_months_postgresql(element: AddMonths, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = element.clauses
    # PostgreSQL clamps date + interval to the end of the month.
    return (
        f"CAST({compiler.process(value, **kw)} + make_interval(months => {element.months}) AS DATE)"
    )


@compiles(AddMonths, "sqlite")
def _add_months_sqlite(element: AddMonths, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = element.clauses
    operand = compiler.process(value, **kw)
    shifted = f"date({operand}, '{element.months:+d} months')"
    # SQLite overflows into the next month (2025-01-31 + 1 month = 2025-03-03); when the
    # day changed, the clamped answer is the last day of the month before.
    return (
        f"CASE WHEN strftime('%d', {shifted}) <> strftime('%d', {operand}) "
        f"THEN date({shifted}, 'start of month', '-1 day') ELSE {shifted} END"
    )


def year_of(value: Any) -> ColumnElement[int]:
    return cast(extract("year", value), Integer)


def month_of(value: Any) -> ColumnElement[int]:
    return cast(extract("month", value), Integer)


def money(expression: Any) -> ColumnElement[Decimal]:
    """Read a result as NUMERIC(14,2): SQLite returns sums as floats, rounded back here to
    the centime (every stored amount is a whole number of centimes)."""
    return type_coerce(expression, MONEY)


def money_sum(expression: Any) -> ColumnElement[Decimal]:
    """SUM that is 0.00, not NULL, over no rows."""
    return money(func.coalesce(func.sum(expression), 0))


def money_sum_where(expression: Any, condition: ColumnElement[bool]) -> ColumnElement[Decimal]:
    """SUM over the rows that meet `condition` (an aggregate FILTER, on SQLite and
    PostgreSQL alike), 0.00 over none."""
    return money(func.coalesce(func.sum(expression).filter(condition), 0))


def zero_money() -> ColumnElement[Decimal]:
    return cast(literal_column("0"), MONEY)


class days_after(FunctionElement[date]):
    """`day + days` as a date: `date(day, '+N days')` on SQLite, `day + N` on PostgreSQL."""

    type = Date()
    name = "days_after"
    inherit_cache = True

    def __init__(self, day: ColumnElement[Any], days: int) -> None:
        super().__init__(day, literal(days, Integer()))


@compiles(days_after, "sqlite")
def _days_after_sqlite(element: days_after, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = list(element.clauses)
    return (
        f"date({compiler.process(day, **kw)}, printf('%+d days', {compiler.process(days, **kw)}))"
    )


@compiles(days_after, "postgresql")
def _days_after_postgresql(element: days_after, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = list(element.clauses)
    return f"(CAST({compiler.process(day, **kw)} AS DATE) + CAST({compiler.process(days, **kw)} AS INTEGER))"
