"""`tracker import` prints the same report as the endpoint, and the same bad rows."""

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import get_settings
from tests.imports.factories import HOLDER_COLUMNS, as_text_dates, csv_file, holder_rows


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "import.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("SECRET_KEY", "cli-test-secret-key-0123456789-0123456789")
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    created = runner.invoke(
        cli,
        [
            "users",
            "create",
            "--email",
            "admin@centre.ma",
            "--password",
            "long-enough-pw",
            "--role",
            "admin",
        ],
    )
    assert created.exit_code == 0, created.output
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO centres (code, name, kind, region, city, opened_on, version, created_at,"
            " updated_at) VALUES ('CASA01', 'Casa', 'other', 'casablanca_settat', 'Casablanca',"
            " '2020-01-01', 1, '2025-01-01', '2025-01-01')"
        )
    yield path
    get_settings.cache_clear()


def holders_in(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute("SELECT count(*) FROM holders").fetchone()[0])


def test_import_command_dry_run_then_real_then_refused(database: Path, tmp_path: Path) -> None:
    rows = as_text_dates(holder_rows(1200), french=True)
    for row in rows:
        del row["centre_code"]
    file = tmp_path / "holders.csv"
    file.write_bytes(csv_file([c for c in HOLDER_COLUMNS if c != "centre_code"], rows))
    runner = CliRunner()

    dry = runner.invoke(cli, ["import", "holders", str(file), "--dry-run", "--centre", "CASA01"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout) == {
        "kind": "holders",
        "dry_run": True,
        "rows": 1200,
        "created": 1200,
        "skipped": 0,
    }
    assert holders_in(database) == 0

    real = runner.invoke(
        cli, ["import", "holders", str(file), "--centre", "CASA01", "--as", "admin@centre.ma"]
    )
    assert real.exit_code == 0, real.output
    assert json.loads(real.stdout)["created"] == 1200
    assert holders_in(database) == 1200

    again = runner.invoke(cli, ["import", "holders", str(file), "--centre", "CASA01"])
    assert again.exit_code == 1
    problem = json.loads(again.stderr[again.stderr.index("{") :])
    assert problem["status"] == 422
    assert problem["errors"][0] == {
        "row": 2,
        "field": "national_id",
        "message": "already registered",
    }
    assert len(problem["errors"]) == 1200
    assert holders_in(database) == 1200

    unknown = runner.invoke(cli, ["import", "holders", str(file), "--as", "nobody@centre.ma"])
    assert unknown.exit_code == 1
