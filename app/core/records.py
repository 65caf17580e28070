"""Reading records in the caller's scope: one way for holders and the domains built on
them (enterprises, coaching sessions, follow-ups)."""

from collections.abc import Mapping
from datetime import date
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.core.errors import NotFound, RuleViolation
from app.core.scope import Actor, centre_filter, ensure_visible, visible_to
from app.core.text import search_words


class CentreRecord(Protocol):
    @property
    def centre_id(self) -> int: ...


R = TypeVar("R", bound=CentreRecord)
S = TypeVar("S", bound=Select[Any])


async def get_in_scope(
    session: AsyncSession, actor: Actor, model: type[R], record_id: int, what: str
) -> R:
    """The record with this id; a missing one and one outside the caller's centre are the
    same 404 ("<what> not found.")."""
    record = await session.get(model, record_id)
    if record is None:
        raise NotFound(f"{what} not found.")
    ensure_visible(record.centre_id, actor, what)
    return record


def listed_in_scope(
    stmt: S, centre_column: InstrumentedAttribute[int], actor: Actor, centre_id: int | None
) -> S:
    """A list's rows in the caller's scope (in SQL), narrowed to the `centre_id` filter when
    one is given (404 for a centre outside the scope)."""
    stmt = visible_to(stmt, centre_column, actor)
    if centre_id is not None:
        stmt = stmt.where(centre_column == centre_filter(actor, centre_id))
    return stmt


def where_equal(stmt: S, equalities: Mapping[InstrumentedAttribute[Any], object]) -> S:
    """Keep the rows whose column equals each given value; `None` means no filter."""
    for column, value in equalities.items():
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


def where_words(stmt: S, folded_column: InstrumentedAttribute[str], query: str | None) -> S:
    """Keep the rows whose folded text contains every word of a `q` parameter, so that the
    match ignores case and, for Latin script, accents (`hajar` finds `Hâjar`)."""
    for word in search_words(query or ""):
        stmt = stmt.where(folded_column.contains(word, autoescape=True))
    return stmt


def within_dates(
    stmt: Select[Any],
    column: InstrumentedAttribute[date],
    start: date | None,
    end: date | None,
) -> Select[Any]:
    """Keep the rows whose `column` lies in [`start`, `end`], both ends included (either
    may be open); a `from` after `to` is a 422 naming `from`."""
    if start is not None and end is not None and start > end:
        raise RuleViolation("from", "must not be after `to`")
    if start is not None:
        stmt = stmt.where(column >= start)
    if end is not None:
        stmt = stmt.where(column <= end)
    return stmt
