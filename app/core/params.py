"""Path and query parameters shared by the routers.

Ids are bounded to what the database's INTEGER columns hold, so that an out-of-range id is
the same 422 naming the parameter on SQLite and PostgreSQL (never a driver overflow).
"""

from typing import Annotated

from fastapi import Path, Query
from pydantic import StringConstraints

from app.core.text import NoNul

DB_INT_MAX = 2_147_483_647
"""The largest id an INTEGER column holds on every supported database."""


def fits_id_column(value: int) -> bool:
    """Whether `value` can be a record's id at all. Any other value names no record, and is
    answered as a missing one without reaching the database (whose drivers fail on integers
    beyond the column's range, each in its own way)."""
    return 1 <= value <= DB_INT_MAX


PathId = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="The record's id.")]
QueryId = Annotated[int | None, Query(ge=1, le=DB_INT_MAX)]
SearchWords = Annotated[str, StringConstraints(min_length=1, max_length=100), NoNul]
"""The text of a `q` search parameter: 1 to 100 characters."""
