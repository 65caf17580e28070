"""The `tracker` command: migrations, users, demo data and the server."""

import asyncio
import atexit
import os
import secrets
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from alembic import command
from alembic.config import Config

from app.core.config import get_settings
from app.core.db import create_engine, create_sessionmaker
from app.core.errors import DomainError
from app.core.scope import Role

cli = typer.Typer(help="Microcredit and small-enterprise support tracker.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
users_cli = typer.Typer(help="User accounts.", no_args_is_help=True)
month_ends_cli = typer.Typer(
    help="Stored month ends: each loan's position at the end of a closed month.",
    no_args_is_help=True,
)
cli.add_typer(db_cli, name="db")
cli.add_typer(users_cli, name="users")
cli.add_typer(month_ends_cli, name="month-ends")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Demo passwords are random per installation; they are kept here so a second `make run`
# can still say how to log in.
DEMO_CREDENTIALS = Path("var") / "demo-credentials.txt"


def alembic_config() -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = get_settings().database_url
    return config


@db_cli.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Run `alembic upgrade` (to head by default)."""
    command.upgrade(alembic_config(), revision)


@db_cli.command("downgrade", context_settings={"ignore_unknown_options": True})
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="A revision id, base, or -N (N steps down).")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Drop tables even when they hold rows.")
    ] = False,
) -> None:
    """Run `alembic downgrade` to the given revision; asks for --yes before dropping tables
    that hold rows."""
    from app.core.dbops import OperationError, plan_downgrade

    config = alembic_config()
    try:
        plan = plan_downgrade(config, get_settings().database_url, revision)
    except OperationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    if plan.loses_rows and not yes:
        lost = ", ".join(f"{table} ({rows} rows)" for table, rows in plan.dropped_rows.items())
        typer.echo(
            f"Downgrading {plan.current} to {plan.target} drops tables that hold data: {lost}.\n"
            "Back up first (tracker db backup PATH), then run again with --yes.",
            err=True,
        )
        raise typer.Exit(code=1)
    command.downgrade(config, plan.target)
    typer.echo(f"downgraded {plan.current} to {plan.target}")


@db_cli.command("backup")
def db_backup(path: Annotated[Path, typer.Argument(help="The file to write.")]) -> None:
    """Copy the whole database to PATH (pg_dump on PostgreSQL, the online backup API on
    SQLite); safe while the service runs."""
    from app.core.dbops import OperationError, backup

    try:
        backup(get_settings().database_url, path)
    except OperationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(f"backed up to {path}")


@db_cli.command("restore")
def db_restore(
    path: Annotated[Path, typer.Argument(help="A file written by `tracker db backup`.")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: the database's content is replaced.")
    ] = False,
) -> None:
    """Replace the database's content with the backup at PATH (stop the service first)."""
    from app.core.dbops import OperationError, restore

    if not yes:
        typer.echo("Restoring replaces everything in the database; run again with --yes.", err=True)
        raise typer.Exit(code=1)
    try:
        restore(get_settings().database_url, path)
    except OperationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(f"restored from {path}")


@db_cli.command("check")
def db_check(
    sample: Annotated[
        int, typer.Option(min=0, help="Loans to check, drawn at random (0: every loan).")
    ] = 1000,
) -> None:
    """Replay a sample of loans' ledgers and compare them with the stored figures; exits
    with code 1 when any differ."""
    from app.checks.ledgers import check_loans, sample_loan_ids

    async def run() -> tuple[int, int]:
        engine = create_engine(get_settings().database_url)
        checked = mismatches = 0
        try:
            async with create_sessionmaker(engine)() as session:
                loan_ids = await sample_loan_ids(session, sample)
                checked = len(loan_ids)
                async for mismatch in check_loans(session, loan_ids):
                    mismatches += 1
                    typer.echo(str(mismatch))
        finally:
            await engine.dispose()
        return checked, mismatches

    checked, mismatches = asyncio.run(run())
    typer.echo(f"{checked} loans checked, {mismatches} mismatches")
    if mismatches:
        raise typer.Exit(code=1)


@users_cli.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Login email.")],
    password: Annotated[str, typer.Option(help="At least 10 characters.")],
    role: Annotated[Role, typer.Option(help="admin, manager, adviser or viewer.")],
    centre: Annotated[int | None, typer.Option(help="Centre id (required for advisers).")] = None,
    full_name: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    """Create a user account."""
    try:
        user_id = asyncio.run(
            _create_user_account(email, password, role, centre, full_name or email.split("@")[0])
        )
    except DomainError as exc:
        reasons = [f"{error.field}: {error.message}" for error in exc.errors or []]
        typer.echo(f"error: {'; '.join(reasons) or exc.detail}", err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(f"created user {user_id} ({email}, {role.value})")


async def _create_user_account(
    email: str, password: str, role: Role, centre_id: int | None, full_name: str
) -> int:
    # Imported here: the users service hashes a password when it loads.
    from app.users.service import create_user_account

    engine = create_engine(get_settings().database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            user = await create_user_account(
                session,
                email=email,
                password=password,
                role=role,
                centre_id=centre_id,
                full_name=full_name,
            )
            await session.commit()
            return user.id
    finally:
        await engine.dispose()


@month_ends_cli.command("store")
def month_ends_store(
    months: Annotated[
        int, typer.Option(min=1, max=120, help="How many closed month ends, back from today.")
    ] = 1,
    month_end: Annotated[
        str | None, typer.Option(help="One month end (YYYY-MM-DD) instead of --months.")
    ] = None,
    again: Annotated[
        bool, typer.Option("--again", help="Store again the month ends already stored.")
    ] = False,
) -> None:
    """Store the loans' positions at closed month ends, so that the portfolio as of those
    dates reads them, then fold the active loans' arrears up to the first day of this month,
    so that the portfolio as of today reads only the installments due since (run it on the
    first day of each month, e.g. from cron). Each month end is one transaction, the fold
    one per 5,000 loans; writes dated before a month end wait for it, then keep it exact."""
    try:
        wanted = [date.fromisoformat(month_end)] if month_end else None
    except ValueError as exc:
        typer.echo(f"error: --month-end: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    try:
        _store_month_ends(months, wanted, again=again)
        _fold_arrears()
    except DomainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc


def _store_month_ends(months: int, wanted: list[date] | None, *, again: bool = False) -> None:
    """Store `wanted`, or the last `months` closed month ends, saying what each took."""
    from app.loans.month_ends import month_ends_before, store_month_ends

    settings = get_settings()
    today = settings.today()

    def said(day: date, loans: int | None, seconds: float) -> None:
        if loans is None:
            typer.echo(f"{day}: already stored")
        else:
            typer.echo(f"{day}: {loans:,} outstanding loans stored in {seconds:.1f} s")

    async def run() -> None:
        engine = create_engine(settings.database_url)
        try:
            await store_month_ends(
                create_sessionmaker(engine),
                wanted or month_ends_before(today, months),
                today=today,
                again=again,
                on_done=said,
            )
        finally:
            await engine.dispose()

    asyncio.run(run())


def _fold_arrears() -> None:
    """Fold every active loan's arrears up to the first day of today's month, saying how
    many and how long it took."""
    from app.loans.arrears import fold_arrears, fold_date

    settings = get_settings()
    today = settings.today()
    through = fold_date(today)

    async def run() -> int:
        engine = create_engine(settings.database_url)
        try:
            return await fold_arrears(create_sessionmaker(engine), through=through, today=today)
        finally:
            await engine.dispose()

    started = time.perf_counter()
    folded = asyncio.run(run())
    typer.echo(
        f"arrears folded up to {through}: {folded:,} active loans "
        f"in {time.perf_counter() - started:.1f} s"
    )


@month_ends_cli.command("check")
def month_ends_check() -> None:
    """Compare every stored month end with the positions computed from the ledger now;
    exits with code 1 when any loan differs."""
    from app.loans.month_ends import differing_loans, stored_month_ends

    async def run() -> int:
        engine = create_engine(get_settings().database_url)
        differing = 0
        try:
            async with create_sessionmaker(engine)() as session:
                for day in await stored_month_ends(session):
                    loan_ids = await differing_loans(session, day)
                    differing += len(loan_ids)
                    shown = ", ".join(str(loan_id) for loan_id in loan_ids[:20])
                    typer.echo(
                        f"{day}: {len(loan_ids)} loans differ" + (f": {shown}" if shown else "")
                    )
        finally:
            await engine.dispose()
        return differing

    if asyncio.run(run()):
        raise typer.Exit(code=1)


@cli.command("demo-data")
def demo_data(
    scale: Annotated[int, typer.Option(min=1, max=200, help="Multiplies the volume.")] = 1,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when users already exist.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Random seed, for a reproducible data set.")] = 2026,
    loans: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=2_500_000,
            help="Generate a national portfolio of this many loans instead (fast bulk load "
            "into an empty database).",
        ),
    ] = None,
    centres: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=1000,
            help="Centres of the national portfolio (default: one per 5,000 loans, at least 12).",
        ),
    ] = None,
    month_ends: Annotated[
        int,
        typer.Option(
            min=0, max=120, help="Closed month ends to store after loading (tracker month-ends)."
        ),
    ] = 12,
) -> None:
    """Load a realistic demo data set and print how to log in.

    Without --loans: a small data set written through the services (--scale multiplies it).
    With --loans N: a national portfolio of N loans with their holders, enterprises,
    coaching and follow-ups, reproducible from --seed.
    """
    if loans is not None:
        credentials = _national_portfolio(loans, centres, seed, if_empty)
    else:
        from app.demo.loader import load_demo_data

        credentials = asyncio.run(load_demo_data(scale=scale, if_empty=if_empty, seed=seed))
    if credentials is None:
        typer.echo("Demo data: the database already has users; nothing loaded.")
        if not DEMO_CREDENTIALS.exists():
            return
        credentials = [
            (email, password, role)
            for email, password, role in (
                line.split("\t") for line in DEMO_CREDENTIALS.read_text().splitlines() if line
            )
        ]
    else:
        if month_ends:
            _store_month_ends(month_ends, None)
        _fold_arrears()
        DEMO_CREDENTIALS.parent.mkdir(parents=True, exist_ok=True)
        DEMO_CREDENTIALS.write_text("".join(f"{e}\t{p}\t{r}\n" for e, p, r in credentials))
        DEMO_CREDENTIALS.chmod(0o600)
    typer.echo("Log in at http://127.0.0.1:8000/docs (Authorize) with one of the demo accounts:")
    for email, password, role in credentials:
        typer.echo(f"  {role:<8} {email:<24} password: {password}")
    typer.echo(f"(kept in {DEMO_CREDENTIALS})")


