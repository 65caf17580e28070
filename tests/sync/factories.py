"""A centre's field work for the idempotency and sync tests, dated relative to the real
today so that the same records serve a live server (which cannot have its clock frozen)."""

import asyncio
import itertools
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from httpx import AsyncClient, Response, TransportError
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool

from app.centres.models import Centre
from app.core.config import Settings
from app.core.db import sync_url
from app.enterprises.models import Enterprise
from app.holders.models import Holder
from app.loans.models import Loan
from app.users.models import User
from tests.factories import make_centre, make_enterprise, make_holder, make_user
from tests.helpers import Api
from tests.loans.factories import make_active_loan, make_application, make_world

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "test-secret-key-that-is-long-enough-for-hs256"
_numbers = itertools.count(1)


def field_day() -> date:
    # The service's "today" is in Africa/Casablanca; a day back is safe whatever the hour.
    return date.today() - timedelta(days=1)


@dataclass
class FieldWorld:
    """A centre with one user per role, a holder owning an enterprise, an active loan and a
    submitted application; and another centre with a holder the adviser may not see."""

    centre: Centre
    admin: User
    manager: User
    adviser: User
    holder: Holder
    enterprise: Enterprise
    active_loan: Loan
    application: Loan
    elsewhere_holder: Holder
    product_id: int


async def make_field_world(session: AsyncSession) -> FieldWorld:
    world = await make_world(session)
    day = field_day()
    admin = world.admin_actor
    enterprise = await make_enterprise(session, world.centre, [world.holder])
    active = await make_active_loan(
        session,
        admin,
        world.holder,
        world.product,
        disbursed_on=day - timedelta(days=120),
        today=day,
    )
    application = await make_application(
        session, admin, world.holder, world.product, applied_on=day - timedelta(days=10), today=day
    )
    other_centre = await make_centre(session)
    return FieldWorld(
        centre=world.centre,
        admin=world.admin,
        manager=world.manager,
        adviser=world.adviser,
        holder=world.holder,
        enterprise=enterprise,
        active_loan=active,
        application=application,
        elsewhere_holder=await make_holder(session, other_centre),
        product_id=world.product.id,
    )


async def make_other_adviser(session: AsyncSession, world: FieldWorld) -> User:
    return await make_user(session, "adviser", world.centre)


def holder_body(**overrides: Any) -> dict[str, Any]:
    n = next(_numbers)
    body: dict[str, Any] = {
        "first_name": "Fatima Zahra",
        "last_name": f"El Amrani {n}",
        "national_id": f"SY{n:06d}",
        "birth_date": "2001-05-17",
        "gender": "female",
        "area": "rural",
        "enrolled_on": field_day().isoformat(),
    }
    body.update(overrides)
    return body


def session_body(holder_id: Any, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "advice",
        "format": "individual",
        "mode": "field_visit",
        "held_on": field_day().isoformat(),
        "duration_minutes": 45,
        "topic": "Pricing and costing",
        "holder_ids": [holder_id],
    }
    body.update(overrides)
    return body


def enterprise_body(owner_id: Any, **overrides: Any) -> dict[str, Any]:
    n = next(_numbers)
    body: dict[str, Any] = {
        "name": f"Coopérative Tifawin {n}",
        "legal_form": "cooperative",
        "sector": "agri_food",
        "area": "rural",
        "created_on": (field_day() - timedelta(days=30)).isoformat(),
        "owner_ids": [owner_id],
    }
    body.update(overrides)
    return body


def follow_up_body(enterprise_id: Any, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "enterprise_id": enterprise_id,
        "visited_on": field_day().isoformat(),
        "mode": "field_visit",
        "enterprise_status": "active",
        "monthly_revenue": "8500.00",
    }
    body.update(overrides)
    return body


def repayment_body(amount: str = "100.00", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"amount": amount, "paid_on": field_day().isoformat()}
    body.update(overrides)
    return body


def loan_body(holder_id: int, product_id: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "holder_id": holder_id,
        "product_id": product_id,
        "principal": "10000.00",
        "term": 12,
        "purpose": "Matériel de couture",
    }
    body.update(overrides)
    return body


@dataclass
class LiveApp:
    """The application on a migrated database of its own, with a real pool."""

    app: FastAPI
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings


async def send_batch(api: Api, operations: list[dict[str, Any]]) -> Response:
    """`POST /api/v1/sync` as the user of `api`."""
    return await api.post("/api/v1/sync", {"operations": operations})


def operation(
    ref: str, path: str, body: Any, *, method: str = "POST", key: str | None = None
) -> dict[str, Any]:
    return {
        "ref": ref,
        "method": method,
        "path": path,
        "body": body,
        "idempotency_key": key or f"key-{ref}",
    }


def migrated_database(backend: str, directory: Path) -> str:
    """A database of its own at the head revision (committed data, unlike the shared test
    database whose tests roll back): a file for SQLite, a new database on the server of
    `TEST_DATABASE_URL` for PostgreSQL."""
    if backend == "sqlite":
        url = f"sqlite:///{directory / 'live.db'}"
    else:
        base = os.environ["TEST_DATABASE_URL"]
        name = f"tracker_sync_{uuid.uuid4().hex[:12]}"
        admin = create_engine(sync_url(base), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
    return url


def drop_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    base = os.environ["TEST_DATABASE_URL"]
    admin = create_engine(sync_url(base), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """`uvicorn app.main:app` in a process of its own, on a free port, that a test can kill."""

    def __init__(self, database_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "ENVIRONMENT": "development",
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET_KEY,
            "LOG_LEVEL": "WARNING",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )

    async def ready(self, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        async with AsyncClient(base_url=self.url) as client:
            while True:
                try:
                    if (await client.get("/health/live")).status_code == 200:
                        return
                except TransportError:
                    pass
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start")
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, no chance to finish the request in progress."""
        self.process.kill()
        self.process.wait(timeout=30)
