from datetime import date
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, Versioned


class FollowUp(Versioned, Base):
    """A periodic visit of an enterprise; the latest one sets the enterprise's status."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        Index("ix_follow_ups_enterprise_visited", "enterprise_id", "visited_on"),
        Index("ix_follow_ups_centre_visited", "centre_id", "visited_on"),
        Index("ix_follow_ups_adviser_id", "adviser_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"))
    adviser_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    visited_on: Mapped[date] = mapped_column(Date)
    mode: Mapped[str] = mapped_column(String(12))
    enterprise_status: Mapped[str] = mapped_column(String(12))
    monthly_revenue: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    employees_count: Mapped[int | None] = mapped_column(Integer)
    risk_level: Mapped[str | None] = mapped_column(String(8))
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    next_follow_up_on: Mapped[date | None] = mapped_column(Date)