def _national_portfolio(
    loans: int, centres: int | None, seed: int, if_empty: bool
) -> list[tuple[str, str, str]] | None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from app.demo.national.load import GenerationRefused, generate

    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress("Generating loans", *columns, transient=False) as progress:
        task = progress.add_task("loans", total=loans)
        try:
            outcome = generate(
                get_settings(),
                loans=loans,
                centres=centres,
                seed=seed,
                if_empty=if_empty,
                on_batch=lambda done: progress.advance(task, done),
            )
        except GenerationRefused as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=1) from exc
    if outcome is None:
        return None
    typer.echo(", ".join(f"{count:,} {table}" for table, count in outcome.rows.items()))
    return outcome.credentials


@cli.command("import")
def import_command(
    kind: Annotated[str, typer.Argument(help="holders, enterprises, loans or repayments.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or XLSX.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check everything, write nothing.")] = (
        False
    ),
    centre: Annotated[
        str | None, typer.Option(help="Centre code of rows without centre_code.")
    ] = None,
    as_email: Annotated[
        str | None, typer.Option("--as", help="Import as this user (default: the first admin).")
    ] = None,
) -> None:
    """Import a CSV or XLSX file as POST /api/v1/imports/KIND does; prints the same report."""
    import json

    from app.imports.command import run_command

    code, output = run_command(kind, file, dry_run=dry_run, centre=centre, as_email=as_email)
    typer.echo(json.dumps(output, ensure_ascii=False, indent=2), err=code != 0)
    raise typer.Exit(code=code)


@cli.command("serve")
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(min=1)] = 1,
    reload: Annotated[bool, typer.Option("--reload")] = False,
) -> None:
    """Serve the API with uvicorn."""
    settings = get_settings()
    if settings.environment == "development" and not os.environ.get("SECRET_KEY"):
        # Every worker must sign and check tokens with the same key.
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(48)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its metrics there; /metrics sums them (app/core/metrics.py).
        metrics_dir = tempfile.mkdtemp(prefix="tracker-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        atexit.register(shutil.rmtree, metrics_dir, ignore_errors=True)
    uvicorn.run(
        "app.main:app",
        host=host,
        port=port,
        workers=None if reload else workers,
        reload=reload,
        proxy_headers=True,
    )


def main() -> None:
    cli()
