"""reads from stored state: allocations carry their installment's due date; a partial index
of the installments not fully paid

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNPAID = sa.text("paid_off_on IS NULL")


def upgrade() -> None:
    op.add_column("allocations", sa.Column("due_on", sa.Date(), nullable=True))
    # Backfill: an installment's due date never changes, so it is copied once.
    op.execute(
        "UPDATE allocations SET due_on = "
        "(SELECT installments.due_on FROM installments "
        "WHERE installments.id = allocations.installment_id)"
    )
    with op.batch_alter_table("allocations") as batch:
        batch.alter_column("due_on", existing_type=sa.Date(), nullable=False)
    op.create_index(
        "ix_installments_unpaid",
        "installments",
        ["loan_id", "due_on"],
        postgresql_where=UNPAID,
        sqlite_where=UNPAID,
    )


def downgrade() -> None:
    op.drop_index("ix_installments_unpaid", table_name="installments")
    with op.batch_alter_table("allocations") as batch:
        batch.drop_column("due_on")
