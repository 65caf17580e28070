from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, Versioned


class Holder(Versioned, Base):
    """A young project holder supported by a centre."""

    __tablename__ = "holders"
    __table_args__ = (
        Index("ix_holders_centre_status", "centre_id", "status"),
        Index("ix_holders_adviser_id", "adviser_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"))
    adviser_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    # Accent- and case-folded "first last national_id", so that `q` behaves alike on every database.
    search_text: Mapped[str] = mapped_column(String(250), default="")
    national_id: Mapped[str | None] = mapped_column(String(8), unique=True)
    birth_date: Mapped[date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(8))
    phone: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(300))
    region: Mapped[str | None] = mapped_column(String(40))
    province: Mapped[str | None] = mapped_column(String(100))
    area: Mapped[str] = mapped_column(String(8))
    education_level: Mapped[str | None] = mapped_column(String(20))
    household_vulnerable: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(24))
    enrolled_on: Mapped[date] = mapped_column(Date)
    sector: Mapped[str | None] = mapped_column(String(20))
    project_summary: Mapped[str | None] = mapped_column(Text)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
