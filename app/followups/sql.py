"""Date arithmetic that SQLite and PostgreSQL both understand."""

from datetime import date
from typing import Any

from sqlalchemy import Date, Integer, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


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
