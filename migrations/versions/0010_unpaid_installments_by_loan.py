"""a partial index of the installments not fully paid, by loan, that carries their amounts:
today's arrears of the loans in arrears and past dates' unpaid installments read it alone

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

On PostgreSQL the amounts are INCLUDE columns, so that the arrears come from an index-only
scan instead of one heap page per installment; SQLite has no INCLUDE and gets the keys only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNPAID = sa.text("paid_off_on IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_installments_unpaid_by_loan",
        "installments",
        ["loan_id", "due_on"],
        postgresql_where=UNPAID,
        sqlite_where=UNPAID,
        postgresql_include=["principal_due", "interest_due", "principal_paid", "interest_paid"],
    )


def downgrade() -> None:
    op.drop_index("ix_installments_unpaid_by_loan", table_name="installments")
