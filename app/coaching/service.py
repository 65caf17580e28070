"""Coaching sessions: the centre's five support services given to one holder or a group.

Rules (the `coaching` operations of the OpenAPI document):
- `holder_ids`: at least one holder, every one of the session's centre (else 422 naming
  `holder_ids`); an `individual` session has exactly one (422 naming `holder_ids`).
- `participants` gives each holder's attendance (`present` / `absent`); holders it does not
  name are `present` (a holder kept by an update keeps its attendance). A holder named in
  `participants` but not among the session's holders is a 422 naming `participants`.
- `enterprise_id`, when set, is an enterprise of the session's centre (else 422).
- `held_on` is not after today; `duration_minutes` 1..600 (schema).
- Permissions as in `app.coaching.authoring`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.coaching.authoring import (
    ensure_may_edit,
    ensure_may_write,
    ensure_not_future,
    resolve_adviser,
)
from app.coaching.models import CoachingSession, SessionParticipant
from app.coaching.schemas import NULLABLE_ON_PATCH, SessionCreate, SessionUpdate
from app.core import audit
from app.core.concurrency import ensure_if_match
from app.core.db import utcnow
from app.core.errors import RuleViolation
from app.core.pagination import PageParams, paginate
from app.core.params import fits_id_column
from app.core.patching import apply_changes, patch_values
from app.core.records import get_in_scope, listed_in_scope, where_equal, within_dates
from app.core.scope import Actor
from app.enterprises.models import Enterprise
from app.holders.service import ensure_holders_of_centre, resolve_centre

PRESENT = "present"

Roster = dict[int, str]
"""holder_id -> attendance, for one session."""


@dataclass(frozen=True)
class SessionFilters:
    centre_id: int | None = None
    adviser_id: int | None = None
    holder_id: int | None = None
    enterprise_id: int | None = None
    kind: str | None = None
    held_from: date | None = None
    held_to: date | None = None


@dataclass(frozen=True)
class SessionWithRoster:
    record: CoachingSession
    roster: Roster


async def rosters_of(session: AsyncSession, session_ids: Sequence[int]) -> dict[int, Roster]:
    """The participants of many sessions in one IN query."""
    rosters: dict[int, Roster] = {sid: {} for sid in session_ids}
    if not session_ids:
        return rosters
    rows = await session.execute(
        select(
            SessionParticipant.session_id,
            SessionParticipant.holder_id,
            SessionParticipant.attendance,
        )
        .where(SessionParticipant.session_id.in_(session_ids))
        .order_by(SessionParticipant.session_id, SessionParticipant.holder_id)
    )
    for session_id, holder_id, attendance in rows:
        rosters[session_id][holder_id] = attendance
    return rosters


async def list_coaching_sessions(
    session: AsyncSession,
    actor: Actor,
    page: PageParams,
    order_by: list[Any],
    filters: SessionFilters,
) -> tuple[list[SessionWithRoster], int]:
    """One page of sessions in scope and their participants: three statements in all."""
    stmt = listed_in_scope(
        select(CoachingSession), CoachingSession.centre_id, actor, filters.centre_id
    )
    stmt = where_equal(
        stmt,
        {
            CoachingSession.adviser_id: filters.adviser_id,
            CoachingSession.enterprise_id: filters.enterprise_id,
            CoachingSession.kind: filters.kind,
        },
    )
    stmt = within_dates(stmt, CoachingSession.held_on, filters.held_from, filters.held_to)
    if filters.holder_id is not None:
        stmt = stmt.where(
            exists().where(
                SessionParticipant.session_id == CoachingSession.id,
                SessionParticipant.holder_id == filters.holder_id,
            )
        )
    records, total = await paginate(session, stmt, page, order_by)
    rosters = await rosters_of(session, [r.id for r in records])
    return [SessionWithRoster(r, rosters[r.id]) for r in records], total


async def get_coaching_session(
    session: AsyncSession, actor: Actor, session_id: int
) -> SessionWithRoster:
    record = await get_in_scope(session, actor, CoachingSession, session_id, "Coaching session")
    rosters = await rosters_of(session, [record.id])
    return SessionWithRoster(record, rosters[record.id])


def build_roster(
    holder_ids: list[int] | None,
    participants: list[dict[str, Any]] | None,
    current: Roster | None,
) -> Roster:
    """The session's holders and attendance after a create (`current` None) or an update."""
    marks: Roster = {p["holder_id"]: p["attendance"] for p in participants or []}
    if holder_ids is None:
        if current is None:
            if not marks:
                raise RuleViolation("holder_ids", "at least one holder is required")
            holder_ids = list(marks)
        else:
            holder_ids = list(current)
    strangers = sorted(set(marks) - set(holder_ids))
    if strangers:
        listed = ", ".join(str(h) for h in strangers)
        raise RuleViolation("participants", f"holders not among the session's holders: {listed}")
    kept = current or {}
    return {h: marks.get(h, kept.get(h, PRESENT)) for h in holder_ids}


