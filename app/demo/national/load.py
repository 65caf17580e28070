"""`tracker demo-data --loans N`: a national portfolio loaded into an empty database.

The few reference rows (centres, staff accounts, lenders and products) go through the
ORM and the services; the bulk (holders, enterprises, loans and their ledgers, coaching,
follow-ups) is generated in batches and written through the fast path of the database
(see `sinks`), so memory stays flat whatever the size.
"""

import asyncio
import math
import random
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal

import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.centres.models import Centre
from app.coaching.models import CoachingSession
from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.core.scope import Role
from app.core.security import hash_password
from app.demo import loans as demo_loans
from app.demo.national.generator import (
    HISTORY_YEARS,
    Batch,
    CentreStaff,
    NationalGenerator,
    NextIds,
)
from app.demo.national.geography import plan_centres
from app.demo.national.loans import Product
from app.demo.national.sinks import PostgresSink, Sink, SqliteSink
from app.demo.national.tables import TABLES
from app.demo.users import ADVISERS, Credential
from app.enterprises.models import Enterprise
from app.followups.models import FollowUp
from app.holders.models import Holder
from app.loans.models import Allocation, Installment, Lender, Loan, LoanProduct, LoanTransaction
from app.users import service as users
from app.users.models import User

HOLDERS_PER_ADVISER = 300
LOANS_PER_BATCH = 2000


class GenerationRefused(Exception):
    """The database already holds holders or loans: the generator fills empty ones only."""


def default_centres(loans: int) -> int:
    """About one centre per 5,000 loans, at least one per region (12), at most 400."""
    return max(12, min(400, round(loans / 5000)))


@dataclass
class Setup:
    centres: list[CentreStaff]
    products: list[Product]
    ids: NextIds
    credentials: list[Credential]


@dataclass
class Outcome:
    """What was loaded: the rows written per table and the accounts to log in with."""

    credentials: list[Credential]
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))


async def prepare(
    settings: Settings, *, loans: int, centres: int, seed: int, if_empty: bool
) -> Setup | None:
    """Create the centres, staff, lenders and products; None when `if_empty` and users
    already exist. Raises GenerationRefused when holders or loans exist."""
    engine = create_engine(settings.database_url)
    today = settings.today()
    try:
        async with create_sessionmaker(engine)() as session:
            if if_empty and (await session.execute(select(func.count(User.id)))).scalar_one():
                return None
            for model in (Holder, Loan):
                if (await session.execute(select(model.id).limit(1))).first() is not None:
                    raise GenerationRefused(
                        f"the database already holds {model.__tablename__}; "
                        "generate into an empty database"
                    )
            setup = await _reference_rows(session, today, loans, centres, seed)
            await session.commit()
            return setup
    finally:
        await engine.dispose()


async def _reference_rows(
    session: AsyncSession, today: date, loans: int, centre_count: int, seed: int
) -> Setup:
    rng = random.Random(f"{seed}:centres")
    opened_on = date(today.year - HISTORY_YEARS - 1, 9, 1)
    opened_at = datetime.combine(opened_on, time(9), tzinfo=UTC)
    plans = plan_centres(rng, centre_count)
    taken = set((await session.execute(select(Centre.code))).scalars())
    centres = [
        Centre(
            code=plan.code if plan.code not in taken else f"{plan.code}-G{seed % 1000}",
            name=plan.name,
            kind="enterprise_centre",
            region=plan.region.value,
            city=plan.city,
            opened_on=opened_on,
            created_at=opened_at,
            updated_at=opened_at,
            version=1,
        )
        for plan in plans
    ]
    session.add_all(centres)
    await session.flush()

    credentials: list[Credential] = []
    if not (await session.execute(select(User.id).where(User.role == Role.admin))).first():
        credentials = await _demo_accounts(session, centres[0].id)

    # Staff nobody logs in as until an admin sets their password: one hash for all.
    unusable_hash = await hash_password(secrets.token_urlsafe(24))
    staff: list[CentreStaff] = []
    expected_holders = loans * 0.95
    for index, (centre, plan) in enumerate(zip(centres, plans, strict=True)):
        manager = User(
            email=f"manager.{centre.code.lower()}@centres.demo.ma",
            full_name=f"Direction {centre.name.removeprefix('Centre ')}"[:200],
            password_hash=unusable_hash,
            role=Role.manager.value,
            centre_id=centre.id,
            is_active=True,
            created_at=opened_at,
            updated_at=opened_at,
            version=1,
        )
        count = max(2, math.ceil(expected_holders * plan.weight / HOLDERS_PER_ADVISER))
        advisers = [
            User(
                email=f"adviser{n + 1}.{centre.code.lower()}@centres.demo.ma",
                full_name=ADVISERS[(index + n) % len(ADVISERS)][0],
                password_hash=unusable_hash,
                role=Role.adviser.value,
                centre_id=centre.id,
                is_active=True,
                created_at=opened_at,
                updated_at=opened_at,
                version=1,
            )
            for n in range(count)
        ]
        session.add_all([manager, *advisers])
        await session.flush()
        staff.append(
            CentreStaff(
                id=centre.id,
                region=plan.region,
                weight=plan.weight,
                adviser_ids=[adviser.id for adviser in advisers],
                manager_id=manager.id,
            )
        )

    products = await stored_products(session)
    return Setup(staff, products, await _next_ids(session), credentials)


