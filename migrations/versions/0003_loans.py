"""loans

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lenders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lenders")),
        sa.UniqueConstraint("code", name=op.f("uq_lenders_code")),
    )
    op.create_table(
        "loan_products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lender_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("interest_method", sa.String(length=20), nullable=False),
        sa.Column("amortization", sa.String(length=20), nullable=False),
        sa.Column("annual_rate", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("repayment_frequency", sa.String(length=10), nullable=False),
        sa.Column("min_principal", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("max_principal", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("min_term", sa.Integer(), nullable=False),
        sa.Column("max_term", sa.Integer(), nullable=False),
        sa.Column("max_grace_periods", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lender_id"], ["lenders.id"], name=op.f("fk_loan_products_lender_id_lenders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_products")),
    )
    with op.batch_alter_table("loan_products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loan_products_lender_id"), ["lender_id"], unique=False)

    op.create_table(
        "loans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("lender_id", sa.Integer(), nullable=False),
        sa.Column("principal", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("annual_rate", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("repayment_frequency", sa.String(length=10), nullable=False),
        sa.Column("interest_method", sa.String(length=20), nullable=False),
        sa.Column("amortization", sa.String(length=20), nullable=False),
        sa.Column("grace_periods", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("approved_on", sa.Date(), nullable=True),
        sa.Column("rejected_on", sa.Date(), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("disbursed_on", sa.Date(), nullable=True),
        sa.Column("first_due_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("written_off_on", sa.Date(), nullable=True),
        sa.Column("written_off_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("write_off_reason", sa.Text(), nullable=True),
        sa.Column("outstanding_principal", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("paid_principal", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("paid_interest", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("oldest_unpaid_due_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["centre_id"], ["centres.id"], name=op.f("fk_loans_centre_id_centres")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_loans_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_loans_enterprise_id_enterprises")
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["holders.id"], name=op.f("fk_loans_holder_id_holders")
        ),
        sa.ForeignKeyConstraint(
            ["lender_id"], ["lenders.id"], name=op.f("fk_loans_lender_id_lenders")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["loan_products.id"], name=op.f("fk_loans_product_id_loan_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loans")),
    )
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.create_index("ix_loans_centre_status", ["centre_id", "status"], unique=False)
        batch_op.create_index("ix_loans_enterprise_id", ["enterprise_id"], unique=False)
        batch_op.create_index("ix_loans_holder_id", ["holder_id"], unique=False)
        batch_op.create_index("ix_loans_lender_id", ["lender_id"], unique=False)
        batch_op.create_index("ix_loans_product_id", ["product_id"], unique=False)
        batch_op.create_index(
            "ix_loans_status_oldest_unpaid", ["status", "oldest_unpaid_due_on"], unique=False
        )

    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_idempotency_records_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_records")),
        sa.UniqueConstraint("loan_id", "key", name=op.f("uq_idempotency_records_loan_id")),
    )
    op.create_table(
        "installments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("principal_due", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("interest_due", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("principal_paid", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("interest_paid", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("paid_off_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_installments_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installments")),
        sa.UniqueConstraint("loan_id", "seq", name=op.f("uq_installments_loan_id")),
    )
    with op.batch_alter_table("installments", schema=None) as batch_op:
        batch_op.create_index("ix_installments_due_on", ["due_on"], unique=False)

    op.create_table(
        "loan_transactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("principal_portion", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("interest_portion", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("reversed", sa.Boolean(), nullable=False),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_loan_transactions_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_loan_transactions_loan_id_loans")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["loan_transactions.id"],
            name=op.f("fk_loan_transactions_reverses_id_loan_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_transactions")),
    )
    with op.batch_alter_table("loan_transactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loan_transactions_loan_effective", ["loan_id", "effective_on", "id"], unique=False
        )

    op.create_table(
        "allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=False),
        sa.Column("installment_id", sa.Integer(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("principal", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("interest", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["installment_id"],
            ["installments.id"],
            name=op.f("fk_allocations_installment_id_installments"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_allocations_loan_id_loans")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["loan_transactions.id"],
            name=op.f("fk_allocations_transaction_id_loan_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
    )
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.create_index("ix_allocations_installment_id", ["installment_id"], unique=False)
        batch_op.create_index("ix_allocations_loan_paid_on", ["loan_id", "paid_on"], unique=False)
        batch_op.create_index("ix_allocations_paid_on", ["paid_on"], unique=False)
        batch_op.create_index("ix_allocations_transaction_id", ["transaction_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.drop_index("ix_allocations_transaction_id")
        batch_op.drop_index("ix_allocations_paid_on")
        batch_op.drop_index("ix_allocations_loan_paid_on")
        batch_op.drop_index("ix_allocations_installment_id")

    op.drop_table("allocations")
    with op.batch_alter_table("loan_transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_loan_transactions_loan_effective")

    op.drop_table("loan_transactions")
    with op.batch_alter_table("installments", schema=None) as batch_op:
        batch_op.drop_index("ix_installments_due_on")

    op.drop_table("installments")
    op.drop_table("idempotency_records")
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index("ix_loans_status_oldest_unpaid")
        batch_op.drop_index("ix_loans_product_id")
        batch_op.drop_index("ix_loans_lender_id")
        batch_op.drop_index("ix_loans_holder_id")
        batch_op.drop_index("ix_loans_enterprise_id")
        batch_op.drop_index("ix_loans_centre_status")

    op.drop_table("loans")
    with op.batch_alter_table("loan_products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_products_lender_id"))

    op.drop_table("loan_products")
    op.drop_table("lenders")
