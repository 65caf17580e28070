from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, Versioned


class Enterprise(Versioned, Base):
    """A very small enterprise (TPE) created by one or more holders."""

    __tablename__ = "enterprises"
    __table_args__ = (Index("ix_enterprises_centre_status", "centre_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"))
    name: Mapped[str] = mapped_column(String(200))
    search_text: Mapped[str] = mapped_column(String(200), default="")
    legal_form: Mapped[str] = mapped_column(String(24))
    sector: Mapped[str] = mapped_column(String(20))
    activity: Mapped[str | None] = mapped_column(String(200))
    ice: Mapped[str | None] = mapped_column(String(15))
    area: Mapped[str] = mapped_column(String(8))
    region: Mapped[str | None] = mapped_column(String(40))
    created_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))
    closed_on: Mapped[date | None] = mapped_column(Date)
    jobs_at_creation: Mapped[int] = mapped_column(Integer, default=0)


class EnterpriseOwner(Base):
    __tablename__ = "enterprise_owners"
    __table_args__ = (Index("ix_enterprise_owners_holder_id", "holder_id"),)

    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("holders.id"), primary_key=True)
    share_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
