"""Project holders: registration, validation, search, scope and data protection (law 09-08)."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.core import audit
from app.core.audit import AuditEvent
from app.core.concurrency import ensure_if_match
from app.core.db import utcnow
from app.core.errors import Conflict, DomainError, RuleViolation
from app.core.pagination import PageParams, paginate
from app.core.params import fits_id_column
from app.core.patching import apply_changes, patch_values
from app.core.records import get_in_scope, listed_in_scope, where_equal, where_words
from app.core.roles import ADMINS, WRITERS
from app.core.scope import Actor, Role, visible_to
from app.core.text import fold
from app.holders.models import Holder
from app.holders.schemas import NULLABLE_ON_PATCH, PERSONAL_FIELDS, HolderCreate, HolderUpdate
from app.users.models import User

ADVISER_ROLES = (Role.adviser.value, Role.manager.value)
ERASED = "[erased]"
ANONYMISED_FIRST_NAME = "Anonymised"
SEARCH_TEXT_LENGTH = 250


@dataclass(frozen=True)
class YouthRange:
    """Ages (in whole years at enrolment) a holder may have, both bounds included."""

    min_age: int
    max_age: int


@dataclass(frozen=True)
class HolderFilters:
    centre_id: int | None = None
    adviser_id: int | None = None
    status: str | None = None
    gender: str | None = None
    area: str | None = None
    region: str | None = None
    sector: str | None = None
    q: str | None = None


def age_on(birth_date: date, on: date) -> int:
    """Whole years completed on `on` (someone born on 29 February turns a year older on
    1 March in common years)."""
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - int(before_birthday)


def holder_search_text(first_name: str, last_name: str, national_id: str | None) -> str:
    """The folded "first last CIN" that `q` is matched against."""
    return fold(f"{first_name} {last_name} {national_id or ''}".strip())[:SEARCH_TEXT_LENGTH]


def ensure_youth_age(birth_date: date, enrolled_on: date, today: date, youth: YouthRange) -> None:
    """Birth dates in the future are refused; the age at `enrolled_on` must lie within the
    youth range, bounds included."""
    if birth_date > today:
        raise RuleViolation("birth_date", "must not be in the future")
    age = age_on(birth_date, enrolled_on)
    if not youth.min_age <= age <= youth.max_age:
        raise RuleViolation(
            "birth_date",
            f"age at enrolment is {age}; it must be within the youth range "
            f"{youth.min_age} to {youth.max_age} years, bounds included",
        )


async def resolve_centre(session: AsyncSession, actor: Actor, requested: int | None) -> int:
    """The centre a new record belongs to: the one asked for, else the caller's own.

    A centre that does not exist or lies outside the caller's scope is a 422 naming
    `centre_id`, and so is a caller with no centre who names none.
    """
    if requested is None:
        if actor.centre_id is None:
            raise RuleViolation("centre_id", "required for callers who belong to no centre")
        return actor.centre_id
    if (
        not fits_id_column(requested)
        or not actor.sees_centre(requested)
        or await session.get(Centre, requested) is None
    ):
        raise RuleViolation("centre_id", "no such centre in your scope")
    return requested


async def ensure_adviser_of_centre(session: AsyncSession, adviser_id: int, centre_id: int) -> None:
    """`adviser_id` must name an active adviser or manager of the holder's centre."""
    stmt = select(User.id).where(
        User.id == adviser_id,
        User.is_active.is_(True),
        User.role.in_(ADVISER_ROLES),
        User.centre_id == centre_id,
    )
    if not fits_id_column(adviser_id) or (await session.execute(stmt)).first() is None:
        raise RuleViolation(
            "adviser_id", "must be an active adviser or manager of the holder's centre"
        )


async def ensure_holders_of_centre(
    session: AsyncSession, field: str, holder_ids: Collection[int], centre_id: int
) -> None:
    """Every id must name a holder of the centre (one statement); otherwise a 422 naming
    `field` lists the others, whether they are missing or another centre's."""
    if not holder_ids:
        return
    candidates = [h for h in holder_ids if fits_id_column(h)]
    stmt = select(Holder.id).where(Holder.id.in_(candidates), Holder.centre_id == centre_id)
    found = set((await session.execute(stmt)).scalars()) if candidates else set()
    strangers = sorted(set(holder_ids) - found)
    if strangers:
        listed = ", ".join(str(h) for h in strangers)
        raise RuleViolation(field, f"unknown holders or holders of another centre: {listed}")


