"""Imports of holders, enterprises, loans and lenders' statements (README "Imports").

Each row goes through the same path as its create endpoint: the same Pydantic create body
and the same service functions, so every rule (scope, youth range, CIN and phone formats,
product bounds, the legal ceiling, the ledger's rules) applies to it. All rows run in the
caller's one transaction; any bad row means the caller rolls everything back, and the 422
lists every bad row. A dry run is the same run rolled back by the caller.

An import is authorised as a whole by its kind's roles; each step then runs with the role
its endpoint needs and the caller's scope unchanged (a manager's loans are applied for as an
adviser of the same centre would, then approved as the manager). The per-record audit events
of those steps are folded into one `import` event with the counts.

Repayments are collected first and then applied a few hundred loans at a time, each loan's
in `paid_on` order, after locking the loans: a (loan, receipt) already recorded is skipped. Two imports of the same
statement at once wait for each other on the loans' row locks (taken in id order, so they
cannot deadlock), and the second finds the first's repayments and skips them.
"""

from collections.abc import Callable

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.errors import DomainError
from app.core.scope import Actor
from app.imports.importers import IMPORTERS
from app.imports.keys import Keys
from app.imports.kinds import SPECS, ImportKind
from app.imports.reading import MAX_ROWS, Table, TooLarge, unreadable
from app.imports.rows import (
    ImportRejected,
    ImportReport,
    ImportSettings,
    RowError,
    RowProblem,
    check_columns,
    errors_of,
    row_values,
)

PROGRESS_EVERY = 500
RELEASE_EVERY = 1000
"""Rows between two releases of the session's identity map, which keeps memory bounded."""


async def run_import(
    session: AsyncSession,
    actor: Actor,
    kind: ImportKind,
    table: Table,
    settings: ImportSettings,
    *,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import every row of `table` or raise (the caller then rolls back): 403 when the role
    may not import this kind, 422 for a bad header or no data rows, `ImportRejected` (422)
    listing every bad row, 413 past `MAX_ROWS`. Records one `import` audit event unless
    `dry_run` (which the caller rolls back anyway). `progress(rows_read)` is called every
    few hundred rows."""
    spec = SPECS[kind]
    actor.require(*spec.roles)
    check_columns(spec, table.columns)
    importer = IMPORTERS[kind](session, actor, settings, Keys(session, actor))
    report = ImportReport(kind=kind, dry_run=dry_run)
    broken = False
    with audit.summarised(session):
        for line, cells in table.rows:
            report.rows += 1
            if report.rows > MAX_ROWS:
                raise TooLarge(f"Files are limited to {MAX_ROWS} rows.")
            values, cell_errors = row_values(spec, table.columns, line, cells)
            if cell_errors:
                importer.errors.extend(cell_errors)
                continue
            missing = sorted(spec.required - values.keys())
            if missing:
                importer.errors.extend(RowError(line, name, "required") for name in missing)
                continue
            try:
                await importer.add(line, values)
            except (RowProblem, ValidationError, DomainError) as exc:
                importer.errors.extend(errors_of(exc, line, spec))
            except SQLAlchemyError:
                # A write refused by the database (a record created at the same time by
                # another request): the transaction is lost, so stop here.
                importer.errors.append(
                    RowError(line, "row", "conflicts with a change made at the same time; retry")
                )
                broken = True
                break
            if progress is not None and report.rows % PROGRESS_EVERY == 0:
                progress(report.rows)
            if report.rows % RELEASE_EVERY == 0:
                await session.flush()
                session.expunge_all()
        if report.rows == 0 and not broken:
            raise unreadable("it has no data rows")
        if not broken:
            # Also with bad rows already found: every row the ledger would refuse is named.
            await importer.finish(spec)
    if progress is not None:
        progress(report.rows)
    if importer.errors:
        raise ImportRejected(sorted(importer.errors, key=lambda e: (e.row, e.field)))
    report.created, report.skipped = importer.created, importer.skipped
    if not dry_run:
        await audit.record(
            session,
            actor_id=actor.id,
            action="import",
            entity="import",
            entity_id=None,
            centre_id=actor.centre_id,
            changes={
                "kind": kind.value,
                "rows": report.rows,
                "created": report.created,
                "skipped": report.skipped,
            },
        )
    return report


def require_import_role(actor: Actor, kind: ImportKind) -> None:
    """403 before reading the file when the role may not import this kind."""
    actor.require(*SPECS[kind].roles)
