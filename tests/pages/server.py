"""A real uvicorn server over a database of its own, for the browser tests.

The database (a SQLite file, or a fresh PostgreSQL database when TEST_DATABASE_URL is
set) is migrated with Alembic and filled with a generated portfolio whose history ends
today, committed, so that the server process sees it. The server listens on a socket
bound to a free port by this process and handed over to uvicorn (`--fd`), so no fixed
port and no race for one.
"""

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.core.db import sync_url

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "browser-test-secret-key-long-enough-for-hs256"


def migrate(url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


@contextmanager
def database(backend: str, directory: Path) -> Iterator[str]:
    """A migrated, empty database of the backend, dropped afterwards (PostgreSQL)."""
    if backend == "sqlite":
        url = f"sqlite:///{directory / 'browser.db'}"
        migrate(url)
        yield url
        return
    base = os.environ["TEST_DATABASE_URL"]
    name = f"tracker_browser_{uuid.uuid4().hex[:12]}"
    admin = create_engine(sync_url(base), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        migrate(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass(frozen=True)
class Server:
    base_url: str
    host: str
    database_url: str


@contextmanager
def serve(database_url: str, log_path: Path) -> Iterator[Server]:
    """uvicorn serving `app.main:app` on a free port of 127.0.0.1 until the block ends."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "ENVIRONMENT": "development",
        "METRICS_ENABLED": "false",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:app",
                "--fd",
                str(listener.fileno()),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=[listener.fileno()],
        )
    listener.close()
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/health/live", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield Server(base_url=base_url, host=f"127.0.0.1:{port}", database_url=database_url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
