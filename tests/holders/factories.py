"""Helpers for the holders, enterprises and timeline tests."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import unique


def holder_payload(**overrides: Any) -> dict[str, Any]:
    """A valid POST /holders body with a fresh CIN."""
    body: dict[str, Any] = {
        "first_name": "Hajar",
        "last_name": "Bennani",
        "national_id": f"HB{unique() % 1_000_000:06d}",
        "birth_date": "2000-05-17",
        "gender": "female",
        "area": "urban",
        "enrolled_on": "2024-01-15",
    }
    body.update(overrides)
    return body


@contextmanager
def recorded_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement sent to the database while the block runs."""
    statements: list[str] = []

    def record(
        _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def selects(statements: list[str]) -> list[str]:
    """The SELECT statements (leaving out BEGIN, SAVEPOINT and RELEASE)."""
    return [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
