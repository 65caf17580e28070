from datetime import date

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, Versioned


class CoachingSession(Versioned, Base):
    """One of the centre's five support services given to one holder or a group."""

    __tablename__ = "coaching_sessions"
    __table_args__ = (
        Index("ix_coaching_sessions_centre_held_on", "centre_id", "held_on"),
        Index("ix_coaching_sessions_adviser_id", "adviser_id"),
        Index("ix_coaching_sessions_enterprise_id", "enterprise_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"))
    adviser_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))
    format: Mapped[str] = mapped_column(String(12))
    mode: Mapped[str] = mapped_column(String(12))
    held_on: Mapped[date] = mapped_column(Date)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    topic: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    next_steps: Mapped[str | None] = mapped_column(Text)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))


class SessionParticipant(Base):
    __tablename__ = "session_participants"
    __table_args__ = (Index("ix_session_participants_holder_id", "holder_id"),)

    session_id: Mapped[int] = mapped_column(ForeignKey("coaching_sessions.id"), primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("holders.id"), primary_key=True)
    attendance: Mapped[str] = mapped_column(String(8), default="present")
