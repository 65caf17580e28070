"""Role sets shared by several domains, and their wording in the OpenAPI descriptions.

A service checks a set with `actor.require(*ROLES)`; its route states the same set with
`roles_text(ROLES)`, so the documentation cannot drift from the check.
"""

from collections.abc import Iterable

from app.core.scope import Role

WRITERS = (Role.admin, Role.manager, Role.adviser)
"""Who may register and change holders, enterprises, coaching sessions and follow-ups."""

READERS = (Role.admin, Role.manager, Role.adviser, Role.viewer)
"""Every authenticated role (each limited to its centre unless it sees all centres)."""

ADMINS = (Role.admin,)
AUDITORS = (Role.admin, Role.manager)
"""Who may read the audit trail."""

_PLURALS = {
    Role.admin: "admins",
    Role.manager: "managers",
    Role.adviser: "advisers",
    Role.viewer: "viewers",
}
_ORDER = (Role.admin, Role.manager, Role.adviser, Role.viewer)


def ordered(roles: Iterable[Role]) -> list[Role]:
    """The roles from the widest powers to the narrowest, each once."""
    allowed = set(roles)
    return [role for role in _ORDER if role in allowed]


def roles_text(roles: Iterable[Role]) -> str:
    """The roles as the documentation names them: "admins, managers" for
    (Role.manager, Role.admin), "every role" for all four."""
    names = [_PLURALS[role] for role in ordered(roles)]
    return "every role" if len(names) == len(_ORDER) else ", ".join(names)


def roles_sentence(roles: Iterable[Role]) -> str:
    """The sentence an operation's description starts with."""
    return f"**Roles:** {roles_text(roles)}."
