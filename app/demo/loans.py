"""Demo data: partner lenders, their loan products and loans at every stage, all through the
loan service so that schedules, allocations and summary figures are exactly what real use
would give.

About half of the holders who are in support or have created an enterprise get a loan:
some still `submitted` or `approved`, some `rejected`, most `active` with realistic
repayment behaviour (mostly on time, some late, a few partial payers and a few who stop
paying), others `repaid` (a share of them with a second loan) and some `written_off`. A few
repayments are reversed (a bounced cheque). No date is after `today`.
"""

import logging
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.scope import Actor, Role
from app.enterprises.models import EnterpriseOwner
from app.holders.models import Holder
from app.loans import lifecycle, repayments
from app.loans.applications import LoanApplication, apply_for_loan
from app.loans.models import (
    Installment,
    Lender,
    Loan,
    LoanProduct,
    LoanStatus,
    LoanTransaction,
    TransactionKind,
)
from app.loans.products import create_lender, create_product
from app.loans.schemas import LenderCreate, ProductCreate
from app.users.models import User
from app.users.service import actor_of

logger = logging.getLogger("app.demo.loans")

LENDERS = [
    ("AMC-WIF", "Association Al Wifaq pour le microcrédit"),
    ("AMC-TAM", "Fondation Tamkine Microfinance"),
    ("AMC-NAJ", "Association Annajah pour le développement local"),
]

# (lender index, name, method, amortization, rate, frequency, min, max, min term, max term,
#  max grace, active)
PRODUCTS: list[tuple[int, str, str, str, str, str, str, str, int, int, int, bool]] = [
    (
        0,
        "Crédit TPE mensuel",
        "declining_balance",
        "equal_installments",
        "22.00",
        "monthly",
        "5000.00",
        "50000.00",
        6,
        36,
        3,
        True,
    ),
    (
        0,
        "Crédit commerce hebdomadaire",
        "flat",
        "equal_principal",
        "18.00",
        "weekly",
        "1000.00",
        "10000.00",
        12,
        52,
        2,
        True,
    ),
    (
        1,
        "Crédit agricole et élevage",
        "declining_balance",
        "equal_principal",
        "16.50",
        "monthly",
        "3000.00",
        "30000.00",
        6,
        24,
        6,
        True,
    ),
    (
        1,
        "Crédit jeunes promoteurs",
        "declining_balance",
        "equal_installments",
        "20.00",
        "biweekly",
        "2000.00",
        "20000.00",
        12,
        52,
        2,
        True,
    ),
    (
        2,
        "Crédit solidaire artisanat",
        "flat",
        "equal_principal",
        "24.00",
        "monthly",
        "1000.00",
        "15000.00",
        6,
        18,
        1,
        True,
    ),
    (
        2,
        "Crédit habitat-atelier (ancienne offre)",
        "declining_balance",
        "equal_installments",
        "19.00",
        "monthly",
        "10000.00",
        "60000.00",
        12,
        48,
        3,
        False,
    ),
]

PURPOSES = [
    "Achat d'une machine à coudre et de tissus",
    "Stock de marchandises pour l'épicerie de quartier",
    "Achat de brebis et d'aliments pour l'élevage",
    "Équipement de la menuiserie (scie, raboteuse)",
    "Four et matériel pour la pâtisserie",
    "Kit d'irrigation goutte-à-goutte",
    "Ordinateurs et imprimante pour le cybercafé",
    "Fonds de roulement de la coopérative",
    "Rénovation et aménagement du local",
    "Triporteur pour la livraison",
    "Métier à tisser pour les tapis",
    "Matériel de coiffure et d'esthétique",
]
REJECTIONS = [
    "Capacité de remboursement insuffisante",
    "Projet non viable en l'état, à retravailler avec le conseiller",
    "Dossier incomplet après relance",
    "Endettement en cours auprès d'une autre association",
]
WRITE_OFF_REASONS = [
    "Activité arrêtée, impayés de plus de 180 jours",
    "Emprunteur injoignable, créance jugée irrécouvrable",
]
REVERSAL_REASONS = [
    "Chèque rejeté pour provision insuffisante",
    "Versement enregistré en double",
]

STAGES = [
    ("submitted", 8),
    ("approved", 6),
    ("rejected", 7),
    ("active", 52),
    ("repaid", 18),
    ("written_off", 9),
]
PERIOD_DAYS = {"monthly": 30.44, "biweekly": 14.0, "weekly": 7.0}


