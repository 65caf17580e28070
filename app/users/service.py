"""Users, authentication and login throttling."""

import hashlib
from datetime import timedelta
from typing import Any

from sqlalchemy import Row, bindparam, func, select, text
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
from app.core.security import TokenClaims, hash_password, hash_password_sync, verify_password
from app.users.models import LoginAttempt, User
from app.users.passwords import MIN_PASSWORD_LENGTH, password_problem
from app.users.schemas import NULLABLE_ON_PATCH, UserUpdate

EMAIL_MAX_LENGTH = 254  # RFC 5321's limit, and the width of users.email
ADDRESS_MAX_LENGTH = 64  # an IPv6 address with a zone fits; anything longer is not one

# Verifying against a real hash when the account is unknown keeps response times alike,
# so that timing does not reveal which emails exist.
_DUMMY_HASH = hash_password_sync("timing-equaliser-not-a-password")


def actor_of(user: User | Row[*tuple[Any, ...]]) -> Actor:
    """The caller as the domains see it, from a user (its ORM object, or a row of
    `ACTOR_OF_TOKEN`'s columns)."""
    return Actor(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=Role(user.role),
        centre_id=user.centre_id,
    )


def _lock_key(kind: int, value: str) -> int:
    """A stable signed 64-bit advisory-lock key for (kind, value)."""
    digest = hashlib.sha256(f"{kind}:{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def _lock_login_keys(session: AsyncSession, email: str, address: str) -> None:
    """Serialise the count-then-record of attempts for one account and one address.

    On PostgreSQL: transaction-scoped advisory locks, taken in a fixed order (account,
    then address) so that two logins can never wait on each other in a cycle. On SQLite
    the transaction already holds the database's write lock from its first statement
    (BEGIN IMMEDIATE), which serialises every writer."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in (_lock_key(1, email), _lock_key(2, address)):
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


async def reserve_login_attempt(
    session: AsyncSession, settings: Settings, email: str, address: str
) -> LoginAttempt:
    """Count the recent failures for this account and address and, when under the limits,
    record this attempt as a failure, atomically: concurrent attempts see each other, so
    no more than the limit ever get to check a password. The caller commits (releasing the
    locks) before the slow password check, then marks the attempt succeeded if it is.

    Throttled attempts (429) are not recorded, so the window ends on time."""
    # The keys the attempt is counted under: no NUL (PostgreSQL cannot store one; such a
    # login is refused as 401 after being counted) and no more than the columns hold.
    email = email.replace("\x00", "")[:EMAIL_MAX_LENGTH]
    address = address.replace("\x00", "")[:ADDRESS_MAX_LENGTH]
    await _lock_login_keys(session, email, address)
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
    attempt = LoginAttempt(email=email, address=address, succeeded=False)
    session.add(attempt)
    await session.flush()
    return attempt


def login_input_problem(email: str, password: str, address: str) -> RuleViolation | None:
    """Refusals decided before any password work: too long to be an account or an address."""
    if len(email) > EMAIL_MAX_LENGTH:
        return RuleViolation("username", f"must have at most {EMAIL_MAX_LENGTH} characters")
    if len(address) > ADDRESS_MAX_LENGTH:
        return RuleViolation(
            "X-Forwarded-For",
            f"the client address must have at most {ADDRESS_MAX_LENGTH} characters",
        )
    if len(password) > 1024:
        return RuleViolation("password", "must have at most 1024 characters")
    return None


def normalise_login(email: str) -> str:
    return email.strip().lower()


async def check_credentials(
    session: AsyncSession, attempt: LoginAttempt, email: str, password: str
) -> User | None:
    """The active user with these credentials, or None; marks `attempt` succeeded."""
    if "\x00" in email + password:
        return None
    user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
    valid = await verify_password(password, user.password_hash if user else _DUMMY_HASH)
    if user is None or not valid or not user.is_active:
        return None
    attempt.succeeded = True
    await session.flush()
    return user


def check_password_policy(password: str, *, email: str, full_name: str, field: str) -> None:
    problem = password_problem(password, email=email, full_name=full_name)
    if problem is not None:
        raise RuleViolation(field, problem)


async def change_own_password(
    session: AsyncSession, attempt: LoginAttempt, actor: Actor, current: str, new: str
) -> User:
    """The caller changes their password: the current one must be right (the attempt feeds
    the login throttle), the new one must meet the policy; every token issued before ends."""
    user = await check_credentials(session, attempt, actor.email, current)
    if user is None or user.id != actor.id:
        raise RuleViolation("current_password", "is not the account's password")
    check_password_policy(new, email=user.email, full_name=user.full_name, field="new_password")
    if await verify_password(new, user.password_hash):
        raise RuleViolation("new_password", "must differ from the current password")
    user.password_hash = await hash_password(new)
    user.password_generation += 1
    await audit.record_update(
        session,
        actor_id=actor.id,
        entity="user",
        entity_id=user.id,
        centre_id=user.centre_id,
        changes={"password_changed": True},
    )
    return user


async def authenticate(
    session: AsyncSession, settings: Settings, email: str, password: str, address: str
) -> User | None:
    """Record the attempt and check the credentials in one transaction (the managers' login
    page): the active user, or None; 429 when throttled. The API's login commits between
    the two steps instead, so that the throttle's lock is not held during the password
    check."""
    email = normalise_login(email)
    attempt = await reserve_login_attempt(session, settings, email, address)
    if login_input_problem(email, password, address) is not None:
        return None
    return await check_credentials(session, attempt, email, password)


async def active_user(session: AsyncSession, user_id: int) -> User | None:
    user = await session.get(User, user_id)
    return user if user is not None and user.is_active else None


ACTOR_OF_TOKEN = select(User.id, User.email, User.full_name, User.role, User.centre_id).where(
    User.id == bindparam("user_id"),
    User.is_active.is_(True),
    User.password_generation == bindparam("generation"),
)
"""Built once: the statement runs on every authenticated request, and reading these
columns instead of the whole `User` object halves its cost (docs/SCALING.md)."""


async def load_actor(session: AsyncSession, claims: TokenClaims) -> Actor | None:
    """The caller a valid token names: its active user, as an `Actor`, while the token's
    password generation is the user's (see `app.core.deps.current_user`)."""
    row = (
        await session.execute(
            ACTOR_OF_TOKEN, {"user_id": claims.user_id, "generation": claims.generation}
        )
    ).one_or_none()
    return None if row is None else actor_of(row)


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
    check_password_policy(password, email=email, full_name=full_name, field="password")
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
        check_password_policy(
            password, email=user.email, full_name=user.full_name, field="password"
        )
        user.password_hash = await hash_password(password)
        changes["password_changed"] = True
    if password is not None or "is_active" in changes:
        # A reset password or a deactivation ends the tokens already issued.
        user.password_generation += 1
    await audit.record_update(
        session,
        actor_id=actor.id,
        entity="user",
        entity_id=user.id,
        centre_id=user.centre_id,
        changes=changes,
    )
    return user
