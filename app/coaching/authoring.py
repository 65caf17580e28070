"""Rules shared by an adviser's records (coaching sessions, enterprise follow-ups).

Who may log and change them:
- Admins, managers and advisers write; viewers read only (403).
- An adviser logs in its own name; sending another `adviser_id` is 403.
- Managers and admins log for an adviser: `adviser_id` is then required and must be an
  active adviser of the record's centre (or an adviser with no centre), else 422.
- The adviser who logged a record, and managers and admins in scope, may change it;
  another adviser gets 403.

Their dates: the day a record happened is not in the future, and a list's `from`/`to`
range includes both ends.
"""

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Forbidden, RuleViolation
from app.core.params import fits_id_column
from app.core.roles import WRITERS
from app.core.scope import Actor, Role
from app.users.models import User


def ensure_may_write(actor: Actor) -> None:
    actor.require(*WRITERS)


def ensure_may_edit(actor: Actor, author_id: int) -> None:
    ensure_may_write(actor)
    if actor.role == Role.adviser and author_id != actor.id:
        raise Forbidden("Only the adviser who logged this record, or a manager, may change it.")


def ensure_not_future(field: str, value: date, today: date) -> None:
    if value > today:
        raise RuleViolation(field, f"must not be in the future (today is {today.isoformat()})")


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
    advisers = select(User.id).where(
        User.id == requested,
        User.role == Role.adviser.value,
        User.is_active.is_(True),
        (User.centre_id == centre_id) | User.centre_id.is_(None),
    )
    if not fits_id_column(requested) or (await session.execute(advisers)).first() is None:
        raise RuleViolation("adviser_id", "must be an active adviser of the record's centre")
    return requested
