"""`tracker import KIND FILE`: the same import as the HTTP endpoint, run from a shell by a
named user (`--as`), printing the same report or the same list of bad rows."""

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.core.config import get_settings
from app.core.db import create_engine, create_sessionmaker
from app.core.errors import DomainError
from app.holders.service import YouthRange
from app.imports.kinds import ImportKind
from app.imports.reading import open_table
from app.imports.rows import ImportRejected, ImportReport, ImportSettings
from app.imports.service import run_import
from app.users.models import User
from app.users.service import actor_of


class CommandError(Exception):
    """The import was refused: `body` is the problem the HTTP endpoint would answer."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body.get("detail"))
        self.body = body


def problem_of(exc: DomainError) -> dict[str, Any]:
    body: dict[str, Any] = {"title": exc.title, "status": exc.status, "detail": exc.detail}
    if isinstance(exc, ImportRejected):
        body["errors"] = [asdict(error) for error in exc.row_errors]
    elif exc.errors:
        body["errors"] = [error.model_dump() for error in exc.errors]
    return body


async def import_file(
    kind: ImportKind,
    path: Path,
    *,
    dry_run: bool,
    centre_code: str | None,
    as_email: str | None,
    on_start: Callable[[int | None], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import `path` as the active user `as_email` (default: the first active admin), in one
    transaction, committed unless `dry_run`. `on_start(rows)` receives the number of data
    rows when the file tells it up front."""
    settings = get_settings()
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            stmt = select(User).where(User.is_active.is_(True))
            if as_email is not None:
                stmt = stmt.where(User.email == as_email.strip().lower())
            else:
                stmt = stmt.where(User.role == "admin").order_by(User.id)
            user = (await session.execute(stmt.limit(1))).scalar_one_or_none()
            if user is None:
                raise CommandError(
                    {"title": "Unknown user", "status": 401, "detail": "no such active user"}
                )
            try:
                with path.open("rb") as stream:
                    table = open_table(stream)
                    if on_start is not None:
                        on_start(table.total_rows)
                    report = await run_import(
                        session,
                        actor_of(user),
                        kind,
                        table,
                        ImportSettings(
                            today=settings.today(),
                            youth=YouthRange(settings.youth_min_age, settings.youth_max_age),
                            legal_ceiling=settings.max_loan_principal,
                            default_centre_code=centre_code,
                        ),
                        dry_run=dry_run,
                        progress=progress,
                    )
            except DomainError as exc:
                await session.rollback()
                raise CommandError(problem_of(exc)) from None
            if dry_run:
                await session.rollback()
            else:
                await session.commit()
            return report
    finally:
        await engine.dispose()


def run_command(
    kind: str, path: Path, *, dry_run: bool, centre: str | None, as_email: str | None
) -> tuple[int, dict[str, Any]]:
    """The exit code and the JSON to print; a progress bar on stderr for large files."""
    import asyncio
    import sys

    import typer

    try:
        import_kind = ImportKind(kind)
    except ValueError:
        allowed = ", ".join(k.value for k in ImportKind)
        return 2, {"title": "Unknown kind", "status": 422, "detail": f"KIND is one of {allowed}"}
    bar: Any = None
    done = 0

    def on_start(total: int | None) -> None:
        nonlocal bar
        if total is not None and total >= PROGRESS_FROM_ROWS:
            bar = typer.progressbar(length=total, label="rows", file=sys.stderr)
            bar.__enter__()

    def progress(rows: int) -> None:
        nonlocal done
        if bar is not None:
            bar.update(rows - done)
            done = rows

    try:
        report = asyncio.run(
            import_file(
                import_kind,
                path,
                dry_run=dry_run,
                centre_code=centre,
                as_email=as_email,
                on_start=on_start,
                progress=progress,
            )
        )
    except CommandError as exc:
        return 1, exc.body
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    return 0, {**asdict(report), "kind": report.kind.value}


PROGRESS_FROM_ROWS = 1000
"""Files with at least this many rows show a progress bar."""
