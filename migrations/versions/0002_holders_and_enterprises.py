"""holders and enterprises

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enterprises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("search_text", sa.String(length=200), nullable=False),
        sa.Column("legal_form", sa.String(length=24), nullable=False),
        sa.Column("sector", sa.String(length=20), nullable=False),
        sa.Column("activity", sa.String(length=200), nullable=True),
        sa.Column("ice", sa.String(length=15), nullable=True),
        sa.Column("area", sa.String(length=8), nullable=False),
        sa.Column("region", sa.String(length=40), nullable=True),
        sa.Column("created_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("jobs_at_creation", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["centre_id"], ["centres.id"], name=op.f("fk_enterprises_centre_id_centres")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprises")),
    )
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.create_index("ix_enterprises_centre_status", ["centre_id", "status"], unique=False)

    op.create_table(
        "holders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("adviser_id", sa.Integer(), nullable=True),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("search_text", sa.String(length=250), nullable=False),
        sa.Column("national_id", sa.String(length=8), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("gender", sa.String(length=8), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("region", sa.String(length=40), nullable=True),
        sa.Column("province", sa.String(length=100), nullable=True),
        sa.Column("area", sa.String(length=8), nullable=False),
        sa.Column("education_level", sa.String(length=20), nullable=True),
        sa.Column("household_vulnerable", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("enrolled_on", sa.Date(), nullable=False),
        sa.Column("sector", sa.String(length=20), nullable=True),
        sa.Column("project_summary", sa.Text(), nullable=True),
        sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["adviser_id"], ["users.id"], name=op.f("fk_holders_adviser_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["centre_id"], ["centres.id"], name=op.f("fk_holders_centre_id_centres")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holders")),
        sa.UniqueConstraint("national_id", name=op.f("uq_holders_national_id")),
    )
    with op.batch_alter_table("holders", schema=None) as batch_op:
        batch_op.create_index("ix_holders_adviser_id", ["adviser_id"], unique=False)
        batch_op.create_index("ix_holders_centre_status", ["centre_id", "status"], unique=False)

    op.create_table(
        "enterprise_owners",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=False),
        sa.Column("share_percent", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_enterprise_owners_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["holders.id"], name=op.f("fk_enterprise_owners_holder_id_holders")
        ),
        sa.PrimaryKeyConstraint("enterprise_id", "holder_id", name=op.f("pk_enterprise_owners")),
    )
    with op.batch_alter_table("enterprise_owners", schema=None) as batch_op:
        batch_op.create_index("ix_enterprise_owners_holder_id", ["holder_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("enterprise_owners", schema=None) as batch_op:
        batch_op.drop_index("ix_enterprise_owners_holder_id")

    op.drop_table("enterprise_owners")
    with op.batch_alter_table("holders", schema=None) as batch_op:
        batch_op.drop_index("ix_holders_centre_status")
        batch_op.drop_index("ix_holders_adviser_id")

    op.drop_table("holders")
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.drop_index("ix_enterprises_centre_status")

    op.drop_table("enterprises")
