"""Operator tasks on the database: backups, restores and guarded downgrades.

- PostgreSQL is backed up with `pg_dump --format=custom` and restored with `pg_restore
  --clean --single-transaction` (the client tools of the server's major version must be
  on PATH); the password travels in the environment (PGPASSWORD), never on the command line.
- SQLite is copied with its online backup API, safe while the service runs.
- A downgrade lists the tables it would drop (those created by the migrations it undoes)
  and how many rows each holds, so that the command can ask before losing data.
"""

import os
import re
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from app.core.db import sync_url

CREATE_TABLE = re.compile(r"op\.create_table\(\s*[\"'](\w+)[\"']")
RELATIVE = re.compile(r"-([0-9]+)")


class OperationError(Exception):
    """A backup, restore or downgrade that cannot go ahead; the message says why."""


def _postgres_environment(url: URL) -> dict[str, str]:
    environment = dict(os.environ)
    for variable, value in (
        ("PGHOST", url.host),
        ("PGPORT", str(url.port) if url.port else None),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value:
            environment[variable] = str(value)
    return environment


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise OperationError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _run(arguments: list[str], url: URL) -> None:
    try:
        done = subprocess.run(
            arguments, env=_postgres_environment(url), capture_output=True, text=True, check=False
        )
    except FileNotFoundError as exc:
        raise OperationError(f"{arguments[0]} is not installed (PostgreSQL client tools)") from exc
    if done.returncode != 0:
        raise OperationError(f"{arguments[0]} failed: {done.stderr.strip()}")


def backup(database_url: str, path: Path) -> None:
    """Write a complete copy of the database to `path`."""
    url = make_url(database_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "postgresql":
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(path)], url)
        return
    source = sqlite3.connect(_sqlite_path(url))
    target = sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def restore(database_url: str, path: Path) -> None:
    """Replace the database's whole content with the backup at `path`."""
    if not path.is_file():
        raise OperationError(f"no backup file at {path}")
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--dbname",
                str(url.database),
                str(path),
            ],
            url,
        )
        return
    target_path = _sqlite_path(url)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(path)
    target = sqlite3.connect(target_path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


@dataclass(frozen=True)
class DowngradePlan:
    current: str | None
    target: str  # a revision id, or "base"
    undone: list[str]  # revisions undone, newest first
    dropped_rows: dict[str, int]  # tables the downgrade drops -> rows they hold now

    @property
    def loses_rows(self) -> bool:
        return any(self.dropped_rows.values())


def _current_revision(database_url: str) -> str | None:
    engine = create_engine(sync_url(database_url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    finally:
        engine.dispose()
    if len(rows) > 1:
        raise OperationError("the database has several migration heads; downgrade with alembic")
    return str(rows[0][0]) if rows else None


def _down_revision(script: ScriptDirectory, revision: str) -> str | None:
    down = script.get_revision(revision).down_revision
    if isinstance(down, tuple | list):
        raise OperationError(f"{revision} merges several revisions; downgrade with alembic")
    return down


def plan_downgrade(config: Config, database_url: str, target: str) -> DowngradePlan:
    """What `downgrade target` would do: `target` is a revision id, `base`, or `-N` (N
    steps down from the database's current revision)."""
    script = ScriptDirectory.from_config(config)
    current = _current_revision(database_url)
    if current is None:
        raise OperationError("the database has no migration applied; nothing to downgrade")
    undone: list[str] = []
    revision: str | None = current
    relative = RELATIVE.fullmatch(target)
    if relative:
        for _ in range(int(relative.group(1))):
            if revision is None:
                raise OperationError(f"{target}: fewer revisions than that are applied")
            undone.append(revision)
            revision = _down_revision(script, revision)
        resolved = revision or "base"
    else:
        resolved = target
        wanted = None if target == "base" else script.get_revision(target).revision
        while revision != wanted:
            if revision is None:
                raise OperationError(f"{target} is not below the current revision {current}")
            undone.append(revision)
            revision = _down_revision(script, revision)
    tables: list[str] = []
    for revision_id in undone:
        source = Path(script.get_revision(revision_id).path).read_text(encoding="utf-8")
        tables += CREATE_TABLE.findall(source)
    return DowngradePlan(current, resolved, undone, _row_counts(database_url, tables))


def _row_counts(database_url: str, tables: list[str]) -> dict[str, int]:
    engine = create_engine(sync_url(database_url), poolclass=NullPool)
    counts: dict[str, int] = {}
    try:
        with engine.connect() as connection:
            present = set(inspect(connection).get_table_names())
            for table in tables:
                if table in present:
                    quoted = connection.dialect.identifier_preparer.quote(table)
                    counts[table] = int(
                        connection.execute(text(f"SELECT count(*) FROM {quoted}")).scalar_one()
                    )
    finally:
        engine.dispose()
    return counts