async def ensure_national_id_free(
    session: AsyncSession, national_id: str, exclude_id: int | None = None
) -> None:
    """CINs are stored upper-case, so equality catches a duplicate typed in any case (new
    holders: `check_new_holders`)."""
    stmt = select(Holder.id).where(Holder.national_id == national_id)
    if exclude_id is not None:
        stmt = stmt.where(Holder.id != exclude_id)
    if (await session.execute(stmt)).first() is not None:
        raise duplicate_national_id()


def duplicate_national_id() -> Conflict:
    return Conflict(
        "A holder with this national id is already registered.",
        errors=[("national_id", "already registered")],
    )


async def flush_holder(session: AsyncSession) -> None:
    """Flush, turning a CIN uniqueness race (two registrations at once) into the same 409."""
    try:
        await session.flush()
    except IntegrityError as exc:
        if "national_id" in str(exc.orig):
            raise duplicate_national_id() from None
        raise


def filtered_holders(actor: Actor, filters: HolderFilters) -> Select[Holder]:
    """Holders in the caller's scope matching every given filter, in one statement.

    `q` is split into words; each must appear in the folded "first last CIN", so the
    match ignores case and, for Latin names, accents (`hajar` finds `Hâjar`).
    """
    stmt = listed_in_scope(select(Holder), Holder.centre_id, actor, filters.centre_id)
    stmt = where_equal(
        stmt,
        {
            Holder.adviser_id: filters.adviser_id,
            Holder.status: filters.status,
            Holder.gender: filters.gender,
            Holder.area: filters.area,
            Holder.region: filters.region,
            Holder.sector: filters.sector,
        },
    )
    return where_words(stmt, Holder.search_text, filters.q)


async def list_holders(
    session: AsyncSession,
    actor: Actor,
    page: PageParams,
    order_by: list[Any],
    filters: HolderFilters,
) -> tuple[list[Holder], int]:
    return await paginate(session, filtered_holders(actor, filters), page, order_by)


async def get_holder(session: AsyncSession, actor: Actor, holder_id: int) -> Holder:
    return await get_in_scope(session, actor, Holder, holder_id, "Holder")


def ensure_borrower(holder: Holder | None) -> Holder:
    """A holder found in the caller's scope may borrow unless dropped out or anonymised
    (422 naming `holder_id` otherwise, also when not found)."""
    if holder is None:
        raise RuleViolation("holder_id", "no such holder in your scope")
    if holder.status == "dropped" or holder.anonymised_at is not None:
        raise RuleViolation(
            "holder_id", "the holder has left the programme (dropped or anonymised)"
        )
    return holder


async def ensure_may_borrow(session: AsyncSession, actor: Actor, holder_id: int) -> Holder:
    """The holder, who may apply for a loan: in the caller's scope, and neither dropped out
    nor anonymised (422 naming `holder_id` otherwise)."""
    stmt = visible_to(select(Holder), Holder.centre_id, actor).where(Holder.id == holder_id)
    return ensure_borrower((await session.execute(stmt)).scalar_one_or_none())


async def holders_in_scope(
    session: AsyncSession, actor: Actor, holder_ids: Collection[int]
) -> dict[int, Holder]:
    """The holders of these ids that the caller sees, one statement per thousand."""
    found: dict[int, Holder] = {}
    unique = sorted(set(holder_ids))
    for start in range(0, len(unique), 1000):
        stmt = visible_to(select(Holder), Holder.centre_id, actor).where(
            Holder.id.in_(unique[start : start + 1000])
        )
        found.update((holder.id, holder) for holder in (await session.execute(stmt)).scalars())
    return found