async def ensure_enterprise_of_centre(
    session: AsyncSession, enterprise_id: int, centre_id: int
) -> None:
    of_centre = select(Enterprise.id).where(
        Enterprise.id == enterprise_id, Enterprise.centre_id == centre_id
    )
    if not fits_id_column(enterprise_id) or (await session.execute(of_centre)).first() is None:
        raise RuleViolation("enterprise_id", "no such enterprise in the session's centre")


def ensure_format_fits(session_format: str, roster: Roster) -> None:
    if session_format == "individual" and len(roster) != 1:
        raise RuleViolation("holder_ids", "an individual session has exactly one holder")


def roster_for_audit(roster: Roster) -> list[dict[str, Any]]:
    return [{"holder_id": h, "attendance": a} for h, a in sorted(roster.items())]


async def create_coaching_session(
    session: AsyncSession, actor: Actor, body: SessionCreate, today: date
) -> SessionWithRoster:
    values = body.model_dump()
    ensure_may_write(actor)
    centre_id = await resolve_centre(session, actor, values.pop("centre_id", None))
    adviser_id = await resolve_adviser(session, actor, values.pop("adviser_id", None), centre_id)
    roster = build_roster(values.pop("holder_ids", None), values.pop("participants", None), None)
    ensure_not_future("held_on", values["held_on"], today)
    ensure_format_fits(values["format"], roster)
    await ensure_holders_of_centre(session, "holder_ids", list(roster), centre_id)
    if values.get("enterprise_id") is not None:
        await ensure_enterprise_of_centre(session, values["enterprise_id"], centre_id)

    record = CoachingSession(centre_id=centre_id, adviser_id=adviser_id, version=1, **values)
    session.add(record)
    await session.flush()
    session.add_all(
        SessionParticipant(session_id=record.id, holder_id=h, attendance=a)
        for h, a in roster.items()
    )
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="create",
        entity="coaching_session",
        entity_id=record.id,
        centre_id=centre_id,
        changes=audit.snapshot(
            {
                "centre_id": centre_id,
                "adviser_id": adviser_id,
                **values,
                "participants": roster_for_audit(roster),
            }
        ),
    )
    return SessionWithRoster(record, roster)


async def replace_roster(
    session: AsyncSession, session_id: int, before: Roster, after: Roster
) -> None:
    removed = [h for h in before if h not in after]
    if removed:
        await session.execute(
            delete(SessionParticipant).where(
                SessionParticipant.session_id == session_id,
                SessionParticipant.holder_id.in_(removed),
            )
        )
    changed = {h: a for h, a in after.items() if h in before and before[h] != a}
    if changed:
        rows = (
            await session.execute(
                select(SessionParticipant).where(
                    SessionParticipant.session_id == session_id,
                    SessionParticipant.holder_id.in_(list(changed)),
                )
            )
        ).scalars()
        for row in rows:
            row.attendance = changed[row.holder_id]
    session.add_all(
        SessionParticipant(session_id=session_id, holder_id=h, attendance=a)
        for h, a in after.items()
        if h not in before
    )


async def update_coaching_session(
    session: AsyncSession,
    actor: Actor,
    session_id: int,
    patch: SessionUpdate,
    if_match: str | None,
    today: date,
) -> SessionWithRoster:
    values = patch_values(patch, nullable=NULLABLE_ON_PATCH)
    current = await get_coaching_session(session, actor, session_id)
    record = current.record
    ensure_may_edit(actor, record.adviser_id)
    ensure_if_match(if_match, record.version)
    if "adviser_id" in values:
        values["adviser_id"] = await resolve_adviser(
            session, actor, values["adviser_id"], record.centre_id
        )
    roster = build_roster(
        values.pop("holder_ids", None), values.pop("participants", None), current.roster
    )
    if "held_on" in values:
        ensure_not_future("held_on", values["held_on"], today)
    ensure_format_fits(values.get("format", record.format), roster)
    await ensure_holders_of_centre(
        session, "holder_ids", [h for h in roster if h not in current.roster], record.centre_id
    )
    if values.get("enterprise_id") is not None:
        await ensure_enterprise_of_centre(session, values["enterprise_id"], record.centre_id)

    changes = apply_changes(record, values)
    if roster != current.roster:
        changes["participants"] = {
            "from": roster_for_audit(current.roster),
            "to": roster_for_audit(roster),
        }
        await replace_roster(session, record.id, current.roster, roster)
        # The session row itself must change too, so that its version moves on.
        record.updated_at = utcnow()
    await audit.record_update(
        session,
        actor_id=actor.id,
        entity="coaching_session",
        entity_id=record.id,
        centre_id=record.centre_id,
        changes=changes,
    )
    return SessionWithRoster(record, roster)
