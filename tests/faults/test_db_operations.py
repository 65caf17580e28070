"""`tracker db backup` then `tracker db restore` into another database gives the same
report figures; `tracker db downgrade -1` parses and asks for --yes before dropping tables
that hold rows."""

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import Settings, get_settings
from app.core.db import sync_url
from app.core.security import create_access_token
from app.main import create_app
from tests.faults.databases import (
    PG_URL,
    create_postgres_database,
    drop_postgres_database,
    migrate,
)

SECRET = "backup-test-secret-key-long-enough-for-hs256"
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]
REPORTS = [
    ("portfolio", {"as_of": "2026-06-30", "group_by": "centre"}),
    ("flows", {"from": "2025-01-01", "to": "2026-06-30", "interval": "quarter"}),
    ("coaching", {"from": "2025-01-01", "to": "2026-06-30", "group_by": "month"}),
    ("impact", {"as_of": "2026-06-30", "group_by": "gender"}),
]


def run(url: str, *arguments: str) -> Any:
    """`tracker ...` with DATABASE_URL=url."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", url)
        patch.setenv("SECRET_KEY", SECRET)
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(cli, list(arguments))
        finally:
            get_settings.cache_clear()


class Databases:
    def __init__(self, backend: str, tmp_path: Path) -> None:
        self.backend, self.tmp_path = backend, tmp_path
        self.made: list[str] = []

    def new(self) -> str:
        if self.backend == "sqlite":
            url = f"sqlite:///{self.tmp_path / f'db{len(self.made)}.sqlite'}"
        else:
            assert PG_URL is not None
            url = create_postgres_database(PG_URL)
        self.made.append(url)
        return url

    def drop_all(self) -> None:
        if self.backend == "postgresql":
            assert PG_URL is not None
            for url in self.made:
                drop_postgres_database(PG_URL, url)


@pytest.fixture(params=BACKENDS)
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    made = Databases(request.param, tmp_path)
    yield made
    made.drop_all()


async def report_figures(url: str) -> list[Any]:
    app = create_app(Settings(database_url=url, secret_key=SECRET))
    engine = create_engine(sync_url(url), poolclass=NullPool)
    with engine.connect() as connection:
        admin_id = connection.execute(
            text("SELECT id FROM users WHERE role = 'admin' ORDER BY id LIMIT 1")
        ).scalar_one()
    engine.dispose()
    token, _ = create_access_token(admin_id, SECRET, 10)
    figures = []
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
        for report, params in REPORTS:
            response = await http.get(
                f"/api/v1/reports/{report}",
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200, response.text
            figures.append(response.json())
    await app.state.engine.dispose()
    return figures


def test_backup_then_restore_gives_identical_report_figures(
    databases: Databases, tmp_path: Path
) -> None:
    source = databases.new()
    assert run(source, "db", "upgrade").exit_code == 0
    loaded = run(source, "demo-data", "--scale", "1")
    assert loaded.exit_code == 0, loaded.output
    expected = asyncio.run(report_figures(source))
    assert any(row for body in expected for row in body["rows"])

    backup_file = tmp_path / "backups" / "tracker.backup"
    backed_up = run(source, "db", "backup", str(backup_file))
    assert backed_up.exit_code == 0, backed_up.output
    assert backup_file.stat().st_size > 10_000

    target = databases.new()
    refused = run(target, "db", "restore", str(backup_file))
    assert refused.exit_code == 1 and "--yes" in refused.output
    restored = run(target, "db", "restore", str(backup_file), "--yes")
    assert restored.exit_code == 0, restored.output
    assert asyncio.run(report_figures(target)) == expected


def tables(url: str) -> set[str]:
    engine = create_engine(sync_url(url), poolclass=NullPool)
    with engine.connect() as connection:
        names = set(inspect(connection).get_table_names())
    engine.dispose()
    return names


def test_downgrade_asks_before_dropping_tables_that_hold_rows(databases: Databases) -> None:
    url = databases.new()
    migrate(url)
    one_step = run(url, "db", "downgrade", "-1")
    assert one_step.exit_code == 0, one_step.output  # drops a column, no table
    assert "coaching_sessions" in tables(url)
    assert run(url, "db", "upgrade").exit_code == 0

    engine = create_engine(sync_url(url), poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO centres (code, name, kind, region, city, version, created_at, "
                "updated_at) VALUES ('C1', 'Centre', 'other', 'oriental', 'Oujda', 1, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    engine.dispose()
    refused = run(url, "db", "downgrade", "base")
    assert refused.exit_code == 1
    assert "centres (1 rows)" in refused.output and "--yes" in refused.output
    assert "centres" in tables(url)

    confirmed = run(url, "db", "downgrade", "base", "--yes")
    assert confirmed.exit_code == 0, confirmed.output
    assert "centres" not in tables(url)
