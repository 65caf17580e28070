"""Drop idempotency_records: retries are answered by idempotent_requests (0007 copied its rows)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Repayment keys used to be stored per loan by the repayment service; since 0007 every
idempotent POST, repayments included, stores its answer in `idempotent_requests` at the
HTTP layer, and 0007 copied the old keys there. Downgrading recreates the old table empty:
the copies stay in `idempotent_requests` until 0007 itself is downgraded.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("idempotency_records")


def downgrade() -> None:
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
