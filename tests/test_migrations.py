"""Migrations upgrade, downgrade and upgrade again, and never drift from the models."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from app.core.db import sync_url
from app.db_models import Base
from tests.database import BACKENDS, PG_URL, alembic_config, drop_postgres_database, make_database


@pytest.fixture(params=BACKENDS)
def scratch_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    backend: str = request.param
    url = make_database(backend, tmp_path_factory.mktemp(f"migrations-{backend}"))
    yield url
    if backend == "postgresql":
        assert PG_URL is not None
        drop_postgres_database(PG_URL, url)


def sync_engine(url: str) -> Engine:
    return create_engine(sync_url(url), poolclass=NullPool)


def test_upgrade_downgrade_upgrade(scratch_url: str) -> None:
    config = alembic_config(scratch_url)
    command.upgrade(config, "head")
    engine = sync_engine(scratch_url)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables

    command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

    command.upgrade(config, "head")
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_models_and_migrations_do_not_drift(scratch_url: str) -> None:
    command.upgrade(alembic_config(scratch_url), "head")
    engine = sync_engine(scratch_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == [], f"models differ from migrations; add a migration: {differences}"


SEED_0004 = [
    "INSERT INTO centres (id, code, name, kind, region, city, version, created_at, updated_at) "
    "VALUES (1, 'C1', 'Centre', 'urban', 'casablanca_settat', 'Casa', 1, :now, :now)",
    "INSERT INTO holders (id, centre_id, first_name, last_name, search_text, birth_date, gender, "
    "area, household_vulnerable, status, enrolled_on, version, created_at, updated_at) VALUES "
    "(1, 1, 'A', 'B', 'a b', '2000-01-01', 'female', 'urban', false, 'enrolled', '2024-01-01', "
    "1, :now, :now)",
    "INSERT INTO lenders (id, code, name, version, created_at, updated_at) "
    "VALUES (1, 'L1', 'Lender', 1, :now, :now)",
    "INSERT INTO loan_products (id, lender_id, name, interest_method, amortization, annual_rate, "
    "repayment_frequency, min_principal, max_principal, min_term, max_term, max_grace_periods, "
    "is_active, version, created_at, updated_at) VALUES (1, 1, 'P', 'declining_balance', "
    "'equal_installments', 0, 'monthly', 100, 1000, 1, 12, 0, true, 1, :now, :now)",
    "INSERT INTO loans (id, centre_id, holder_id, product_id, lender_id, principal, annual_rate, "
    "term, repayment_frequency, interest_method, amortization, grace_periods, purpose, status, "
    "applied_on, disbursed_on, outstanding_principal, paid_principal, paid_interest, "
    "oldest_unpaid_due_on, version, created_at, updated_at) VALUES (1, 1, 1, 1, 1, 200, 0, 2, "
    "'monthly', 'declining_balance', 'equal_installments', 0, 'x', 'active', '2024-01-01', "
    "'2024-01-01', 50, 150, 0, '2024-03-01', 1, :now, :now)",
    "INSERT INTO installments (id, loan_id, seq, due_on, principal_due, interest_due, "
    "principal_paid, interest_paid, paid_off_on) VALUES "
    "(1, 1, 1, '2024-02-01', 100, 0, 100, 0, '2024-02-01'), "
    "(2, 1, 2, '2024-03-01', 100, 0, 50, 0, NULL)",
    "INSERT INTO loan_transactions (id, loan_id, kind, amount, effective_on, principal_portion, "
    "interest_portion, reversed, created_at) VALUES "
    "(1, 1, 'repayment', 150, '2024-02-01', 150, 0, false, :now)",
    "INSERT INTO allocations (id, loan_id, transaction_id, installment_id, paid_on, principal, "
    "interest) VALUES (1, 1, 1, 1, '2024-02-01', 100, 0), (2, 1, 1, 2, '2024-02-01', 50, 0)",
]


def seeded_at_0004(url: str) -> tuple[Config, Engine]:
    """The scratch database at revision 0004 with the `SEED_0004` rows."""
    config = alembic_config(url)
    command.upgrade(config, "0004")
    engine = sync_engine(url)
    with engine.begin() as connection:
        for statement in SEED_0004:
            connection.execute(text(statement), {"now": datetime(2024, 1, 1, tzinfo=UTC)})
    return config, engine


def assert_index(
    engine: Engine, table: str, name: str, columns: list[str], include: list[str]
) -> None:
    """The index has these key columns and, on PostgreSQL, these INCLUDE columns."""
    index = {found["name"]: found for found in inspect(engine).get_indexes(table)}[name]
    assert index["column_names"] == columns
    if engine.dialect.name == "postgresql":
        assert index["dialect_options"]["postgresql_include"] == include


def test_0005_backfills_due_dates_and_downgrades_with_data(scratch_url: str) -> None:
    config, engine = seeded_at_0004(scratch_url)
    command.upgrade(config, "0005")
    query = text("SELECT id, due_on FROM allocations ORDER BY id")
    with engine.connect() as connection:
        rows = [(row.id, str(row.due_on)) for row in connection.execute(query)]
    assert rows == [(1, "2024-02-01"), (2, "2024-03-01")]
    indexes = {index["name"] for index in inspect(engine).get_indexes("installments")}
    assert "ix_installments_unpaid" in indexes

    command.downgrade(config, "0004")
    columns = {column["name"] for column in inspect(engine).get_columns("allocations")}
    assert "due_on" not in columns
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM allocations")).scalar_one() == 2
    command.upgrade(config, "head")
    with engine.connect() as connection:
        rows = [(row.id, str(row.due_on)) for row in connection.execute(query)]
    assert rows == [(1, "2024-02-01"), (2, "2024-03-01")]
    engine.dispose()


def test_0010_indexes_unpaid_installments_by_loan_and_downgrades_with_data(
    scratch_url: str,
) -> None:
    config, engine = seeded_at_0004(scratch_url)
    command.upgrade(config, "0010")
    assert_index(
        engine,
        "installments",
        "ix_installments_unpaid_by_loan",
        ["loan_id", "due_on"],
        ["principal_due", "interest_due", "principal_paid", "interest_paid"],
    )
    unpaid = text("SELECT id FROM installments WHERE paid_off_on IS NULL ORDER BY loan_id, due_on")
    with engine.connect() as connection:
        before = connection.execute(unpaid).scalars().all()

    command.downgrade(config, "0009")
    indexes_after = {index["name"] for index in inspect(engine).get_indexes("installments")}
    assert "ix_installments_unpaid_by_loan" not in indexes_after
    assert "ix_installments_unpaid" in indexes_after
    with engine.connect() as connection:
        assert connection.execute(unpaid).scalars().all() == before
    command.upgrade(config, "head")
    with engine.connect() as connection:
        assert connection.execute(unpaid).scalars().all() == before
    engine.dispose()


def test_0012_carries_the_allocation_amounts_by_payment_date_and_downgrades_with_data(
    scratch_url: str,
) -> None:
    config, engine = seeded_at_0004(scratch_url)
    command.upgrade(config, "0012")
    assert_index(
        engine,
        "allocations",
        "ix_allocations_paid_on",
        ["paid_on"],
        ["loan_id", "due_on", "principal", "interest"],
    )
    paid = text("SELECT id, paid_on, principal FROM allocations ORDER BY paid_on, id")
    with engine.connect() as connection:
        before = connection.execute(paid).all()
    assert before

    command.downgrade(config, "0011")
    after = {index["name"]: index for index in inspect(engine).get_indexes("allocations")}
    assert after["ix_allocations_paid_on"]["column_names"] == ["paid_on"]
    assert not after["ix_allocations_paid_on"].get("dialect_options", {}).get("postgresql_include")
    with engine.connect() as connection:
        assert connection.execute(paid).all() == before
    command.upgrade(config, "head")
    with engine.connect() as connection:
        assert connection.execute(paid).all() == before
    engine.dispose()
