"""idempotency keys for every creating or acting POST, scoped to the user and the path

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

The loan-scoped keys of repayments (`idempotency_records`) are copied in, each under the
user who recorded its repayment and the repayment's path, so a retry sent across the
upgrade is still answered from the stored response. Their fingerprints were computed the
same way (SHA-256 of the normalised body with sorted keys), so they still match.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotent_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("response_headers", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_idempotent_requests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotent_requests")),
        sa.UniqueConstraint("user_id", "path", "key", name=op.f("uq_idempotent_requests_user_id")),
    )
    op.create_index(
        "ix_idempotent_requests_created_at", "idempotent_requests", ["created_at"], unique=False
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        transaction_id = "CAST(r.response_body ->> 'id' AS INTEGER)"
        body = "CAST(r.response_body AS TEXT)"
        as_json = "CAST({} AS JSON)"
    else:
        transaction_id = "CAST(json_extract(r.response_body, '$.id') AS INTEGER)"
        body = "r.response_body"
        as_json = "{}"
    headers = as_json.format(
        """'{"content-type": "application/json", "location": "/api/v1/loans/'
        || CAST(r.loan_id AS VARCHAR(20)) || '/transactions/'
        || CAST(t.id AS VARCHAR(20)) || '"}'"""
    )
    op.execute(
        f"""
        INSERT INTO idempotent_requests
            (user_id, path, key, request_hash, status_code, response_body, response_headers,
             created_at)
        SELECT t.created_by,
               '/api/v1/loans/' || CAST(r.loan_id AS VARCHAR(20)) || '/repayments',
               r.key, r.request_hash, r.status_code, {body},
               {headers},
               r.created_at
        FROM idempotency_records r
        JOIN loan_transactions t ON t.id = {transaction_id}
        WHERE t.created_by IS NOT NULL
        """
    )


def downgrade() -> None:
    op.drop_index("ix_idempotent_requests_created_at", table_name="idempotent_requests")
    op.drop_table("idempotent_requests")