async def _demo_accounts(session: AsyncSession, centre_id: int) -> list[Credential]:
    """The accounts people log in with, each with a random password (returned)."""
    credentials: list[Credential] = []
    for email, role, centre, full_name in (
        ("admin@demo.ma", Role.admin, None, "Administrateur"),
        ("manager@demo.ma", Role.manager, None, "Nadia Berrada"),
        ("manager.centre@demo.ma", Role.manager, centre_id, "Rachid Alami"),
        ("adviser@demo.ma", Role.adviser, centre_id, ADVISERS[0][0]),
        ("viewer@demo.ma", Role.viewer, None, "Observatoire régional"),
    ):
        password = secrets.token_urlsafe(9)
        await users.create_user(
            session,
            None,
            email=email,
            full_name=full_name,
            password=password,
            role=role,
            centre_id=centre,
        )
        credentials.append((email, password, role.value))
    return credentials


async def stored_products(session: AsyncSession) -> list[Product]:
    """The active loan products, the small demo's lenders and products first when there
    are none."""
    if (await session.execute(select(Lender.id).limit(1))).first() is None:
        admin = (
            (await session.execute(select(User).where(User.role == Role.admin).order_by(User.id)))
            .scalars()
            .first()
        )
        assert admin is not None
        await demo_loans.seed_products(session, users.actor_of(admin))
    stored = (
        (
            await session.execute(
                select(LoanProduct).where(LoanProduct.is_active.is_(True)).order_by(LoanProduct.id)
            )
        )
        .scalars()
        .all()
    )
    return [
        Product(
            id=p.id,
            lender_id=p.lender_id,
            name=p.name,
            interest_method=p.interest_method,
            amortization=p.amortization,
            annual_rate=Decimal(p.annual_rate).quantize(Decimal("0.01")),
            repayment_frequency=p.repayment_frequency,
            min_principal=p.min_principal,
            max_principal=p.max_principal,
            min_term=p.min_term,
            max_term=p.max_term,
            max_grace_periods=p.max_grace_periods,
            farming="agricole" in p.name.lower(),
        )
        for p in stored
    ]


async def _next_ids(session: AsyncSession) -> NextIds:
    async def after(column: InstrumentedAttribute[int]) -> int:
        return (await session.execute(select(func.coalesce(func.max(column), 0)))).scalar_one() + 1

    return NextIds(
        loans=await after(Loan.id),
        installments=await after(Installment.id),
        transactions=await after(LoanTransaction.id),
        allocations=await after(Allocation.id),
        holders=await after(Holder.id),
        enterprises=await after(Enterprise.id),
        sessions=await after(CoachingSession.id),
        follow_ups=await after(FollowUp.id),
    )


@contextmanager
def bulk_sink(url: str) -> Iterator[Sink]:
    """A sink on a connection of its own to the database at `url`."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(conninfo) as pg:
            yield PostgresSink(pg)
        return
    # Used by one thread at a time: the writer thread, then this one to finish.
    lite = sqlite3.connect(parsed.database or "", isolation_level=None, check_same_thread=False)
    try:
        yield SqliteSink(lite)
    finally:
        lite.close()


def generate(
    settings: Settings,
    *,
    loans: int,
    centres: int | None = None,
    seed: int = 2026,
    if_empty: bool = False,
    on_batch: Callable[[int], None] = lambda loans: None,
) -> Outcome | None:
    """Load `loans` generated loans (and everything around them); None when `if_empty`
    and users exist. `on_batch` is told how many loans each written batch held."""
    setup = asyncio.run(
        prepare(
            settings,
            loans=loans,
            centres=centres or default_centres(loans),
            seed=seed,
            if_empty=if_empty,
        )
    )
    if setup is None:
        return None
    generator = NationalGenerator(
        seed=seed,
        today=settings.today(),
        loans=loans,
        centres=setup.centres,
        products=setup.products,
        ids=setup.ids,
        youth=(settings.youth_min_age, settings.youth_max_age),
    )
    outcome = Outcome(setup.credentials)
    with bulk_sink(settings.database_url) as sink:
        sink.prepare()
        try:
            for batch in _written_in_background(sink, generator.batches(LOANS_PER_BATCH)):
                for table, rows in batch.rows.items():
                    outcome.rows[table] += len(rows)
                on_batch(batch.loans)
        finally:
            sink.finish()
    return outcome


def _written_in_background(sink: Sink, batches: Iterator[Batch]) -> Iterator[Batch]:
    """Write each batch on a thread of its own while the next one is generated (the
    database drivers let go of the interpreter while they wait for the database); yields
    each batch once written. Two batches at most are held at a time."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-data-writer") as pool:
        previous: tuple[Future[None], Batch] | None = None
        for batch in batches:  # generated while the previous batch is being written
            if previous is not None:
                previous[0].result()
                yield previous[1]
            previous = (pool.submit(sink.write, batch.rows), batch)
        if previous is not None:
            previous[0].result()
            yield previous[1]
