"""Random, internally consistent portfolios for the reports' tests and benchmark.

`generate_portfolio` inserts centres, advisers, lenders, products, holders, enterprises
(with owners and follow-ups), coaching sessions (with participants) and loans with their
schedules, repayments (on time, late, partial, same-day, backdated — entered out of date
order — and reversed), allocations, write-offs and full repayments, all dated on or before
`today`. Loan rows carry the same current-state summary columns as the loans service keeps
(outstanding_principal, paid_*, oldest_unpaid_due_on; installments' paid amounts and
paid_off_on), derived from `app.loans.ledger.replay` of the non-reversed repayments in
(paid_on, id) order with the ids the database assigned. Group sessions mark some holders
absent. With `edges`, records dated exactly on the tests' as-of dates and range ends are
added (tests/reports/edges.py).

Rows go in with bulk `INSERT ... RETURNING` statements, so the same code fills a test
transaction in a second or a benchmark database with tens of thousands of loans.
"""

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.coaching.models import CoachingSession, SessionParticipant
from app.core.db import Base
from app.enterprises.models import Enterprise, EnterpriseOwner
from app.followups.models import FollowUp
from app.holders.models import Holder
from app.loans.ledger import InstallmentDue, Payment, replay
from app.loans.models import (
    Allocation,
    Installment,
    Lender,
    Loan,
    LoanProduct,
    LoanTransaction,
)
from app.loans.schedule import ScheduleTerms, generate_schedule, round_money
from app.users.models import User
from tests.reports.edges import EdgeDates, loan_events, plan_edges
from tests.users.factories import PASSWORD_HASH

ZERO = Decimal("0.00")
REGIONS = ["casablanca_settat", "rabat_sale_kenitra", "souss_massa", "oriental", "fes_meknes"]
SECTORS = ["agriculture", "commerce", "handicrafts", "services", "agri_food", "ict"]
KINDS = ["advice", "follow_up", "evaluation", "training", "business_relations"]
BEHAVIOURS = ["punctual", "late", "partial", "defaulter", "prepayer"]

PRODUCTS: list[dict[str, Any]] = [
    {
        "lender": 0,
        "name": "Crédit TPE mensuel",
        "interest_method": "declining_balance",
        "amortization": "equal_installments",
        "annual_rate": Decimal("24.00"),
        "repayment_frequency": "monthly",
        "min_term": 3,
        "max_term": 18,
    },
    {
        "lender": 0,
        "name": "Crédit activité bimensuel",
        "interest_method": "flat",
        "amortization": "equal_principal",
        "annual_rate": Decimal("18.00"),
        "repayment_frequency": "biweekly",
        "min_term": 6,
        "max_term": 26,
    },
    {
        "lender": 1,
        "name": "Microcrédit hebdomadaire",
        "interest_method": "declining_balance",
        "amortization": "equal_principal",
        "annual_rate": Decimal("20.50"),
        "repayment_frequency": "weekly",
        "min_term": 8,
        "max_term": 30,
    },
    {
        "lender": 1,
        "name": "Prêt d'honneur",
        "interest_method": "declining_balance",
        "amortization": "equal_installments",
        "annual_rate": Decimal("0.00"),
        "repayment_frequency": "monthly",
        "min_term": 4,
        "max_term": 12,
    },
]


@dataclass(frozen=True)
class PortfolioSize:
    centres: int = 3
    advisers_per_centre: int = 2
    holders_per_centre: int = 40
    enterprises_per_centre: int = 18
    sessions_per_centre: int = 35
    loans_per_centre: int = 60
    # Weights of punctual, late, partial, defaulting and prepaying borrowers; the tests'
    # default over-represents trouble so that every figure has cases.
    behaviour_weights: tuple[int, int, int, int, int] = (35, 20, 20, 15, 10)


@dataclass
class GeneratedPortfolio:
    today: date
    centre_ids: list[int]
    lender_ids: list[int]
    product_ids: list[int]
    adviser_ids: dict[int, list[int]]
    holder_ids: dict[int, list[int]]
    loan_ids: list[int] = field(default_factory=list)


