"""arrears folded into the loan row: `loans.overdue_through` and `loans.overdue_amount`
(what the installments due before `overdue_through` still owe), so that today's arrears
read only the installments due since; the unpaid-installments-by-date index carries their
amounts for that range

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

No backfill: `overdue_through` starts NULL (nothing folded, `overdue_amount` 0), which is
exact; `tracker month-ends store` folds every active loan up to the current month's first
day. On PostgreSQL `ix_installments_unpaid` is rebuilt with the amounts as INCLUDE columns
(the same key, so every plan that used it still can); SQLite keeps the key only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNPAID = sa.text("paid_off_on IS NULL")
AMOUNTS = ["principal_due", "interest_due", "principal_paid", "interest_paid"]


def upgrade() -> None:
    with op.batch_alter_table("loans") as batch:
        batch.add_column(sa.Column("overdue_through", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column(
                "overdue_amount",
                sa.Numeric(14, 2),
                nullable=False,
                server_default=sa.text("0"),
            )
        )
    op.create_index("ix_loans_status_overdue_through", "loans", ["status", "overdue_through"])
    op.drop_index("ix_installments_unpaid", table_name="installments")
    op.create_index(
        "ix_installments_unpaid",
        "installments",
        ["due_on", "loan_id"],
        postgresql_where=UNPAID,
        sqlite_where=UNPAID,
        postgresql_include=AMOUNTS,
    )


def downgrade() -> None:
    op.drop_index("ix_installments_unpaid", table_name="installments")
    op.create_index(
        "ix_installments_unpaid",
        "installments",
        ["due_on", "loan_id"],
        postgresql_where=UNPAID,
        sqlite_where=UNPAID,
    )
    op.drop_index("ix_loans_status_overdue_through", table_name="loans")
    with op.batch_alter_table("loans") as batch:
        batch.drop_column("overdue_amount")
        batch.drop_column("overdue_through")
