"""The `{items, total, limit, offset}` envelope, page parameters and whitelisted sorting."""

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from app.core.errors import RuleViolation

T = TypeVar("T")
Row = TypeVar("Row")
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size, 1 to 500.")] = 50,
    offset: Annotated[int, Query(ge=0, description="Rows to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


def sorting(
    allowed: Mapping[str, ColumnElement[Any] | InstrumentedAttribute[Any]], default: str
) -> Callable[..., Awaitable[list[ColumnElement[Any]]]]:
    """A dependency that turns `sort=field` / `sort=-field` into ORDER BY clauses.

    Only whitelisted fields are accepted (422 otherwise); the first allowed column
    (the id) always breaks ties so that pages are stable.
    """
    tiebreak = next(iter(allowed.values()))
    names = ", ".join(sorted(allowed))

    async def parse(
        sort: Annotated[
            str | None,
            Query(description=f"Sort field, `-field` for descending. One of: {names}."),
        ] = None,
    ) -> list[ColumnElement[Any]]:
        spec = sort or default
        clauses: list[ColumnElement[Any]] = []
        for raw in spec.split(","):
            token = raw.strip()
            descending = token.startswith("-")
            name = token.lstrip("-")
            if name not in allowed:
                raise RuleViolation("sort", f"unknown sort field {name!r}; allowed: {names}")
            column = allowed[name]
            clauses.append(column.desc() if descending else column.asc())
        clauses.append(tiebreak.asc())
        return clauses

    return parse


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    params: PageParams,
    order_by: Sequence[ColumnElement[Any]],
) -> tuple[list[Any], int]:
    """Run one page of `stmt` and its total count (two statements)."""
    count_stmt = select(func.count()).select_from(stmt.order_by(None).subquery())
    total = (await session.execute(count_stmt)).scalar_one()
    rows = await session.execute(stmt.order_by(*order_by).limit(params.limit).offset(params.offset))
    return list(rows.scalars().unique().all()), int(total)


def page_of(
    rows: Iterable[Row], total: int, page: PageParams, render: Callable[[Row], T]
) -> Page[T]:
    """The `{items, total, limit, offset}` envelope of one page of rows."""
    return Page(
        items=[render(row) for row in rows], total=total, limit=page.limit, offset=page.offset
    )
