"""Migration 0006 (loans.reference) upgrades and downgrades with loans present."""

from collections.abc import Iterator
from datetime import date

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from app.core.db import sync_url
from tests.database import BACKENDS, PG_URL, alembic_config, drop_postgres_database, make_database

STAMP = "2025-01-01 00:00:00"


@pytest.fixture(params=BACKENDS)
def scratch_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    backend: str = request.param
    url = make_database(backend, tmp_path_factory.mktemp(f"reference-{backend}"))
    yield url
    if backend == "postgresql":
        assert PG_URL is not None
        drop_postgres_database(PG_URL, url)


def insert_loans(connection: Connection) -> None:
    """Two loans of one lender, with only the columns of revision 0005."""
    stamps = {"c": STAMP}
    connection.execute(
        text(
            "INSERT INTO centres (id, code, name, kind, region, city, opened_on, version, "
            "created_at, updated_at) VALUES (1, 'C1', 'Centre', 'other', 'oriental', 'Oujda', "
            "'2020-01-01', 1, :c, :c)"
        ),
        stamps,
    )
    connection.execute(
        text(
            "INSERT INTO holders (id, centre_id, first_name, last_name, search_text, national_id,"
            " birth_date, gender, area, household_vulnerable, status, enrolled_on, version, "
            "created_at, updated_at) VALUES (1, 1, 'A', 'B', 'a b', 'A1', '2000-01-01', 'female',"
            " 'urban', false, 'applicant', '2024-01-01', 1, :c, :c)"
        ),
        stamps,
    )
    connection.execute(
        text(
            "INSERT INTO lenders (id, code, name, version, created_at, updated_at) "
            "VALUES (1, 'L1', 'Lender', 1, :c, :c)"
        ),
        stamps,
    )
    connection.execute(
        text(
            "INSERT INTO loan_products (id, lender_id, name, interest_method, amortization, "
            "annual_rate, repayment_frequency, min_principal, max_principal, min_term, max_term,"
            " max_grace_periods, is_active, version, created_at, updated_at) VALUES (1, 1, 'P', "
            "'flat', 'equal_installments', 20, 'monthly', 1000, 9000, 3, 24, 0, true, 1, :c, :c)"
        ),
        stamps,
    )
    for loan_id in (1, 2):
        connection.execute(
            text(
                "INSERT INTO loans (id, centre_id, holder_id, product_id, lender_id, principal, "
                "annual_rate, term, repayment_frequency, interest_method, amortization, "
                "grace_periods, purpose, status, applied_on, outstanding_principal, "
                "paid_principal, paid_interest, version, created_at, updated_at) VALUES "
                "(:id, 1, 1, 1, 1, 5000, 20, 12, 'monthly', 'flat', 'equal_installments', 0, "
                "'x', 'submitted', :applied, 0, 0, 0, 1, :c, :c)"
            ),
            {"id": loan_id, "applied": date(2025, 1, 6), "c": STAMP},
        )


def test_reference_migration_keeps_loans_both_ways(scratch_url: str) -> None:
    config = alembic_config(scratch_url)
    command.upgrade(config, "0005")
    engine = create_engine(sync_url(scratch_url), poolclass=NullPool)
    with engine.begin() as connection:
        insert_loans(connection)

    command.upgrade(config, "0006")
    assert "reference" in {c["name"] for c in inspect(engine).get_columns("loans")}
    with engine.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM loans")).scalar() == 2
        connection.execute(text("UPDATE loans SET reference = 'R-1' WHERE id = 1"))
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("UPDATE loans SET reference = 'R-1' WHERE id = 2"))

    command.downgrade(config, "0005")
    assert "reference" not in {c["name"] for c in inspect(engine).get_columns("loans")}
    with engine.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM loans")).scalar() == 2

    command.upgrade(config, "head")
    with engine.begin() as connection:
        rows = connection.execute(text("SELECT id, reference FROM loans ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [(1, None), (2, None)]
    engine.dispose()