@dataclass
class Staff:
    admin: Actor
    advisers: dict[int, list[Actor]]
    deciders: dict[int | None, Actor]

    def adviser_for(self, holder: Holder, rng: random.Random) -> Actor:
        candidates = self.advisers.get(holder.centre_id, [])
        own = [actor for actor in candidates if actor.id == holder.adviser_id]
        if own:
            return own[0]
        return rng.choice(candidates) if candidates else self.admin

    def decider_for(self, holder: Holder) -> Actor:
        return self.deciders.get(holder.centre_id) or self.deciders.get(None) or self.admin


async def seed(session: AsyncSession, rng: random.Random, today: date, scale: int) -> None:
    """Lenders, products and loans for about half of the eligible holders (see the module
    docstring). Does nothing when lenders already exist or no admin account does."""
    await session.flush()
    if (await session.execute(select(Lender.id).limit(1))).first() is not None:
        return
    staff = await load_staff(session)
    if staff is None:
        logger.warning("no active admin account: loans demo data skipped")
        return
    products = await seed_products(session, staff.admin)
    active_products = [product for product in products if product.is_active]
    holders = list(
        (
            await session.execute(
                select(Holder)
                .where(Holder.status.in_(("in_support", "enterprise_created")))
                .order_by(Holder.id)
            )
        )
        .scalars()
        .all()
    )
    enterprises = await owned_enterprises(session, [holder.id for holder in holders])
    borrowers = [holder for holder in holders if rng.random() < 0.5]
    for holder in borrowers:
        stage = rng.choices([name for name, _ in STAGES], [weight for _, weight in STAGES])[0]
        loan = await seed_loan(
            session, rng, today, staff, holder, active_products, enterprises, stage
        )
        if loan is not None and loan.status == LoanStatus.repaid and rng.random() < 0.4:
            assert loan.closed_on is not None
            await seed_loan(
                session,
                rng,
                today,
                staff,
                holder,
                active_products,
                enterprises,
                "active",
                not_before=loan.closed_on + timedelta(days=rng.randint(10, 60)),
            )


async def load_staff(session: AsyncSession) -> Staff | None:
    users = list(
        (await session.execute(select(User).where(User.is_active.is_(True)).order_by(User.id)))
        .scalars()
        .all()
    )
    admins = [user for user in users if user.role == Role.admin]
    if not admins:
        return None
    advisers: dict[int, list[Actor]] = {}
    deciders: dict[int | None, Actor] = {}
    for user in users:
        if user.role == Role.adviser and user.centre_id is not None:
            advisers.setdefault(user.centre_id, []).append(actor_of(user))
        elif user.role == Role.manager:
            deciders.setdefault(user.centre_id, actor_of(user))
    return Staff(admin=actor_of(admins[0]), advisers=advisers, deciders=deciders)


async def seed_products(session: AsyncSession, admin: Actor) -> list[LoanProduct]:
    lenders = [
        await create_lender(session, admin, LenderCreate(code=code, name=name))
        for code, name in LENDERS
    ]
    products: list[LoanProduct] = []
    for (
        lender_index,
        name,
        method,
        amortization,
        rate,
        frequency,
        min_principal,
        max_principal,
        min_term,
        max_term,
        max_grace,
        active,
    ) in PRODUCTS:
        values: dict[str, Any] = {
            "lender_id": lenders[lender_index].id,
            "name": name,
            "interest_method": method,
            "amortization": amortization,
            "annual_rate": Decimal(rate),
            "repayment_frequency": frequency,
            "min_principal": Decimal(min_principal),
            "max_principal": Decimal(max_principal),
            "min_term": min_term,
            "max_term": max_term,
            "max_grace_periods": max_grace,
            "is_active": active,
        }
        products.append(
            await create_product(
                session, admin, ProductCreate.model_validate(values), Decimal("150000.00")
            )
        )
    return products


async def owned_enterprises(session: AsyncSession, holder_ids: list[int]) -> dict[int, int]:
    """A holder's (first) enterprise, for the holders that own one."""
    owned: dict[int, int] = {}
    if not holder_ids:
        return owned
    rows = await session.execute(
        select(EnterpriseOwner.holder_id, EnterpriseOwner.enterprise_id)
        .where(EnterpriseOwner.holder_id.in_(holder_ids))
        .order_by(EnterpriseOwner.enterprise_id)
    )
    for holder_id, enterprise_id in rows:
        owned.setdefault(holder_id, enterprise_id)
    return owned