@dataclass
class PlannedPayment:
    paid_on: date
    amount: Decimal
    reversed_on: date | None = None  # set when the payment was later reversed


@dataclass
class PlannedLoan:
    row: dict[str, Any]
    schedule_terms: ScheduleTerms | None
    payments: list[PlannedPayment]
    write_off_on: date | None


async def _insert(
    session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]
) -> list[int]:
    """Bulk insert, returning the new ids in the order of `rows`."""
    if not rows:
        return []
    table: Any = model
    result = await session.execute(
        insert(table).returning(table.id, sort_by_parameter_order=True), rows
    )
    return list(result.scalars())


async def _insert_plain(
    session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]
) -> None:
    if rows:
        await session.execute(insert(model), rows)


def _days(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(days=rng.randint(low, high))


async def generate_portfolio(
    session: AsyncSession,
    rng: random.Random,
    *,
    today: date,
    size: PortfolioSize | None = None,
    tag: str = "R",
    edges: EdgeDates | None = None,
) -> GeneratedPortfolio:
    """Insert a random portfolio, plus the records of `tests.reports.edges` dated on
    `edges`; every date lies on or before `today`."""
    size = size or PortfolioSize()
    centre_ids = await _insert(
        session,
        Centre,
        [
            {
                "code": f"{tag}C{index:03d}",
                "name": f"Centre {['Anfa', 'Agadir', 'Oujda', 'Fès', 'Salé'][index % 5]} {index}",
                "kind": "enterprise_centre",
                "region": REGIONS[index % len(REGIONS)],
                "city": "Ville",
                "opened_on": date(2019, 1, 1),
                "version": 1,
            }
            for index in range(size.centres)
        ],
    )
    lender_ids = await _insert(
        session,
        Lender,
        [
            {"code": f"{tag}L1", "name": "Al Amana Microfinance", "version": 1},
            {"code": f"{tag}L2", "name": "Fondation Zakoura", "version": 1},
        ],
    )
    product_rows = []
    for spec in PRODUCTS:
        row = {key: value for key, value in spec.items() if key != "lender"}
        row.update(
            lender_id=lender_ids[spec["lender"]],
            min_principal=Decimal("500.00"),
            max_principal=Decimal("50000.00"),
            max_grace_periods=2,
            is_active=True,
            version=1,
        )
        product_rows.append(row)
    product_ids = await _insert(session, LoanProduct, product_rows)

    adviser_rows: list[dict[str, Any]] = []
    for centre_index, centre_id in enumerate(centre_ids):
        for adviser_index in range(size.advisers_per_centre):
            adviser_rows.append(
                {
                    "email": f"{tag.lower()}.adviser{centre_index}.{adviser_index}@reports.test",
                    "full_name": f"Conseiller {'ABCDEFGH'[adviser_index % 8]}{centre_index}",
                    "password_hash": PASSWORD_HASH,
                    "role": "adviser",
                    "centre_id": centre_id,
                    "is_active": True,
                    "version": 1,
                }
            )
    adviser_id_list = await _insert(session, User, adviser_rows)
    adviser_ids: dict[int, list[int]] = defaultdict(list)
    for row, adviser_id in zip(adviser_rows, adviser_id_list, strict=True):
        adviser_ids[row["centre_id"]].append(adviser_id)

    holder_rows: list[dict[str, Any]] = []
    for centre_id in centre_ids:
        for _ in range(size.holders_per_centre):
            number = len(holder_rows) + 1
            enrolled_on = today - _days(rng, 0, 1500)
            birth_date = enrolled_on - _days(rng, 18 * 366, 35 * 365)
            if rng.random() < 0.03:
                birth_date = date(rng.choice([1992, 1996, 2000, 2004]), 2, 29)
            holder_rows.append(
                {
                    "centre_id": centre_id,
                    "adviser_id": None
                    if rng.random() < 0.1
                    else rng.choice(adviser_ids[centre_id]),
                    "first_name": rng.choice(["Fatima Zahra", "Youssef", "Salma", "Amine"]),
                    "last_name": f"Nom{number}",
                    "search_text": f"nom{number}",
                    "national_id": f"{tag}P{number:06d}"[-8:],
                    "birth_date": birth_date,
                    "gender": rng.choice(["female", "male"]),
                    "area": rng.choice(["urban", "rural"]),
                    "region": None if rng.random() < 0.15 else rng.choice(REGIONS),
                    "status": rng.choice(["applicant", "in_support", "enterprise_created"]),
                    "enrolled_on": enrolled_on,
                    "sector": None if rng.random() < 0.2 else rng.choice(SECTORS),
                    "household_vulnerable": rng.random() < 0.5,
                    "version": 1,
                }
            )
    holder_id_list = await _insert(session, Holder, holder_rows)
    holder_ids: dict[int, list[int]] = defaultdict(list)
    for row, holder_id in zip(holder_rows, holder_id_list, strict=True):
        holder_ids[row["centre_id"]].append(holder_id)

    await _generate_enterprises(session, rng, today, size, centre_ids, holder_ids, adviser_ids)
    first_session = await _generate_sessions(
        session, rng, today, size, centre_ids, holder_ids, adviser_ids
    )

    portfolio = GeneratedPortfolio(
        today=today,
        centre_ids=centre_ids,
        lender_ids=lender_ids,
        product_ids=product_ids,
        adviser_ids=dict(adviser_ids),
        holder_ids=dict(holder_ids),
    )
    plans = [
        _plan_loan(
            rng,
            today,
            centre_id,
            holder_ids[centre_id],
            product_ids,
            lender_ids,
            first_session,
            size.behaviour_weights,
        )
        for centre_id in centre_ids
        for _ in range(size.loans_per_centre)
    ]
    portfolio.loan_ids = await insert_loans(session, rng, plans)
    if edges is not None:
        portfolio.loan_ids += await insert_edges(session, rng, portfolio, edges, tag)
    return portfolio


async def insert_edges(
    session: AsyncSession,
    rng: random.Random,
    portfolio: GeneratedPortfolio,
    edges: EdgeDates,
    tag: str,
) -> list[int]:
    """Insert the holders, sessions, enterprises, follow-ups and loans that
    `tests.reports.edges.plan_edges` plans; returns the new loans' ids."""
    holders, enterprises = plan_edges(edges, portfolio.today, portfolio.centre_ids)
    adviser_of = {centre: ids[0] for centre, ids in portfolio.adviser_ids.items()}
    holder_ids = await _insert(
        session,
        Holder,
        [
            {
                "centre_id": item.centre_id,
                "adviser_id": adviser_of[item.centre_id],
                "first_name": "Khadija",
                "last_name": f"Bord{number}",
                "search_text": f"khadija bord{number}",
                "national_id": f"{tag}E{number:05d}"[-8:],
                "birth_date": item.birth_date,
                "gender": item.gender,
                "area": "rural",
                "region": REGIONS[number % len(REGIONS)],
                "status": "in_support",
                "enrolled_on": item.enrolled_on,
                "sector": None if number % 4 == 0 else SECTORS[number % len(SECTORS)],
                "household_vulnerable": False,
                "version": 1,
            }
            for number, item in enumerate(holders)
        ],
    )
    sessions = [
        (holder_id, item.centre_id, held_on, mark)
        for holder_id, item in zip(holder_ids, holders, strict=True)
        for held_on, mark in item.sessions
    ]
    session_ids = await _insert(
        session,
        CoachingSession,
        [
            {
                "centre_id": centre_id,
                "adviser_id": adviser_of[centre_id],
                "kind": KINDS[number % len(KINDS)],
                "format": "individual",
                "mode": "in_person",
                "held_on": held_on,
                "duration_minutes": 25 + number,
                "topic": "Suivi",
                "version": 1,
            }
            for number, (_, centre_id, held_on, _) in enumerate(sessions)
        ],
    )
    await _insert_plain(
        session,
        SessionParticipant,
        [
            {"session_id": session_id, "holder_id": holder_id, "attendance": mark}
            for session_id, (holder_id, _, _, mark) in zip(session_ids, sessions, strict=True)
        ],
    )
    enterprise_ids = await _insert(
        session,
        Enterprise,
        [
            {
                "centre_id": item.centre_id,
                "name": f"Bord {number}",
                "search_text": f"bord {number}",
                "legal_form": "cooperative",
                "sector": SECTORS[number % len(SECTORS)],
                "area": "urban" if number % 2 else "rural",
                "region": REGIONS[number % len(REGIONS)],
                "created_on": item.created_on,
                "status": "active" if item.closed_on is None else "closed",
                "closed_on": item.closed_on,
                "jobs_at_creation": number % 4,
                "version": 1,
            }
            for number, item in enumerate(enterprises)
        ],
    )
    await _insert_plain(
        session,
        EnterpriseOwner,
        [
            {"enterprise_id": enterprise_id, "holder_id": holder_ids[item.owner]}
            for enterprise_id, item in zip(enterprise_ids, enterprises, strict=True)
        ],
    )
    await _insert(
        session,
        FollowUp,
        [
            {
                "enterprise_id": enterprise_id,
                "centre_id": item.centre_id,
                "adviser_id": adviser_of[item.centre_id],
                "visited_on": visited_on,
                "mode": "at_centre",
                "enterprise_status": "active",
                "monthly_revenue": Decimal("4500.00"),
                "employees_count": employees,
                "risk_level": "low",
                "needs": [],
                "version": 1,
            }
            for enterprise_id, item in zip(enterprise_ids, enterprises, strict=True)
            for visited_on, employees in item.visits
        ],
    )
    plans = [
        _edge_plan(portfolio, item.centre_id, holder_id, spec)
        for holder_id, item in zip(holder_ids, holders, strict=True)
        for spec in item.loans
    ]
    return await insert_loans(session, rng, plans)


def _edge_plan(
    portfolio: GeneratedPortfolio, centre_id: int, holder_id: int, spec: dict[str, Any]
) -> PlannedLoan:
    terms, payments, write_off_on = loan_events(spec)
    # A product with the loan's terms: monthly, declining balance, equal installments.
    product_index = 3 if terms.annual_rate == 0 else 0
    product = PRODUCTS[product_index]
    row: dict[str, Any] = {
        "centre_id": centre_id,
        "holder_id": holder_id,
        "enterprise_id": None,
        "product_id": portfolio.product_ids[product_index],
        "lender_id": portfolio.lender_ids[product["lender"]],
        "principal": terms.principal,
        "annual_rate": terms.annual_rate,
        "term": terms.term,
        "repayment_frequency": "monthly",
        "interest_method": "declining_balance",
        "amortization": "equal_installments",
        "grace_periods": 0,
        "purpose": "Fonds de roulement",
        "applied_on": terms.disbursed_on,
        "approved_on": terms.disbursed_on,
        "disbursed_on": terms.disbursed_on,
        "first_due_on": generate_schedule(terms)[0].due_on,
        "version": 1,
    }
    return PlannedLoan(
        row=row,
        schedule_terms=terms,
        payments=[PlannedPayment(paid_on, amount) for paid_on, amount in payments],
        write_off_on=write_off_on,
    )


async def _generate_enterprises(
    session: AsyncSession,
    rng: random.Random,
    today: date,
    size: PortfolioSize,
    centre_ids: list[int],
    holder_ids: dict[int, list[int]],
    adviser_ids: dict[int, list[int]],
) -> None:
    rows: list[dict[str, Any]] = []
    owners: list[list[int]] = []
    for centre_id in centre_ids:
        for index in range(size.enterprises_per_centre):
            status = rng.choices(["project", "active", "struggling", "closed"], [15, 50, 15, 20])[0]
            created_on = None if status == "project" else today - _days(rng, 0, 1300)
            closed_on = None
            if status == "closed" and created_on is not None:
                closed_on = min(today, created_on + _days(rng, 1, 800))
            if index == 0 and centre_id == centre_ids[0]:
                # Survival boundaries: created on a 29 February, closed exactly 12 months on.
                status, created_on, closed_on = "closed", date(2024, 2, 29), date(2025, 2, 28)
            elif index == 1 and centre_id == centre_ids[0]:
                status, created_on, closed_on = "closed", date(2024, 2, 29), date(2025, 2, 27)
            elif index == 2 and centre_id == centre_ids[0]:
                status, created_on, closed_on = "closed", date(2023, 6, 30), date(2025, 6, 30)
            rows.append(
                {
                    "centre_id": centre_id,
                    "name": f"Entreprise {len(rows) + 1}",
                    "search_text": f"entreprise {len(rows) + 1}",
                    "legal_form": rng.choice(["informal", "auto_entrepreneur", "cooperative"]),
                    "sector": rng.choice(SECTORS),
                    "area": rng.choice(["urban", "rural"]),
                    "region": rng.choice(REGIONS),
                    "created_on": created_on,
                    "status": status,
                    "closed_on": closed_on,
                    "jobs_at_creation": rng.randint(0, 5),
                    "version": 1,
                }
            )
            owners.append(rng.sample(holder_ids[centre_id], rng.choice([1, 1, 1, 2, 3])))
    enterprise_ids = await _insert(session, Enterprise, rows)
    await _insert_plain(
        session,
        EnterpriseOwner,
        [
            {"enterprise_id": enterprise_id, "holder_id": holder_id}
            for enterprise_id, holders in zip(enterprise_ids, owners, strict=True)
            for holder_id in holders
        ],
    )
    follow_ups = []
    for enterprise_id, row in zip(enterprise_ids, rows, strict=True):
        created_on = row["created_on"]
        if created_on is None:
            continue
        last_day = row["closed_on"] or today
        span = (last_day - created_on).days
        visits = sorted(created_on + _days(rng, 0, span) for _ in range(rng.randint(0, 4)))
        for visited_on in visits:
            follow_ups.append(
                {
                    "enterprise_id": enterprise_id,
                    "centre_id": row["centre_id"],
                    "adviser_id": rng.choice(adviser_ids[row["centre_id"]]),
                    "visited_on": visited_on,
                    "mode": "field_visit",
                    "enterprise_status": rng.choice(["active", "struggling", "dormant"]),
                    "monthly_revenue": Decimal(rng.randint(0, 900000)) / 100,
                    "employees_count": None if rng.random() < 0.2 else rng.randint(0, 9),
                    "risk_level": rng.choice(["low", "medium", "high"]),
                    "needs": [],
                    "version": 1,
                }
            )
    await _insert(session, FollowUp, follow_ups)


async def _generate_sessions(
    session: AsyncSession,
    rng: random.Random,
    today: date,
    size: PortfolioSize,
    centre_ids: list[int],
    holder_ids: dict[int, list[int]],
    adviser_ids: dict[int, list[int]],
) -> dict[int, date]:
    """Coaching sessions; returns each coached holder's first session attended."""
    rows: list[dict[str, Any]] = []
    participants: list[list[int]] = []
    for centre_id in centre_ids:
        for _ in range(size.sessions_per_centre):
            group = rng.random() < 0.3
            rows.append(
                {
                    "centre_id": centre_id,
                    "adviser_id": rng.choice(adviser_ids[centre_id]),
                    "kind": rng.choice(KINDS),
                    "format": "group" if group else "individual",
                    "mode": rng.choice(["in_person", "phone", "video", "field_visit"]),
                    "held_on": today - _days(rng, 0, 1100),
                    "duration_minutes": rng.randint(10, 240),
                    "topic": "Plan d'affaires",
                    "version": 1,
                }
            )
            count = rng.randint(2, 6) if group else 1
            participants.append(rng.sample(holder_ids[centre_id], count))
    session_ids = await _insert(session, CoachingSession, rows)
    # Some holders of group sessions are marked absent: the session did not reach them.
    attendance = [
        {
            holder_id: "absent" if len(holders) > 1 and rng.random() < 0.2 else "present"
            for holder_id in holders
        }
        for holders in participants
    ]
    await _insert_plain(
        session,
        SessionParticipant,
        [
            {"session_id": session_id, "holder_id": holder_id, "attendance": mark}
            for session_id, marks in zip(session_ids, attendance, strict=True)
            for holder_id, mark in marks.items()
        ],
    )
    first: dict[int, date] = {}
    for row, marks in zip(rows, attendance, strict=True):
        for holder_id, mark in marks.items():
            if mark != "present":
                continue
            if holder_id not in first or row["held_on"] < first[holder_id]:
                first[holder_id] = row["held_on"]
    return first


def _plan_loan(
    rng: random.Random,
    today: date,
    centre_id: int,
    holders: list[int],
    product_ids: list[int],
    lender_ids: list[int],
    first_session: dict[int, date],
    behaviour_weights: tuple[int, ...],
) -> PlannedLoan:
    product_index = rng.randrange(len(PRODUCTS))
    product = PRODUCTS[product_index]
    holder_id = rng.choice(holders)
    term = rng.randint(product["min_term"], product["max_term"])
    grace = rng.randint(0, min(2, term - 1))
    principal = Decimal(rng.randint(50_000, 3_000_000)) / 100
    applied_on = today - _days(rng, 0, 1000)
    row: dict[str, Any] = {
        "centre_id": centre_id,
        "holder_id": holder_id,
        "enterprise_id": None,
        "product_id": product_ids[product_index],
        "lender_id": lender_ids[product["lender"]],
        "principal": principal,
        "annual_rate": product["annual_rate"],
        "term": term,
        "repayment_frequency": product["repayment_frequency"],
        "interest_method": product["interest_method"],
        "amortization": product["amortization"],
        "grace_periods": grace,
        "purpose": "Fonds de roulement",
        "applied_on": applied_on,
        "version": 1,
    }
    if rng.random() < 0.08:
        row["status"] = rng.choice(["submitted", "approved", "rejected"])
        return PlannedLoan(row=row, schedule_terms=None, payments=[], write_off_on=None)

    disbursed_on = applied_on + _days(rng, 0, 20)
    session_start = first_session.get(holder_id)
    if session_start is not None and rng.random() < 0.4:
        disbursed_on = session_start + _days(rng, 0, 240)
    disbursed_on = min(disbursed_on, today)
    if rng.random() < 0.02:
        disbursed_on = today
    first_due_on = disbursed_on + _days(rng, 5, 45) if rng.random() < 0.25 else None
    terms = ScheduleTerms(
        principal=principal,
        annual_rate=product["annual_rate"],
        term=term,
        frequency=product["repayment_frequency"],
        interest_method=product["interest_method"],
        amortization=product["amortization"],
        grace_periods=grace,
        disbursed_on=disbursed_on,
        first_due_on=first_due_on,
    )
    row.update(approved_on=applied_on, disbursed_on=disbursed_on)
    schedule = generate_schedule(terms)
    row["first_due_on"] = schedule[0].due_on
    payments = _plan_payments(rng, today, disbursed_on, schedule, behaviour_weights)
    write_off_on = None
    behaviour_defaulted = sum(p.amount for p in payments if p.reversed_on is None) < sum(
        item.total_due for item in schedule
    )
    if behaviour_defaulted and rng.random() < 0.25:
        last_payment = max((p.paid_on for p in payments), default=disbursed_on)
        candidate = last_payment + _days(rng, 30, 400)
        if candidate <= today:
            write_off_on = candidate
    return PlannedLoan(row=row, schedule_terms=terms, payments=payments, write_off_on=write_off_on)


def _plan_payments(
    rng: random.Random,
    today: date,
    disbursed_on: date,
    schedule: list[Any],
    behaviour_weights: tuple[int, ...],
) -> list[PlannedPayment]:
    behaviour = rng.choices(BEHAVIOURS, behaviour_weights)[0]
    remaining = sum((item.total_due for item in schedule), ZERO)
    stop_at = rng.randint(0, len(schedule)) if behaviour == "defaulter" else len(schedule)
    payments: list[PlannedPayment] = []
    for index, item in enumerate(schedule):
        if index >= stop_at or remaining <= 0:
            break
        amount = item.total_due
        if behaviour == "punctual":
            paid_on = item.due_on - _days(rng, 0, 3)
        elif behaviour == "late":
            paid_on = item.due_on + _days(rng, 1, 45)
        elif behaviour == "partial":
            paid_on = item.due_on + _days(rng, -3, 25)
            amount = round_money(amount * Decimal(rng.randint(30, 100)) / 100)
        elif behaviour == "prepayer":
            paid_on = item.due_on - _days(rng, 0, 25)
            amount = amount * rng.choice([1, 1, 2, 3])
        else:
            paid_on = item.due_on + _days(rng, -2, 10)
        paid_on = max(paid_on, disbursed_on)
        if paid_on > today:
            continue
        amount = min(amount, remaining)
        if amount <= 0:
            continue
        if rng.random() < 0.15 and amount > Decimal("1.00"):
            # Two payments on the same day, entered separately.
            first_part = round_money(amount / 3)
            payments.append(PlannedPayment(paid_on=paid_on, amount=first_part))
            payments.append(PlannedPayment(paid_on=paid_on, amount=amount - first_part))
        else:
            payments.append(PlannedPayment(paid_on=paid_on, amount=amount))
        remaining -= amount
        if rng.random() < 0.08:
            # A mistaken payment, later reversed: it counts nowhere.
            reversed_on = min(today, paid_on + _days(rng, 0, 12))
            wrong = max(round_money(item.total_due / 2), Decimal("1.00"))
            payments.append(PlannedPayment(paid_on=paid_on, amount=wrong, reversed_on=reversed_on))
    return payments


async def insert_loans(
    session: AsyncSession, rng: random.Random, plans: list[PlannedLoan]
) -> list[int]:
    for plan in plans:
        if plan.write_off_on is not None:
            plan.payments = [p for p in plan.payments if p.paid_on <= plan.write_off_on]
            plan.payments = [
                p
                if p.reversed_on is None or p.reversed_on <= plan.write_off_on
                else PlannedPayment(p.paid_on, p.amount, plan.write_off_on)
                for p in plan.payments
            ]
        plan.row.setdefault("status", "active")
        for column in ("approved_on", "disbursed_on", "first_due_on"):
            plan.row.setdefault(column, None)
    loan_ids = await _insert(session, Loan, [plan.row for plan in plans])

    installment_rows: list[dict[str, Any]] = []
    schedules: dict[int, list[Any]] = {}
    for loan_id, plan in zip(loan_ids, plans, strict=True):
        if plan.schedule_terms is None:
            continue
        schedule = generate_schedule(plan.schedule_terms)
        schedules[loan_id] = schedule
        installment_rows.extend(
            {
                "loan_id": loan_id,
                "seq": item.seq,
                "due_on": item.due_on,
                "principal_due": item.principal_due,
                "interest_due": item.interest_due,
                "principal_paid": ZERO,
                "interest_paid": ZERO,
                "paid_off_on": None,
            }
            for item in schedule
        )
    installment_ids = await _insert(session, Installment, installment_rows)
    installment_id = {
        (row["loan_id"], row["seq"]): new_id
        for row, new_id in zip(installment_rows, installment_ids, strict=True)
    }

    # Repayments go in shuffled, so ids do not follow dates: backdated entries.
    entries: list[tuple[int, PlannedPayment]] = [
        (loan_id, payment)
        for loan_id, plan in zip(loan_ids, plans, strict=True)
        for payment in plan.payments
    ]
    rng.shuffle(entries)
    repayment_ids = await _insert(
        session,
        LoanTransaction,
        [
            {
                "loan_id": loan_id,
                "kind": "repayment",
                "amount": payment.amount,
                "effective_on": payment.paid_on,
                "principal_portion": ZERO,
                "interest_portion": ZERO,
                "reference": None,
                "reversed": payment.reversed_on is not None,
            }
            for loan_id, payment in entries
        ],
    )
    payments_by_loan: dict[int, list[Payment]] = defaultdict(list)
    other_transactions: list[dict[str, Any]] = []
    for (loan_id, payment), transaction_id in zip(entries, repayment_ids, strict=True):
        if payment.reversed_on is None:
            payments_by_loan[loan_id].append(
                Payment(id=transaction_id, paid_on=payment.paid_on, amount=payment.amount)
            )
        else:
            other_transactions.append(
                {
                    "loan_id": loan_id,
                    "kind": "reversal",
                    "amount": payment.amount,
                    "effective_on": payment.reversed_on,
                    "reverses_id": transaction_id,
                    "reason": "Saisie erronée",
                }
            )

    allocation_rows: list[dict[str, Any]] = []
    portion_updates: list[dict[str, Any]] = []
    installment_updates: dict[int, dict[str, Any]] = {}
    loan_updates: list[dict[str, Any]] = []
    for loan_id, plan in zip(loan_ids, plans, strict=True):
        if plan.schedule_terms is None:
            continue
        dues = [
            InstallmentDue(item.seq, item.due_on, item.principal_due, item.interest_due)
            for item in schedules[loan_id]
        ]
        result = replay(dues, payments_by_loan[loan_id])
        for payment_id, (principal_part, interest_part) in result.portions.items():
            portion_updates.append(
                {
                    "id": payment_id,
                    "principal_portion": principal_part,
                    "interest_portion": interest_part,
                }
            )
        for allocation in result.allocations:
            allocation_rows.append(
                {
                    "loan_id": loan_id,
                    "transaction_id": allocation.payment_id,
                    "installment_id": installment_id[(loan_id, allocation.seq)],
                    "paid_on": allocation.paid_on,
                    "due_on": dues[allocation.seq - 1].due_on,
                    "principal": allocation.principal,
                    "interest": allocation.interest,
                }
            )
        for state in result.installments:
            installment_updates[installment_id[(loan_id, state.seq)]] = {
                "principal_paid": state.principal_paid,
                "interest_paid": state.interest_paid,
                "paid_off_on": state.paid_off_on,
            }
        principal = plan.row["principal"]
        paid_principal = sum((s.principal_paid for s in result.installments), ZERO)
        paid_interest = sum((s.interest_paid for s in result.installments), ZERO)
        unpaid = [s.due_on for s in result.installments if not s.is_fully_paid]
        values: dict[str, Any] = {
            "id": loan_id,
            "paid_principal": paid_principal,
            "paid_interest": paid_interest,
            "outstanding_principal": principal - paid_principal,
            "oldest_unpaid_due_on": min(unpaid, default=None),
            "status": "active",
            "closed_on": None,
            "written_off_on": None,
            "written_off_amount": None,
        }
        if result.closed_on is not None:
            values.update(status="repaid", closed_on=result.closed_on, outstanding_principal=ZERO)
        elif plan.write_off_on is not None:
            values.update(
                status="written_off",
                written_off_on=plan.write_off_on,
                written_off_amount=principal - paid_principal,
                write_off_reason="Irrécouvrable",
                outstanding_principal=ZERO,
            )
            other_transactions.append(
                {
                    "loan_id": loan_id,
                    "kind": "write_off",
                    "amount": principal - paid_principal,
                    "effective_on": plan.write_off_on,
                    "reason": "Irrécouvrable",
                }
            )
        loan_updates.append(values)
        other_transactions.append(
            {
                "loan_id": loan_id,
                "kind": "disbursement",
                "amount": principal,
                "effective_on": plan.row["disbursed_on"],
            }
        )

    for row in other_transactions:
        row.setdefault("reverses_id", None)
        row.setdefault("reason", None)
        row.update(principal_portion=ZERO, interest_portion=ZERO, reference=None, reversed=False)
    await _insert(session, LoanTransaction, other_transactions)
    await _insert(session, Allocation, allocation_rows)
    await _update_by_id(session, LoanTransaction, portion_updates)
    await _update_by_id(
        session,
        Installment,
        [{"id": key, **values} for key, values in installment_updates.items()],
    )
    for values in loan_updates:
        values.setdefault("write_off_reason", None)
    await _update_by_id(session, Loan, loan_updates)
    return loan_ids


async def _update_by_id(
    session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]
) -> None:
    """An executemany UPDATE by primary key, through Core (no ORM version checks)."""
    if not rows:
        return
    table: Any = model.__table__
    columns = [key for key in rows[0] if key != "id"]
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({column: bindparam(f"new_{column}") for column in columns})
    )
    await session.execute(
        statement, [{"row_id": row["id"], **{f"new_{c}": row[c] for c in columns}} for row in rows]
    )
