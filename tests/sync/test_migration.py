"""Migration 0007 carries the loan-scoped repayment keys over: a retry sent across the
upgrade is still answered from the stored response."""

import asyncio
import hashlib
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from httpx import ASGITransport, AsyncClient
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import func, select, text
from sqlalchemy.pool import NullPool

from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker, sync_url
from app.core.idempotency import IdempotentRequest
from app.loans import repayments
from app.loans.models import LoanTransaction
from app.main import create_app
from app.users.service import actor_of
from tests.helpers import auth
from tests.sync.factories import (
    ROOT,
    SECRET_KEY,
    drop_database,
    field_day,
    make_field_world,
    migrated_database,
)

BACKENDS = ["sqlite", "postgresql"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]


@pytest.fixture(params=BACKENDS)
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url = migrated_database(request.param, tmp_path)
    yield url
    drop_database(url)


def alembic(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    return config


def insert_old_key(url: str, loan_id: int, body: dict[str, Any], stored: dict[str, Any]) -> None:
    """The row the loan-scoped helper wrote before 0007: SHA-256 of the normalised body with
    sorted keys, and the response body as JSON."""
    fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    engine = create_sync_engine(sync_url(url), poolclass=NullPool)
    as_json = "CAST(:body AS JSON)" if engine.dialect.name == "postgresql" else ":body"
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO idempotency_records (loan_id, key, request_hash, status_code, "
                f"response_body, created_at, updated_at) VALUES (:loan, :key, :hash, 201, "
                f"{as_json}, :now, :now)"
            ),
            {
                "loan": loan_id,
                "key": "sent-before-upgrade",
                "hash": fingerprint,
                "body": json.dumps(stored),
                "now": datetime.now(UTC).replace(tzinfo=None),
            },
        )
    engine.dispose()


async def test_old_repayment_keys_still_replay_after_the_upgrade(scratch_url: str) -> None:
    config = alembic(scratch_url)
    before_0007 = ScriptDirectory.from_config(config).get_revision("0007").down_revision
    assert isinstance(before_0007, str)

    engine = create_engine(scratch_url)
    sessionmaker = create_sessionmaker(engine)
    day = field_day()
    body = {"amount": "945.60", "paid_on": day.isoformat(), "reference": "REC-7"}
    async with sessionmaker() as session:
        world = await make_field_world(session)
        outcome = await repayments.record_repayment(
            session,
            actor_of(world.adviser),
            world.active_loan.id,
            repayments.NewRepayment(Decimal("945.60"), day, "REC-7"),
            today=day,
        )
        stored = {
            "id": outcome.id,
            "loan_id": world.active_loan.id,
            "kind": "repayment",
            "amount": "945.60",
        }
        await session.commit()
    await engine.dispose()

    await asyncio.to_thread(command.downgrade, config, before_0007)
    await asyncio.to_thread(insert_old_key, scratch_url, world.active_loan.id, body, stored)
    await asyncio.to_thread(command.upgrade, config, "head")

    settings = Settings(environment="development", database_url=scratch_url, secret_key=SECRET_KEY)
    app = create_app(settings)
    url = f"/api/v1/loans/{world.active_loan.id}/repayments"
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
            retry = await http.post(
                url,
                json={**body, "amount": 945.6},
                headers={**auth(world.adviser, settings), "Idempotency-Key": "sent-before-upgrade"},
            )
        assert retry.status_code == 201
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.json() == stored
        assert (
            retry.headers["location"] == f"{url[: -len('/repayments')]}/transactions/{stored['id']}"
        )
        async with app.state.sessionmaker() as session:
            count = await session.execute(
                select(func.count()).where(LoanTransaction.loan_id == world.active_loan.id)
            )
            assert count.scalar_one() == 2  # the disbursement and the one repayment
            carried = (await session.execute(select(IdempotentRequest))).scalar_one()
            assert (carried.user_id, carried.path) == (world.adviser.id, url)
    finally:
        await app.state.engine.dispose()
