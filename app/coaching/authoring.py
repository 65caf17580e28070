"""Who may log and change an adviser's records (coaching sessions, enterprise follow-ups).

- Admins, managers and advisers write; viewers read only (403).
- An adviser logs in its own name; sending another `adviser_id` is 403.
- Managers and admins log for an adviser: `adviser_id` is then required and must be an
  active adviser of the record's centre (or an adviser with no centre), else 422.
- The adviser who logged a record, and managers and admins in scope, may change it;
  another adviser gets 403.
"""

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.core.errors import Forbidden, RuleViolation
from app.core.scope import Actor, Role
from app.users.models import User

WRITERS = (Role.admin, Role.manager, Role.adviser)


def ensure_may_write(actor: Actor) -> None:
    actor.require(*WRITERS)


def ensure_may_edit(actor: Actor, author_id: int) -> None:
    ensure_may_write(actor)
    if actor.role == Role.adviser and author_id != actor.id:
        raise Forbidden("Only the adviser who logged this record, or a manager, may change it.")


def ensure_not_future(field: str, value: date, today: date) -> None:
    if value > today:
        raise RuleViolation(field, f"must not be in the future (today is {today.isoformat()})")


async def resolve_centre(session: AsyncSession, actor: Actor, requested: int | None) -> int:
    """The record's centre: the one sent, else the caller's; it must be in the caller's scope."""
    if requested is None:
        if actor.centre_id is None:
            raise RuleViolation("centre_id", "required for callers who belong to no centre")
        return actor.centre_id
    if not actor.sees_centre(requested) or await session.get(Centre, requested) is None:
        raise RuleViolation("centre_id", "no such centre in your scope")
    return requested


async def resolve_adviser(
    session: AsyncSession, actor: Actor, requested: int | None, centre_id: int
) -> int:
    """The adviser a record is logged for (see the module's rules)."""
    if actor.role == Role.adviser:
        if requested is not None and requested != actor.id:
            raise Forbidden("An adviser logs records in its own name only.")
        return actor.id
    if requested is None:
        raise RuleViolation("adviser_id", "required: name the adviser of the centre who did it")
    row = (
        await session.execute(
            select(User.id).where(
                User.id == requested,
                User.role == Role.adviser.value,
                User.is_active.is_(True),
                (User.centre_id == centre_id) | User.centre_id.is_(None),
            )
        )
    ).first()
    if row is None:
        raise RuleViolation("adviser_id", "must be an active adviser of the record's centre")
    return requested