async def check_new_holders(
    session: AsyncSession,
    actor: Actor,
    rows: Sequence[dict[str, Any]],
    *,
    today: date,
    youth: YouthRange,
) -> list[dict[str, Any] | DomainError]:
    """The rules of a new holder, applied to each of `rows` in this order: the centre
    (`resolve_centre`), the adviser (`ensure_adviser_of_centre`), `enrolled_on` defaulting to today,
    the age at enrolment (`ensure_youth_age`) and a national id that no holder has (nor an earlier
    row). Each row gives its values ready to store, or the error it breaks. Lookups are
    shared by the rows: one per distinct centre and adviser, one for all national ids."""
    centres: dict[int | None, int | DomainError] = {}
    advisers: dict[tuple[int, int], DomainError | None] = {}
    taken = await taken_national_ids(session, [row["national_id"] for row in rows])
    outcomes: list[dict[str, Any] | DomainError] = []
    for row in rows:
        values = dict(row)
        try:
            requested = values.get("centre_id")
            if requested not in centres:
                try:
                    centres[requested] = await resolve_centre(session, actor, requested)
                except DomainError as exc:
                    centres[requested] = exc
            centre = centres[requested]
            if isinstance(centre, DomainError):
                raise centre
            values["centre_id"] = centre
            if values.get("adviser_id") is not None:
                key = (values["adviser_id"], centre)
                if key not in advisers:
                    try:
                        await ensure_adviser_of_centre(session, *key)
                        advisers[key] = None
                    except DomainError as exc:
                        advisers[key] = exc
                if (error := advisers[key]) is not None:
                    raise error
            values["enrolled_on"] = values.get("enrolled_on") or today
            ensure_youth_age(values["birth_date"], values["enrolled_on"], today, youth)
            if values["national_id"] in taken:
                raise duplicate_national_id()
            taken.add(values["national_id"])
        except DomainError as exc:
            outcomes.append(exc)
            continue
        values["search_text"] = holder_search_text(
            values["first_name"], values["last_name"], values["national_id"]
        )
        outcomes.append(values)
    return outcomes


async def create_holder(
    session: AsyncSession,
    actor: Actor,
    body: HolderCreate,
    *,
    today: date,
    youth: YouthRange,
) -> Holder:
    """Register a holder (advisers, managers and admins, in their scope)."""
    values = body.model_dump()
    actor.require(*WRITERS)
    [checked] = await check_new_holders(session, actor, [values], today=today, youth=youth)
    if isinstance(checked, DomainError):
        raise checked
    holder = Holder(**checked, version=1)
    session.add(holder)
    await flush_holder(session)
    await audit_creation(session, actor, holder.id, checked)
    return holder


async def create_holders(
    session: AsyncSession,
    actor: Actor,
    bodies: Sequence[HolderCreate],
    *,
    today: date,
    youth: YouthRange,
) -> list[int | DomainError]:
    """Register many holders at once (imports): `create_holder`'s rules for each body, then
    one multi-row INSERT of the valid ones. Each body gives its new id or its error."""
    actor.require(*WRITERS)
    rows = [body.model_dump() for body in bodies]
    outcomes = await check_new_holders(session, actor, rows, today=today, youth=youth)
    valid = [values for values in outcomes if not isinstance(values, DomainError)]
    ids: list[int] = []
    if valid:
        stamp = utcnow()
        stmt = insert(Holder).returning(Holder.id, sort_by_parameter_order=True)
        try:
            result = await session.execute(
                stmt,
                [
                    {**values, "version": 1, "created_at": stamp, "updated_at": stamp}
                    for values in valid
                ],
            )
        except IntegrityError as exc:
            if "national_id" in str(exc.orig):
                raise duplicate_national_id() from None
            raise
        ids = list(result.scalars())
    new_ids = iter(ids)
    created: list[int | DomainError] = []
    for values in outcomes:
        if isinstance(values, DomainError):
            created.append(values)
            continue
        holder_id = next(new_ids)
        await audit_creation(session, actor, holder_id, values)
        created.append(holder_id)
    return created


async def audit_creation(
    session: AsyncSession, actor: Actor, holder_id: int, values: dict[str, Any]
) -> None:
    if audit.is_summarised(session):
        return
    await audit.record(
        session,
        actor_id=actor.id,
        action="create",
        entity="holder",
        entity_id=holder_id,
        centre_id=values["centre_id"],
        changes=audit.snapshot({k: v for k, v in values.items() if k != "search_text"}),
    )


async def taken_national_ids(session: AsyncSession, national_ids: Sequence[str]) -> set[str]:
    """Which of these national ids a holder already has (one statement per thousand)."""
    taken: set[str] = set()
    unique = sorted(set(national_ids))
    for start in range(0, len(unique), 1000):
        chunk = unique[start : start + 1000]
        stmt = select(Holder.national_id).where(Holder.national_id.in_(chunk))
        taken.update(n for n in (await session.execute(stmt)).scalars() if n is not None)
    return taken


