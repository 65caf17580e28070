"""What the lenders, loan products and loans routers share: id parameters and the page
envelope.

Ids are bounded to what the database's INTEGER columns hold, so that an out-of-range id is
a 422 naming the parameter on SQLite and PostgreSQL alike (never a driver overflow).
"""

from collections.abc import Callable, Iterable
from typing import Annotated, TypeVar

from fastapi import Path, Query

from app.core.pagination import Page, PageParams
from app.loans.schemas import MAX_ID

Row = TypeVar("Row")
Out = TypeVar("Out")

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def page_of(
    rows: Iterable[Row], total: int, page: PageParams, render: Callable[[Row], Out]
) -> Page[Out]:
    """The `{items, total, limit, offset}` envelope of one page of rows."""
    return Page(
        items=[render(row) for row in rows], total=total, limit=page.limit, offset=page.offset
    )
