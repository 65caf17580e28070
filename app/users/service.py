"""Users, authentication and login throttling."""

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.core import audit
from app.core.concurrency import ensure_if_match
from app.core.config import Settings
from app.core.db import utcnow
from app.core.errors import Conflict, NotFound, RuleViolation, TooManyRequests
from app.core.pagination import PageParams, paginate
from app.core.patching import apply_changes, patch_values
from app.core.roles import ADMINS
from app.core.scope import Actor, Role
from app.core.security import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    hash_password_sync,
    verify_password,
)
from app.users.models import LoginAttempt, User
from app.users.schemas import NULLABLE_ON_PATCH, UserUpdate

# Verifying against a real hash when the account is unknown keeps response times alike,
# so that timing does not reveal which emails exist.
_DUMMY_HASH = hash_password_sync("timing-equaliser-not-a-password")


def actor_of(user: User) -> Actor:
    return Actor(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=Role(user.role),
        centre_id=user.centre_id,
    )


async def ensure_not_throttled(
    session: AsyncSession, settings: Settings, email: str, address: str
) -> None:
    since = utcnow() - timedelta(minutes=settings.login_window_minutes)
    failures = select(func.count()).where(
        LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at >= since
    )
    by_email = (await session.execute(failures.where(LoginAttempt.email == email))).scalar_one()
    by_address = (
        await session.execute(failures.where(LoginAttempt.address == address))
    ).scalar_one()
    if by_email >= settings.login_max_failures or by_address >= settings.login_address_max_failures:
        raise TooManyRequests(
            "Too many failed login attempts; try again later.",
            headers={"Retry-After": str(settings.login_window_minutes * 60)},
        )


async def authenticate(
    session: AsyncSession, settings: Settings, email: str, password: str, address: str
) -> User | None:
    """The active user with these credentials, or None; every attempt is recorded."""
    email = email.strip().lower()
    if "\x00" in email + password:
        return None
    await ensure_not_throttled(session, settings, email, address)
    user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
    valid = await verify_password(password, user.password_hash if user else _DUMMY_HASH)
    succeeded = bool(user is not None and valid and user.is_active)
    session.add(LoginAttempt(email=email, address=address, succeeded=succeeded))
    await session.flush()
    return user if succeeded else None


async def active_user(session: AsyncSession, user_id: int) -> User | None:
    user = await session.get(User, user_id)
    return user if user is not None and user.is_active else None


async def load_actor(session: AsyncSession, user_id: int) -> Actor | None:
    """The caller a valid token names: its active user, as an `Actor` (see
    `app.core.deps.current_user`)."""
    user = await active_user(session, user_id)
    return actor_of(user) if user is not None else None


async def list_users(
    session: AsyncSession, actor: Actor, page: PageParams, order_by: list[Any]
) -> tuple[list[User], int]:
    actor.require(*ADMINS)
    return await paginate(session, select(User), page, order_by)


async def get_user(session: AsyncSession, actor: Actor, user_id: int) -> User:
    actor.require(*ADMINS)
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("User not found.")
    return user


async def ensure_centre_fits_role(session: AsyncSession, role: Role, centre_id: int | None) -> None:
    if centre_id is not None and await session.get(Centre, centre_id) is None:
        raise RuleViolation("centre_id", "no such centre")
    if role == Role.adviser and centre_id is None:
        raise RuleViolation("centre_id", "an adviser belongs to a centre")
    if role == Role.admin and centre_id is not None:
        raise RuleViolation("centre_id", "an admin sees all centres and has no centre")


async def create_user(
    session: AsyncSession,
    actor: Actor | None,
    *,
    email: str,
    full_name: str,
    password: str,
    role: Role,
    centre_id: int | None,
) -> User:
    """Create a user; `actor` None means the command line (an operator on the server)."""
    if actor is not None:
        actor.require(*ADMINS)
    email = email.strip().lower()
    await ensure_centre_fits_role(session, role, centre_id)
    if (await session.execute(select(User.id).where(User.email == email))).first():
        raise Conflict("A user with this email already exists.", errors=[("email", "already used")])
    user = User(
        email=email,
        full_name=full_name,
        password_hash=await hash_password(password),
        role=Role(role).value,
        centre_id=centre_id,
        is_active=True,
        version=1,
    )
    session.add(user)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id if actor else None,
        action="create",
        entity="user",
        entity_id=user.id,
        centre_id=centre_id,
        changes=audit.snapshot(
            {"email": email, "full_name": full_name, "role": role, "centre_id": centre_id}
        ),
    )
    return user


async def create_user_account(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    role: Role,
    centre_id: int | None,
    full_name: str,
) -> User:
    """An account created from the command line (`tracker users create`, no acting user):
    the password needs at least MIN_PASSWORD_LENGTH characters (RuleViolation naming
    `password`), then the rules of `create_user`."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise RuleViolation("password", f"needs at least {MIN_PASSWORD_LENGTH} characters")
    return await create_user(
        session,
        None,
        email=email,
        full_name=full_name,
        password=password,
        role=role,
        centre_id=centre_id,
    )


async def update_user(
    session: AsyncSession, actor: Actor, user_id: int, patch: UserUpdate, if_match: str | None
) -> User:
    values = patch_values(patch, nullable=NULLABLE_ON_PATCH)
    user = await get_user(session, actor, user_id)
    ensure_if_match(if_match, user.version)
    password = values.pop("password", None)
    role = Role(values.get("role", user.role))
    centre_id = values.get("centre_id", user.centre_id)
    await ensure_centre_fits_role(session, role, centre_id)
    if user.id == actor.id and (values.get("is_active") is False or role != Role.admin):
        raise Conflict("Admins cannot deactivate or demote themselves.")
    changes = apply_changes(
        user, {k: (v.value if isinstance(v, Role) else v) for k, v in values.items()}
    )
    if password is not None:
        user.password_hash = await hash_password(password)
        changes["password_changed"] = True
    await audit.record_update(
        session,
        actor_id=actor.id,
        entity="user",
        entity_id=user.id,
        centre_id=user.centre_id,
        changes=changes,
    )
    return user