async def update_holder(
    session: AsyncSession,
    actor: Actor,
    holder_id: int,
    patch: HolderUpdate,
    if_match: str | None,
    *,
    today: date,
    youth: YouthRange,
) -> Holder:
    """Change a holder. A status change is recorded as its own `status_change` audit event
    (`{"status": {"from", "to"}}`), which the holder's timeline shows. Once a holder is
    anonymised, its personal fields can no longer be set (409)."""
    values = patch_values(patch, nullable=NULLABLE_ON_PATCH)
    holder = await get_holder(session, actor, holder_id)
    actor.require(*WRITERS)
    ensure_if_match(if_match, holder.version)
    if holder.anonymised_at is not None:
        personal = [name for name in PERSONAL_FIELDS if name in values]
        if personal:
            raise Conflict(
                "This holder's personal data was erased; it cannot be set again.",
                errors=[(name, "erased by anonymisation") for name in personal],
            )
    if values.get("adviser_id") is not None:
        await ensure_adviser_of_centre(session, values["adviser_id"], holder.centre_id)
    if "birth_date" in values or "enrolled_on" in values:
        ensure_youth_age(
            values.get("birth_date", holder.birth_date),
            values.get("enrolled_on", holder.enrolled_on),
            today,
            youth,
        )
    if "national_id" in values and values["national_id"] != holder.national_id:
        await ensure_national_id_free(session, values["national_id"], exclude_id=holder.id)
    changes = apply_changes(holder, values)
    if not changes:
        return holder
    if changes.keys() & {"first_name", "last_name", "national_id"}:
        holder.search_text = holder_search_text(
            holder.first_name, holder.last_name, holder.national_id
        )
    await flush_holder(session)
    status_change = changes.pop("status", None)
    if changes:
        await audit.record(
            session,
            actor_id=actor.id,
            action="update",
            entity="holder",
            entity_id=holder.id,
            centre_id=holder.centre_id,
            changes=changes,
        )
    if status_change is not None:
        await audit.record(
            session,
            actor_id=actor.id,
            action="status_change",
            entity="holder",
            entity_id=holder.id,
            centre_id=holder.centre_id,
            changes={"status": status_change},
        )
    return holder


def scrub(changes: dict[str, Any]) -> dict[str, Any]:
    """An audit event's changes with every personal value replaced by a marker."""
    return {name: ERASED if name in PERSONAL_FIELDS else value for name, value in changes.items()}


async def anonymise_holder(session: AsyncSession, actor: Actor, holder_id: int) -> Holder:
    """Erase a holder's personal data (law 09-08), admins only; 409 when already done.

    Names become "Anonymised" / "#<id>"; CIN, phone, email, address, project summary and
    the search text are erased. `birth_date` is a DATE column, so year-only granularity
    cannot be stored: it becomes 1 July of its year, which keeps age bands in reports
    within six months of the truth. Loans, coaching and statistics are left intact. The
    audit trail records that it happened (action "anonymise", the names of the erased
    fields, never their values), and the holder's earlier audit events lose the erased
    values too.
    """
    holder = await get_holder(session, actor, holder_id)
    actor.require(*ADMINS)
    if holder.anonymised_at is not None:
        raise Conflict("This holder is already anonymised.")
    holder.first_name = ANONYMISED_FIRST_NAME
    holder.last_name = f"#{holder.id}"
    holder.national_id = None
    holder.phone = None
    holder.email = None
    holder.address = None
    holder.project_summary = None
    holder.birth_date = date(holder.birth_date.year, 7, 1)
    holder.search_text = ""
    holder.anonymised_at = utcnow()
    await session.flush()
    earlier = await session.execute(
        select(AuditEvent).where(AuditEvent.entity == "holder", AuditEvent.entity_id == holder.id)
    )
    for event in earlier.scalars():
        if event.changes.keys() & set(PERSONAL_FIELDS):
            event.changes = scrub(event.changes)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="anonymise",
        entity="holder",
        entity_id=holder.id,
        centre_id=holder.centre_id,
        changes={"erased": list(PERSONAL_FIELDS)},
    )
    return holder
