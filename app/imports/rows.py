"""What every import kind shares: the row errors and report, the checks of the header row,
and a row's values as its create body sees them."""

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from app.core.errors import DomainError
from app.core.scope import Actor, Role
from app.holders import service as holders
from app.imports.cells import parse_date, parse_decimal
from app.imports.kinds import ImportKind, KindSpec
from app.imports.reading import Cell


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str


class ImportRejected(DomainError):
    """A file with bad rows: nothing is written; `row_errors` lists every one."""

    status = 422
    title = "Validation failed"

    def __init__(self, row_errors: list[RowError]) -> None:
        rows = len({error.row for error in row_errors})
        super().__init__(f"{rows} row(s) have errors; nothing was imported.")
        self.row_errors = row_errors


@dataclass
class ImportReport:
    kind: ImportKind
    dry_run: bool
    rows: int = 0
    created: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class ImportSettings:
    today: date
    youth: holders.YouthRange
    legal_ceiling: Decimal
    default_centre_code: str | None = None
    """The centre of rows without `centre_code` (holders and enterprises); by default the
    caller's."""


class RowProblem(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def acting_as(actor: Actor, roles: tuple[Role, ...]) -> Actor:
    """The caller, with a role that `roles` allows and the same scope: an adviser and a
    manager with the same `centre_id` see exactly the same records."""
    if actor.role in roles:
        return actor
    return replace(actor, role=next(role for role in roles if role != Role.admin))


class BadColumns(DomainError):
    status = 422
    title = "Validation failed"


def check_columns(spec: KindSpec, columns: list[str]) -> None:
    """422 naming every unknown, duplicated or missing required column."""
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name in columns:
        if name == "":
            problems.append(("columns", "a column has no name"))
        elif name not in spec.columns:
            problems.append((name, "unknown column"))
        elif name in seen:
            problems.append((name, "the column appears twice"))
        seen.add(name)
    for name in sorted(spec.required - seen):
        problems.append((name, "missing required column"))
    if problems:
        summary = "; ".join(f"{name}: {message}" for name, message in problems)
        raise BadColumns(summary, errors=problems)


def row_values(
    spec: KindSpec, columns: list[str], line: int, cells: list[Cell]
) -> tuple[dict[str, Any], list[RowError]]:
    """The row as a create body's raw values (empty cells left out), dates and amounts
    normalised; a value outside the named columns is an error."""
    values: dict[str, Any] = {}
    errors: list[RowError] = []
    for index, cell in enumerate(cells):
        if cell is None:
            continue
        if index >= len(columns) or columns[index] == "":
            errors.append(RowError(line, "row", "a value lies outside the named columns"))
            continue
        name = columns[index]
        try:
            if name in spec.dates:
                values[name] = parse_date(cell)
            elif name in spec.decimals:
                values[name] = parse_decimal(cell)
            else:
                values[name] = cell.isoformat() if isinstance(cell, date) else cell
        except ValueError as exc:
            errors.append(RowError(line, name, str(exc)))
    return values, errors


def errors_of(exc: Exception, line: int, spec: KindSpec) -> list[RowError]:
    def column(name: str) -> str:
        return spec.renamed.get(name, name)

    if isinstance(exc, ValidationError):
        found = []
        for item in exc.errors():
            location = [str(part) for part in item.get("loc", ())]
            name = column(location[0]) if location else "row"
            found.append(RowError(line, name, str(item.get("msg", "invalid value"))))
        return found
    if isinstance(exc, RowProblem):
        return [RowError(line, exc.field, exc.message)]
    assert isinstance(exc, DomainError)
    if exc.errors:
        return [RowError(line, column(e.field), e.message) for e in exc.errors]
    return [RowError(line, "row", exc.detail)]