def loan_terms(rng: random.Random, product: LoanProduct) -> tuple[Decimal, int, int]:
    step = 500 if product.repayment_frequency == "monthly" else 250
    low = int(product.min_principal) // step
    high = int(product.max_principal) // step
    principal = Decimal(rng.randint(max(low, 1), max(high // 2, low + 1)) * step)
    principal = min(max(principal, product.min_principal), product.max_principal)
    typical = {"monthly": (12, 24), "biweekly": (18, 36), "weekly": (20, 40)}
    low_term, high_term = typical[product.repayment_frequency]
    term = rng.randint(max(product.min_term, low_term), min(product.max_term, high_term))
    grace = (
        rng.randint(1, product.max_grace_periods)
        if product.max_grace_periods and rng.random() < 0.2
        else 0
    )
    return principal, term, min(grace, term - 1)


async def seed_loan(
    session: AsyncSession,
    rng: random.Random,
    today: date,
    staff: Staff,
    holder: Holder,
    products: list[LoanProduct],
    enterprises: dict[int, int],
    stage: str,
    not_before: date | None = None,
) -> Loan | None:
    """One loan of `holder` brought to `stage` (or an earlier one when the holder's history is
    too short for it)."""
    product = choose_product(rng, holder, products)
    principal, term, grace = loan_terms(rng, product)
    earliest = max(holder.enrolled_on + timedelta(days=14), not_before or date.min)
    if earliest > today:
        return None
    life = timedelta(days=int(PERIOD_DAYS[product.repayment_frequency] * (term + 1)))
    if stage == "repaid" and earliest + life + timedelta(days=40) > today:
        stage = "active"
    if stage == "written_off" and earliest + timedelta(days=260) > today:
        stage = "active"
    applied_on = pick_applied_on(rng, today, earliest, stage, life)
    adviser = staff.adviser_for(holder, rng)
    decider = staff.decider_for(holder)
    enterprise_id = enterprises.get(holder.id) if rng.random() < 0.8 else None
    loan = await apply_for_loan(
        session,
        adviser,
        LoanApplication(
            holder_id=holder.id,
            enterprise_id=enterprise_id,
            product_id=product.id,
            principal=principal,
            term=term,
            grace_periods=grace,
            purpose=rng.choice(PURPOSES),
            applied_on=applied_on,
        ),
        today=today,
        legal_ceiling=Decimal("150000.00"),
    )
    if stage == "submitted":
        return loan
    decided_on = min(applied_on + timedelta(days=rng.randint(2, 12)), today)
    if stage == "rejected":
        return await lifecycle.reject_loan(
            session, decider, loan.id, reason=rng.choice(REJECTIONS), today=decided_on
        )
    await lifecycle.approve_loan(session, decider, loan.id, approved_on=decided_on, today=today)
    if stage == "approved":
        return loan
    disbursed_on = min(decided_on + timedelta(days=rng.randint(1, 10)), today)
    await lifecycle.disburse_loan(session, adviser, loan.id, disbursed_on=disbursed_on, today=today)
    await seed_repayments(session, rng, today, adviser, decider, loan, stage)
    return loan


def choose_product(rng: random.Random, holder: Holder, products: list[LoanProduct]) -> LoanProduct:
    farming = holder.sector in ("agriculture", "livestock")
    weights = [
        4.0 if farming and "agricole" in product.name else 3.0 if "mensuel" in product.name else 1.5
        for product in products
    ]
    return rng.choices(products, weights)[0]


def pick_applied_on(
    rng: random.Random, today: date, earliest: date, stage: str, life: timedelta
) -> date:
    span = (today - earliest).days
    if stage in ("submitted", "approved"):
        back = rng.randint(0, min(25, span))
    elif stage == "active":
        back = rng.randint(20, max(20, min(span, life.days - 10))) if span >= 20 else span
    elif stage == "repaid":
        back = rng.randint(life.days + 40, max(life.days + 40, span))
    elif stage == "written_off":
        back = rng.randint(260, max(260, min(span, 900)))
    else:  # rejected
        back = rng.randint(0, min(span, 400))
    return today - timedelta(days=min(back, span))


async def seed_repayments(
    session: AsyncSession,
    rng: random.Random,
    today: date,
    adviser: Actor,
    decider: Actor,
    loan: Loan,
    stage: str,
) -> None:
    rows = list(
        (
            await session.execute(
                select(Installment).where(Installment.loan_id == loan.id).order_by(Installment.seq)
            )
        )
        .scalars()
        .all()
    )
    assert loan.disbursed_on is not None
    behaviour = pick_behaviour(rng, stage)
    fallen_due = sum(1 for row in rows if row.due_on < today)
    if behaviour == "stops":
        stop_after = rng.randint(1, max(1, len(rows) // 2))
    elif behaviour == "behind":
        stop_after = max(0, fallen_due - rng.randint(1, 3))
    else:
        stop_after = len(rows)
    payments: list[repayments.NewRepayment] = []
    owed = sum((row.principal_due + row.interest_due for row in rows), Decimal("0.00"))
    paid = Decimal("0.00")
    for index, row in enumerate(rows):
        due = row.principal_due + row.interest_due
        if index >= stop_after:
            break
        if behaviour == "early_payoff" and index == len(rows) // 2:
            payments.append(
                repayment(rng, max(row.due_on - timedelta(days=5), loan.disbursed_on), owed - paid)
            )
            paid = owed
            break
        if behaviour == "late" and rng.random() < 0.6:
            paid_on = row.due_on + timedelta(days=rng.randint(3, 45))
        else:
            paid_on = row.due_on - timedelta(days=rng.randint(0, 3))
        paid_on = max(paid_on, loan.disbursed_on)
        amount = due
        if behaviour == "partial" and rng.random() < 0.6:
            amount = (due * Decimal(rng.randint(50, 90)) / 100).quantize(Decimal("1"))
        if paid_on > today or amount <= 0:
            continue
        payments.append(repayment(rng, paid_on, amount))
        paid += amount
    if stage == "repaid" and paid < owed:
        last_due = rows[-1].due_on
        payments.append(
            repayment(rng, min(last_due + timedelta(days=rng.randint(0, 20)), today), owed - paid)
        )
    if payments:
        await repayments.record_repayments(session, adviser, loan.id, payments, today=today)
    if stage == "written_off":
        await write_off(session, rng, today, decider, loan, rows, payments)
    elif stage == "active" and payments and rng.random() < 0.04:
        bounced = await session.execute(
            select(LoanTransaction.id, LoanTransaction.effective_on)
            .where(
                LoanTransaction.loan_id == loan.id,
                LoanTransaction.kind == TransactionKind.repayment,
                LoanTransaction.reversed.is_(False),
            )
            .order_by(LoanTransaction.effective_on.desc(), LoanTransaction.id.desc())
            .limit(1)
        )
        transaction_id, paid_on = bounced.one()
        # The latest repayment by date is not always the last in installment order (a late
        # payer), so the reversal is dated from the bounced repayment itself.
        await repayments.reverse_transaction(
            session,
            decider,
            loan.id,
            transaction_id,
            reason=rng.choice(REVERSAL_REASONS),
            today=min(paid_on + timedelta(days=rng.randint(3, 10)), today),
        )


def pick_behaviour(rng: random.Random, stage: str) -> str:
    """How the holder repays: mostly on time; some late (installments paid up to 45 days
    after their date, the latest ones possibly still unpaid), some behind (the last one to
    three installments unpaid), a few partial payers and a few who stop paying."""
    if stage == "repaid":
        return rng.choices(["on_time", "late", "early_payoff"], [70, 20, 10])[0]
    if stage == "written_off":
        return "stops"
    return rng.choices(["on_time", "late", "behind", "partial", "stops"], [72, 13, 6, 6, 3])[0]


def repayment(rng: random.Random, paid_on: date, amount: Decimal) -> repayments.NewRepayment:
    reference = f"REC-{rng.randint(100000, 999999)}" if rng.random() < 0.7 else None
    return repayments.NewRepayment(amount=amount, paid_on=paid_on, reference=reference)


async def write_off(
    session: AsyncSession,
    rng: random.Random,
    today: date,
    decider: Actor,
    loan: Loan,
    rows: list[Installment],
    payments: list[repayments.NewRepayment],
) -> None:
    assert loan.disbursed_on is not None
    first_unpaid = rows[len(payments)].due_on if len(payments) < len(rows) else rows[-1].due_on
    latest_payment = max((payment.paid_on for payment in payments), default=loan.disbursed_on)
    written_off_on = min(first_unpaid + timedelta(days=rng.randint(181, 270)), today)
    written_off_on = max(written_off_on, latest_payment, loan.disbursed_on)
    if loan.status != LoanStatus.active:
        return
    await lifecycle.write_off_loan(
        session,
        decider,
        loan.id,
        written_off_on=written_off_on,
        reason=rng.choice(WRITE_OFF_REASONS),
        today=today,
    )
