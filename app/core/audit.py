"""The audit trail: one helper that every write calls."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, utcnow

SUMMARISED = "audit_summarised"
"""Session flag: per-record events are folded into one summary event that the caller writes
(an import is one `import` event with its counts, not thousands of `create` events)."""

SECRET_FIELDS = frozenset({"password", "password_hash", "token", "access_token", "secret_key"})


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_entity", "entity", "entity_id"),
        Index("ix_audit_events_centre_id", "centre_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def json_safe(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    return value


def snapshot(fields: dict[str, Any]) -> dict[str, Any]:
    """The values of a created record, secrets left out."""
    return {k: json_safe(v) for k, v in fields.items() if k not in SECRET_FIELDS}


async def record(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    centre_id: int | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session's transaction; inside `summarised` the event is
    built but not stored."""
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        centre_id=centre_id,
        changes={k: v for k, v in (changes or {}).items() if k not in SECRET_FIELDS},
    )
    if session.info.get(SUMMARISED):
        return event
    session.add(event)
    await session.flush()
    return event


def is_summarised(session: AsyncSession) -> bool:
    """Whether per-record events are folded into a summary (so need not be built at all)."""
    return bool(session.info.get(SUMMARISED))


@contextmanager
def summarised(session: AsyncSession) -> Iterator[None]:
    """Within the block, `record` stores nothing: the caller records one summary event."""
    session.info[SUMMARISED] = True
    try:
        yield
    finally:
        session.info.pop(SUMMARISED, None)


async def record_update(
    session: AsyncSession,
    *,
    actor_id: int | None,
    entity: str,
    entity_id: int,
    centre_id: int | None = None,
    changes: dict[str, Any],
) -> None:
    """Write a changed record (its version moves on) and audit the change; a PATCH that
    changes nothing writes nothing."""
    if not changes:
        return
    await session.flush()
    await record(
        session,
        actor_id=actor_id,
        action="update",
        entity=entity,
        entity_id=entity_id,
        centre_id=centre_id,
        changes=changes,
    )
