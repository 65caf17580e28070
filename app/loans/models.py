from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, Versioned, utcnow
from app.core.money import MONEY

RATE = Numeric(5, 2)


class LoanStatus(StrEnum):
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"
    active = "active"
    repaid = "repaid"
    written_off = "written_off"


class TransactionKind(StrEnum):
    disbursement = "disbursement"
    repayment = "repayment"
    reversal = "reversal"
    write_off = "write_off"


class Lender(Versioned, Base):
    """A partner microcredit association."""

    __tablename__ = "lenders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class LoanProduct(Versioned, Base):
    __tablename__ = "loan_products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lender_id: Mapped[int] = mapped_column(ForeignKey("lenders.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    interest_method: Mapped[str] = mapped_column(String(20))
    amortization: Mapped[str] = mapped_column(String(20))
    annual_rate: Mapped[Decimal] = mapped_column(RATE)
    repayment_frequency: Mapped[str] = mapped_column(String(10))
    min_principal: Mapped[Decimal] = mapped_column(MONEY)
    max_principal: Mapped[Decimal] = mapped_column(MONEY)
    min_term: Mapped[int] = mapped_column(Integer)
    max_term: Mapped[int] = mapped_column(Integer)
    max_grace_periods: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Loan(Versioned, Base):
    """A microloan. Besides its terms, the row carries summary figures of its current state
    (`outstanding_principal`, `paid_*`, `oldest_unpaid_due_on`), updated in the same
    transaction as every repayment, reversal and write-off, so that list filters and
    as-of-today reports read one row per loan instead of its installments."""

    __tablename__ = "loans"
    __table_args__ = (
        Index("ix_loans_centre_status", "centre_id", "status"),
        Index("ix_loans_holder_id", "holder_id"),
        Index("ix_loans_enterprise_id", "enterprise_id"),
        Index("ix_loans_product_id", "product_id"),
        Index("ix_loans_lender_id", "lender_id"),
        Index("ix_loans_status_oldest_unpaid", "status", "oldest_unpaid_due_on"),
        # The latest fold of the arrears, and the active loans not folded that far
        # (app/loans/positions.py, `current_loan_positions`).
        Index("ix_loans_status_overdue_through", "status", "overdue_through"),
        UniqueConstraint("lender_id", "reference", name="uq_loans_lender_reference"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"))
    holder_id: Mapped[int] = mapped_column(ForeignKey("holders.id"))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("loan_products.id"))
    lender_id: Mapped[int] = mapped_column(ForeignKey("lenders.id"))
    principal: Mapped[Decimal] = mapped_column(MONEY)
    annual_rate: Mapped[Decimal] = mapped_column(RATE)
    term: Mapped[int] = mapped_column(Integer)
    repayment_frequency: Mapped[str] = mapped_column(String(10))
    interest_method: Mapped[str] = mapped_column(String(20))
    amortization: Mapped[str] = mapped_column(String(20))
    grace_periods: Mapped[int] = mapped_column(Integer, default=0)
    purpose: Mapped[str] = mapped_column(Text)
    # The lender's own loan number, unique per lender; how a lender's statement names the loan.
    reference: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))
    applied_on: Mapped[date] = mapped_column(Date)
    approved_on: Mapped[date | None] = mapped_column(Date)
    rejected_on: Mapped[date | None] = mapped_column(Date)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    disbursed_on: Mapped[date | None] = mapped_column(Date)
    first_due_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    written_off_on: Mapped[date | None] = mapped_column(Date)
    written_off_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    write_off_reason: Mapped[str | None] = mapped_column(Text)
    outstanding_principal: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    paid_principal: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    paid_interest: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    oldest_unpaid_due_on: Mapped[date | None] = mapped_column(Date)
    # The arrears folded into the row (docs/ARITHMETIC.md, "Arrears folded into the loan"):
    # what the installments due before `overdue_through` still owe, kept by every ledger
    # write; `tracker month-ends store` moves `overdue_through` to the current month's first
    # day. NULL: nothing folded yet (`overdue_amount` is 0).
    overdue_through: Mapped[date | None] = mapped_column(Date)
    overdue_amount: Mapped[Decimal] = mapped_column(
        MONEY, default=Decimal("0.00"), server_default=text("0")
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Installment(Base):
    __tablename__ = "installments"
    __table_args__ = (
        UniqueConstraint("loan_id", "seq"),
        Index("ix_installments_due_on", "due_on"),
        # The installments not fully paid today, by due date: the overdue ones behind
        # any past date's position, and those due since the loans' `overdue_through`
        # behind today's arrears, are a range of this small index, which carries their
        # amounts (INCLUDE, PostgreSQL) for an index-only scan (one loan's open
        # installments come through ix_installments_unpaid_by_loan).
        Index(
            "ix_installments_unpaid",
            "due_on",
            "loan_id",
            postgresql_where=text("paid_off_on IS NULL"),
            sqlite_where=text("paid_off_on IS NULL"),
            postgresql_include=["principal_due", "interest_due", "principal_paid", "interest_paid"],
        ),
        # The same installments by loan, carrying their amounts (INCLUDE, PostgreSQL): the
        # arrears of the loans in arrears today, and the unpaid part of any past date's
        # position, come from an index-only scan, not one heap page per installment.
        Index(
            "ix_installments_unpaid_by_loan",
            "loan_id",
            "due_on",
            postgresql_where=text("paid_off_on IS NULL"),
            sqlite_where=text("paid_off_on IS NULL"),
            postgresql_include=["principal_due", "interest_due", "principal_paid", "interest_paid"],
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    seq: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    principal_due: Mapped[Decimal] = mapped_column(MONEY)
    interest_due: Mapped[Decimal] = mapped_column(MONEY)
    principal_paid: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    interest_paid: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    paid_off_on: Mapped[date | None] = mapped_column(Date)


class LoanTransaction(Base):
    """Append-only: a transaction's amount, date and reference never change."""

    __tablename__ = "loan_transactions"
    __table_args__ = (
        Index("ix_loan_transactions_loan_effective", "loan_id", "effective_on", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    kind: Mapped[str] = mapped_column(String(12))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    effective_on: Mapped[date] = mapped_column(Date)
    principal_portion: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    interest_portion: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    reference: Mapped[str | None] = mapped_column(String(100))
    reversed: Mapped[bool] = mapped_column(Boolean, default=False)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("loan_transactions.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Allocation(Base):
    """The part of one repayment that went to one installment, dated by the payment,
    so that any figure as of a past date can be computed in SQL. `due_on` repeats the
    installment's due date (which never changes), so that a past date's arrears read the
    allocations made since then without joining their installments."""

    __tablename__ = "allocations"
    __table_args__ = (
        Index("ix_allocations_loan_paid_on", "loan_id", "paid_on"),
        Index("ix_allocations_installment_id", "installment_id"),
        Index("ix_allocations_transaction_id", "transaction_id"),
        # The payments made after a date (or between a date and its stored month end), as
        # a past date's position reads them, from an index-only scan (INCLUDE, PostgreSQL):
        # they are scattered over the table, about one heap page each (migration 0012).
        Index(
            "ix_allocations_paid_on",
            "paid_on",
            postgresql_include=["loan_id", "due_on", "principal", "interest"],
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    transaction_id: Mapped[int] = mapped_column(ForeignKey("loan_transactions.id"))
    installment_id: Mapped[int] = mapped_column(ForeignKey("installments.id"))
    paid_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    principal: Mapped[Decimal] = mapped_column(MONEY)
    interest: Mapped[Decimal] = mapped_column(MONEY)


class StoredMonthEnd(Base):
    """A closed month end whose loan positions are stored (`MonthEndPosition`): the
    portfolio as of that date reads them instead of the ledger (app/loans/month_ends.py)."""

    __tablename__ = "stored_month_ends"

    month_end: Mapped[date] = mapped_column(Date, primary_key=True)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MonthEndPosition(Base):
    """A loan's position at the end of a stored month end: the row `loan_positions_as_of`
    gives for that date, kept equal to it by every write dated on or before it
    (app/loans/month_ends.py). Derived data: no foreign keys, so that storing a month end
    of a national portfolio is one bulk insert with nothing checked row by row; the loan's
    centre, holder, lender and product never change."""

    __tablename__ = "month_end_positions"

    # The centre follows the month end in the key: a month end's rows are one range of the
    # key, one centre's another, and each carries the centre by which the tables would be
    # distributed.
    month_end: Mapped[date] = mapped_column(Date, primary_key=True)
    centre_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    loan_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_id: Mapped[int] = mapped_column(Integer)
    lender_id: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(Integer)
    # Kept so that a date earlier in the month can tell the loans disbursed after it
    # without reading `loans` (app/loans/month_ends.py, `positions_from_month_end`).
    disbursed_on: Mapped[date] = mapped_column(Date)
    outstanding_principal: Mapped[Decimal] = mapped_column(MONEY)
    arrears_amount: Mapped[Decimal] = mapped_column(MONEY)
    oldest_overdue_due_on: Mapped[date | None] = mapped_column(Date)


class MonthEndOverdue(Base):
    """What a loan outstanding at a stored month end still owed then on its installments
    due on one date before it (principal and interest, only when something was owed): the
    rows `overdue_amounts_as_of` gives for that month end, kept with `MonthEndPosition`.
    From them and the allocations paid since an earlier date of the same month, that
    date's arrears follow without the installments (app/loans/month_ends.py)."""

    __tablename__ = "month_end_overdue"

    month_end: Mapped[date] = mapped_column(Date, primary_key=True)
    centre_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    loan_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_on: Mapped[date] = mapped_column(Date, primary_key=True)
    unpaid_amount: Mapped[Decimal] = mapped_column(MONEY)
