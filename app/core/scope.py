"""Who is calling and which centres they may see; every domain scopes its queries here."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from app.core.errors import Forbidden, NotFound

S = TypeVar("S", bound=Select[Any])


class Role(StrEnum):
    admin = "admin"
    manager = "manager"
    adviser = "adviser"
    viewer = "viewer"


@dataclass(frozen=True)
class Actor:
    """The authenticated caller."""

    id: int
    email: str
    full_name: str
    role: Role
    centre_id: int | None

    @property
    def all_centres(self) -> bool:
        return self.role == Role.admin or self.centre_id is None

    def sees_centre(self, centre_id: int | None) -> bool:
        return self.all_centres or centre_id == self.centre_id

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = ", ".join(sorted(r.value for r in roles))
            raise Forbidden(f"This action needs one of the roles: {allowed}.")


def visible_to(stmt: S, centre_column: InstrumentedAttribute[Any], actor: Actor) -> S:
    """Restrict a query to the caller's centre, in SQL."""
    if actor.all_centres:
        return stmt
    return stmt.where(centre_column == actor.centre_id)


def ensure_visible(centre_id: int | None, actor: Actor, what: str) -> None:
    """An out-of-scope record is reported exactly like a missing one."""
    if not actor.sees_centre(centre_id):
        raise NotFound(f"{what} not found.")


def centre_filter(actor: Actor, requested: int | None) -> int | None:
    """The centre a list or report is limited to: the caller's own, or the one asked for."""
    if requested is not None and not actor.sees_centre(requested):
        raise NotFound("Centre not found.")
    if actor.all_centres:
        return requested
    return actor.centre_id
