"""The README's run path: migrate, load demo data, log in with the printed credentials."""

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from httpx import ASGITransport, AsyncClient
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import Settings, get_settings
from app.main import create_app


@pytest.fixture
def fresh_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SECRET_KEY", "cli-test-secret-key-0123456789-0123456789")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_demo_data_prints_credentials_that_log_in(fresh_database: str) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0

    loaded = runner.invoke(cli, ["demo-data", "--if-empty"])
    assert loaded.exit_code == 0, loaded.output
    accounts = re.findall(r"^\s+(\w+)\s+(\S+@demo\.ma)\s+password: (\S+)$", loaded.output, re.M)
    assert {role for role, _, _ in accounts} == {"admin", "manager", "adviser", "viewer"}

    again = runner.invoke(cli, ["demo-data", "--if-empty"])
    assert again.exit_code == 0
    assert "nothing loaded" in again.output
    assert (
        re.findall(r"^\s+(\w+)\s+(\S+@demo\.ma)\s+password: (\S+)$", again.output, re.M) == accounts
    )

    asyncio.run(log_in_and_browse(fresh_database, accounts))


async def log_in_and_browse(url: str, accounts: list[tuple[str, str, str]]) -> None:
    app = create_app(Settings(database_url=url, secret_key="k" * 40))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
        for role, email, password in accounts:
            token = await http.post(
                "/api/v1/auth/token", data={"username": email, "password": password}
            )
            assert token.status_code == 200, email
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            me = await http.get("/api/v1/auth/me", headers=headers)
            assert me.json()["role"] == role
        admin_email, admin_password = next((e, p) for r, e, p in accounts if r == "admin")
        token = await http.post(
            "/api/v1/auth/token", data={"username": admin_email, "password": admin_password}
        )
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        for path in (
            "/api/v1/holders",
            "/api/v1/enterprises",
            "/api/v1/loans",
            "/api/v1/coaching-sessions",
            "/api/v1/follow-ups",
        ):
            listed = await http.get(path, headers=headers)
            assert listed.status_code == 200
            assert listed.json()["total"] > 0, path
        docs = await http.get("/docs")
        assert docs.status_code == 200
    await app.state.engine.dispose()


def test_users_create_refuses_a_short_password(fresh_database: str) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(
        cli, ["users", "create", "--email", "a@centre.ma", "--password", "short", "--role", "admin"]
    )
    assert result.exit_code == 1
    assert "password: needs at least 10 characters" in result.output
    ok = runner.invoke(
        cli,
        [
            "users",
            "create",
            "--email",
            "a@centre.ma",
            "--password",
            "long-enough-pass",
            "--role",
            "admin",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "created user" in ok.output
