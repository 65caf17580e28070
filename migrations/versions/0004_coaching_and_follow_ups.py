"""coaching and follow-ups

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coaching_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("adviser_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("format", sa.String(length=12), nullable=False),
        sa.Column("mode", sa.String(length=12), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("next_steps", sa.Text(), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["adviser_id"], ["users.id"], name=op.f("fk_coaching_sessions_adviser_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["centre_id"], ["centres.id"], name=op.f("fk_coaching_sessions_centre_id_centres")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_coaching_sessions_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_sessions")),
    )
    with op.batch_alter_table("coaching_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_coaching_sessions_adviser_id", ["adviser_id"], unique=False)
        batch_op.create_index(
            "ix_coaching_sessions_centre_held_on", ["centre_id", "held_on"], unique=False
        )
        batch_op.create_index("ix_coaching_sessions_enterprise_id", ["enterprise_id"], unique=False)

    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("adviser_id", sa.Integer(), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("mode", sa.String(length=12), nullable=False),
        sa.Column("enterprise_status", sa.String(length=12), nullable=False),
        sa.Column("monthly_revenue", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("employees_count", sa.Integer(), nullable=True),
        sa.Column("risk_level", sa.String(length=8), nullable=True),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("next_follow_up_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["adviser_id"], ["users.id"], name=op.f("fk_follow_ups_adviser_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["centre_id"], ["centres.id"], name=op.f("fk_follow_ups_centre_id_centres")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_follow_ups_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
    )
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.create_index("ix_follow_ups_adviser_id", ["adviser_id"], unique=False)
        batch_op.create_index(
            "ix_follow_ups_centre_visited", ["centre_id", "visited_on"], unique=False
        )
        batch_op.create_index(
            "ix_follow_ups_enterprise_visited", ["enterprise_id", "visited_on"], unique=False
        )

    op.create_table(
        "session_participants",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=False),
        sa.Column("attendance", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["holders.id"], name=op.f("fk_session_participants_holder_id_holders")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["coaching_sessions.id"],
            name=op.f("fk_session_participants_session_id_coaching_sessions"),
        ),
        sa.PrimaryKeyConstraint("session_id", "holder_id", name=op.f("pk_session_participants")),
    )
    with op.batch_alter_table("session_participants", schema=None) as batch_op:
        batch_op.create_index("ix_session_participants_holder_id", ["holder_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("session_participants", schema=None) as batch_op:
        batch_op.drop_index("ix_session_participants_holder_id")

    op.drop_table("session_participants")
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.drop_index("ix_follow_ups_enterprise_visited")
        batch_op.drop_index("ix_follow_ups_centre_visited")
        batch_op.drop_index("ix_follow_ups_adviser_id")

    op.drop_table("follow_ups")
    with op.batch_alter_table("coaching_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_coaching_sessions_enterprise_id")
        batch_op.drop_index("ix_coaching_sessions_centre_held_on")
        batch_op.drop_index("ix_coaching_sessions_adviser_id")

    op.drop_table("coaching_sessions")
