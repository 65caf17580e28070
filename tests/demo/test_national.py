"""`tracker demo-data --loans N` on empty databases: every loan passes `tracker db check`,
the portfolio has the stated shape, the seed reproduces it, related rows grow linearly,
and the indexes and foreign keys the load sets aside are all back afterwards."""

import asyncio
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import Settings, get_settings
from app.core.db import create_engine as create_async_engine
from app.core.db import create_sessionmaker, sync_url
from app.db_models import Base
from app.demo.national.geography import REGION_POPULATION
from app.demo.national.load import GenerationRefused, Outcome, generate
from app.demo.national.tables import COLUMNS, TABLES
from app.loans.schedule import add_months
from app.reports.portfolio import portfolio_report
from app.reports.schemas import PortfolioGroup
from tests.demo.databases import BACKENDS, database_factory

TODAY = date(2026, 11, 20)


@pytest.fixture(params=BACKENDS)
def new_database(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], str]]:
    monkeypatch.setattr(Settings, "today", lambda _self: TODAY)
    with database_factory(request.param, tmp_path) as factory:
        yield factory


def settings_for(url: str) -> Settings:
    return Settings(database_url=url, secret_key="s" * 40)


def load(
    url: str, loans: int, seed: int, centres: int | None = None, workers: int | None = None
) -> Outcome:
    outcome = generate(settings_for(url), loans=loans, centres=centres, seed=seed, workers=workers)
    assert outcome is not None
    return outcome


def query(url: str, sql: str) -> list[Any]:
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql)))
    finally:
        engine.dispose()


def run_cli(url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, list(args))
    finally:
        get_settings.cache_clear()


def schema(url: str) -> dict[str, Any]:
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        found = inspect(engine)
        return {
            table: (
                sorted(str(index["name"]) for index in found.get_indexes(table)),
                sorted(
                    (str(fk["constrained_columns"]), str(fk["referred_table"]))
                    for fk in found.get_foreign_keys(table)
                ),
            )
            for table in TABLES
        }
    finally:
        engine.dispose()


async def par30_ratios(url: str, dates: list[date]) -> list[Decimal | None]:
    engine = create_async_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            return [
                (
                    await portfolio_report(
                        session,
                        as_of=day,
                        today=TODAY,
                        group_by=PortfolioGroup.centre,
                        centre_id=None,
                    )
                ).total.par30_ratio
                for day in dates
            ]
    finally:
        await engine.dispose()


def test_the_generator_fills_every_column_of_its_tables() -> None:
    for table in TABLES:
        assert set(COLUMNS[table]) == {c.name for c in Base.metadata.tables[table].columns}
        assert len(COLUMNS[table]) == len(set(COLUMNS[table]))


