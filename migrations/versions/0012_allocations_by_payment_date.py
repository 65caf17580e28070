"""allocations by payment date carrying what a past date's position reads of them: the
payments made after a date (or between a date and its stored month end) come from an
index-only scan instead of one heap page per allocation

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

`ix_allocations_paid_on` is rebuilt with INCLUDE columns on PostgreSQL (the same key, so
every plan that used it still can). SQLite has no INCLUDE and keeps the key only.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CARRIED = ["loan_id", "due_on", "principal", "interest"]


def upgrade() -> None:
    op.drop_index("ix_allocations_paid_on", table_name="allocations")
    op.create_index(
        "ix_allocations_paid_on", "allocations", ["paid_on"], postgresql_include=CARRIED
    )


def downgrade() -> None:
    op.drop_index("ix_allocations_paid_on", table_name="allocations")
    op.create_index("ix_allocations_paid_on", "allocations", ["paid_on"])
