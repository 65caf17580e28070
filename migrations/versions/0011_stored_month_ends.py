"""stored month ends: each loan's position at the end of a closed month, and what it
still owed then by due date, so that the portfolio as of a month end reads one stored row
per loan instead of the ledger, and a date earlier in that month only that month's
payments

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

The tables start empty: `tracker month-ends store` fills them (app/loans/month_ends.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(14, 2)


def upgrade() -> None:
    op.create_table(
        "stored_month_ends",
        sa.Column("month_end", sa.Date(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("month_end", name=op.f("pk_stored_month_ends")),
    )
    op.create_table(
        "month_end_positions",
        sa.Column("month_end", sa.Date(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=False),
        sa.Column("lender_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("disbursed_on", sa.Date(), nullable=False),
        sa.Column("outstanding_principal", MONEY, nullable=False),
        sa.Column("arrears_amount", MONEY, nullable=False),
        sa.Column("oldest_overdue_due_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint(
            "month_end", "centre_id", "loan_id", name=op.f("pk_month_end_positions")
        ),
    )
    op.create_table(
        "month_end_overdue",
        sa.Column("month_end", sa.Date(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("unpaid_amount", MONEY, nullable=False),
        sa.PrimaryKeyConstraint(
            "month_end", "centre_id", "loan_id", "due_on", name=op.f("pk_month_end_overdue")
        ),
    )


def downgrade() -> None:
    op.drop_table("month_end_overdue")
    op.drop_table("month_end_positions")
    op.drop_table("stored_month_ends")