def test_a_generated_portfolio_passes_db_check_and_has_the_stated_shape(
    new_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = new_database()
    before = schema(url)
    outcome = load(url, 4000, seed=3)

    assert schema(url) == before
    assert outcome.rows["loans"] == 4000
    assert {role for _, _, role in outcome.credentials} == {"admin", "manager", "adviser", "viewer"}
    checked = run_cli(url, monkeypatch, "db", "check", "--sample", "0")
    assert checked.exit_code == 0, checked.output
    assert "4000 loans checked, 0 mismatches" in checked.output
    stored = run_cli(url, monkeypatch, "month-ends", "store")
    assert stored.exit_code == 0, stored.output
    (active,) = query(url, "SELECT count(*) FROM loans WHERE status = 'active'")
    assert f"arrears folded up to 2026-11-01: {active[0]:,} active loans" in stored.output
    (not_folded,) = query(
        url,
        "SELECT count(*) FROM loans WHERE status = 'active'"
        " AND (overdue_through IS NULL OR overdue_through <> '2026-11-01')",
    )
    assert not_folded[0] == 0
    (folded,) = query(url, "SELECT sum(overdue_amount) FROM loans WHERE status = 'active'")
    assert Decimal(str(folded[0])) > 0
    checked = run_cli(url, monkeypatch, "db", "check", "--sample", "0")
    assert "4000 loans checked, 0 mismatches" in checked.output, checked.output

    (women,) = query(
        url, "SELECT avg(CASE WHEN gender = 'female' THEN 1.0 ELSE 0 END) FROM holders"
    )
    assert 0.40 <= women[0] <= 0.50
    (rural,) = query(url, "SELECT avg(CASE WHEN area = 'rural' THEN 1.0 ELSE 0 END) FROM holders")
    assert 0.30 <= rural[0] <= 0.50
    by_region = dict(query(url, "SELECT region, count(*) FROM holders GROUP BY region"))
    assert set(by_region) == {region.value for region in REGION_POPULATION}
    population = sum(REGION_POPULATION.values())
    holders = sum(by_region.values())
    for region, people in REGION_POPULATION.items():
        assert abs(by_region[region.value] / holders - people / population) < 0.03, region

    statuses = dict(query(url, "SELECT status, count(*) FROM loans GROUP BY status"))
    assert set(statuses) == {"submitted", "approved", "rejected", "active", "repaid", "written_off"}
    kinds = dict(query(url, "SELECT kind, count(*) FROM loan_transactions GROUP BY kind"))
    assert kinds["reversal"] > 0 and kinds["write_off"] == statuses["written_off"]
    (backdated,) = query(
        url,
        "SELECT count(*) FROM loan_transactions t JOIN loan_transactions u"
        " ON u.loan_id = t.loan_id AND u.kind = 'repayment' AND u.id < t.id"
        " AND u.effective_on > t.effective_on WHERE t.kind = 'repayment'",
    )
    assert backdated[0] > 0
    (partial,) = query(
        url,
        "SELECT count(*) FROM installments WHERE paid_off_on IS NULL"
        " AND principal_paid + interest_paid > 0",
    )
    assert partial[0] > 0
    (span,) = query(
        url, "SELECT min(disbursed_on), max(disbursed_on) FROM loans WHERE disbursed_on IS NOT NULL"
    )
    first, last = (
        value if isinstance(value, date) else date.fromisoformat(value) for value in span
    )
    assert (TODAY - first).days > 3 * 365 and (TODAY - last).days < 31

    year_ago = add_months(TODAY, -12)
    par_then, par_now = asyncio.run(par30_ratios(url, [year_ago, TODAY]))
    assert par_then is not None and par_now is not None
    assert Decimal("0.09") <= par_now <= Decimal("0.17"), par_now
    assert par_now > par_then + Decimal("0.01"), (par_then, par_now)


def dump(url: str) -> dict[str, list[Any]]:
    return {
        table: query(url, f"SELECT {', '.join(COLUMNS[table])} FROM {table} ORDER BY 1, 2")
        for table in TABLES
    }


def test_a_seed_gives_the_same_portfolio_and_related_rows_grow_linearly(
    new_database: Callable[[], str],
) -> None:
    """Several chunks, generated by one process and (on PostgreSQL) by two side by side."""
    first, again, other, double = (new_database() for _ in range(4))
    small = load(first, 4100, seed=9, centres=12, workers=1)
    load(again, 4100, seed=9, centres=12, workers=2)
    load(other, 4100, seed=10, centres=12)
    large = load(double, 8200, seed=9, centres=12)

    assert dump(first) == dump(again)
    assert dump(first)["loans"] != dump(other)["loans"]
    for table in ("holders", "enterprises", "coaching_sessions", "follow_ups", "installments"):
        ratio = large.rows[table] / small.rows[table]
        assert 1.7 <= ratio <= 2.3, (table, ratio)


def test_db_check_names_each_stored_figure_that_differs_from_the_replay(
    new_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = new_database()
    load(url, 300, seed=4)
    engine = create_engine(sync_url(url), poolclass=NullPool)
    with engine.begin() as connection:
        loan_id, seq = connection.execute(
            text(
                "SELECT loan_id, seq FROM installments WHERE principal_paid > 0"
                " ORDER BY loan_id, seq LIMIT 1"
            )
        ).one()
        connection.execute(
            text(
                "UPDATE installments SET principal_paid = principal_paid + 1"
                " WHERE loan_id = :loan AND seq = :seq"
            ),
            {"loan": loan_id, "seq": seq},
        )
        other = connection.execute(
            text(
                "SELECT id FROM loans WHERE status = 'active' AND id <> :loan ORDER BY id LIMIT 1"
            ),
            {"loan": loan_id},
        ).scalar_one()
        connection.execute(
            text(
                "UPDATE loans SET outstanding_principal = outstanding_principal + 5 WHERE id = :id"
            ),
            {"id": other},
        )
    engine.dispose()

    result = run_cli(url, monkeypatch, "db", "check", "--sample", "0")
    assert result.exit_code == 1
    assert f"loan {loan_id}: installment {seq} principal_paid" in result.output
    assert f"loan {other}: outstanding_principal" in result.output
    assert "300 loans checked, 2 mismatches" in result.output


def test_the_generator_refuses_a_database_that_has_holders_or_loans(
    new_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = new_database()
    load(url, 50, seed=1)
    with pytest.raises(GenerationRefused):
        load(url, 50, seed=1)
    refused = run_cli(url, monkeypatch, "demo-data", "--loans", "50")
    assert refused.exit_code == 1
    assert "already holds holders" in refused.output
    skipped = run_cli(url, monkeypatch, "demo-data", "--loans", "50", "--if-empty")
    assert skipped.exit_code == 0
    assert "nothing loaded" in skipped.output
    (loans,) = query(url, "SELECT count(*) FROM loans")
    assert loans[0] == 50
