"""Schemathesis over every operation of the OpenAPI document, in process, as an
authenticated admin: no generated request may get a 5xx, and every response must match
the schema documented for its status. Derived from the route table, so a new route is
covered as soon as it is included. The example count is kept small for CI time."""

import shutil
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app.core.config import Settings
from app.core.db import sync_url
from app.core.security import create_access_token, hash_password_sync
from app.main import create_app
from tests.faults.databases import migrate

SECRET = "schemathesis-secret-key-long-enough-for-hs256"
EXAMPLES = 8


def seed(url: str) -> int:
    """One centre with a holder, and an admin; returns the admin's id."""
    engine = create_engine(sync_url(url), poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO centres (id, code, name, kind, region, city, opened_on, version, "
                "created_at, updated_at) VALUES (1, 'CAS-01', 'Centre', 'enterprise_centre', "
                "'casablanca_settat', 'Casablanca', :opened, 1, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)"
            ),
            {"opened": date(2020, 1, 1)},
        )
        admin_id = connection.execute(
            text(
                "INSERT INTO users (email, full_name, password_hash, role, is_active, "
                "password_generation, version, created_at, updated_at) VALUES "
                "('admin@centre.ma', 'Admin', :hash, 'admin', true, 1, 1, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP) RETURNING id"
            ),
            {"hash": hash_password_sync("a-long-admin-passphrase")},
        ).scalar_one()
    engine.dispose()
    return int(admin_id)


# The schema is read from the app when the module is collected; the app only touches its
# database when called, which the module fixture below prepares first.
DATABASE_DIR = Path(tempfile.mkdtemp(prefix="tracker-schemathesis-"))
DATABASE_URL = f"sqlite:///{DATABASE_DIR / 'tracker.db'}"
APP = create_app(Settings(database_url=DATABASE_URL, secret_key=SECRET))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def admin_token() -> Iterator[str]:
    migrate(DATABASE_URL)
    admin_id = seed(DATABASE_URL)
    token, _ = create_access_token(admin_id, SECRET, 120)
    yield token
    shutil.rmtree(DATABASE_DIR, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_error_and_responses_match_their_schema(case: Any, admin_token: str) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {admin_token}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
