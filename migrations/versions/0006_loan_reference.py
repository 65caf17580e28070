"""loans carry the lender's reference (unique per lender)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: existing loans have no known reference; NULLs never collide in a unique key.
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference", sa.String(length=40), nullable=True))
        batch_op.create_unique_constraint("uq_loans_lender_reference", ["lender_id", "reference"])


def downgrade() -> None:
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_constraint("uq_loans_lender_reference", type_="unique")
        batch_op.drop_column("reference")
