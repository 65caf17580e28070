"""The adviser's day in one call: loans in arrears, follow-ups due, holders to coach.

Whose holders: an adviser's own (`holders.adviser_id` = the caller, within its centre);
for a manager or viewer of a centre, every holder of that centre; for an admin, or a
manager or viewer with no centre (national staff), every holder.

Three statements whatever the number of holders, each set-based in SQL:
- loans in arrears: loans of those holders outstanding at `as_of` with an overdue
  installment (from `app.loans.positions.loan_positions_as_of`), most days past due first,
  then loan id; `days_past_due` = `as_of` - the oldest overdue due date;
- follow-ups due: as `GET /follow-ups/due` (an adviser's: enterprises one of its holders
  owns), most overdue first, then enterprise id;
- holders without session: those holders in `applicant`, `eligible`, `in_support` or
  `enterprise_created` status, enrolled on or before `as_of`, with no coaching session
  attended (`present`) in the `session_gap_days` days up to and including `as_of`
  (`as_of - gap + 1` .. `as_of`); never-coached first, then the oldest last session, then id.
  `last_session_on` is the latest attended session on or before `as_of`.
"""

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.coaching.models import CoachingSession, SessionParticipant
from app.core.scope import Actor, Role, visible_to
from app.followups.schemas import ArrearsItem, DueItem, UncoachedHolder, Worklist
from app.followups.service import due_order, due_rows, due_statement
from app.holders.models import Holder
from app.loans.positions import loan_positions_as_of

COACHED_STATUSES = ("applicant", "eligible", "in_support", "enterprise_created")


def scoped_to_caller(stmt: Select[Any], actor: Actor) -> Select[Any]:
    """Keep the rows of the caller's holders (`stmt` must involve `Holder`)."""
    stmt = visible_to(stmt, Holder.centre_id, actor)
    if actor.role == Role.adviser:
        stmt = stmt.where(Holder.adviser_id == actor.id)
    return stmt


def holder_name(first_name: str, last_name: str) -> str:
    return f"{first_name} {last_name}"


def arrears_statement(actor: Actor, as_of: date) -> Select[Any]:
    positions = loan_positions_as_of(as_of).subquery("positions")
    stmt = (
        select(
            positions.c.loan_id,
            positions.c.holder_id,
            Holder.first_name,
            Holder.last_name,
            positions.c.arrears_amount,
            positions.c.oldest_overdue_due_on,
        )
        .join(Holder, Holder.id == positions.c.holder_id)
        .where(positions.c.oldest_overdue_due_on.is_not(None))
        .order_by(positions.c.oldest_overdue_due_on.asc(), positions.c.loan_id.asc())
    )
    return scoped_to_caller(stmt, actor)


def window_start(as_of: date, gap_days: int) -> date:
    """The first day of the `gap_days` days up to and including `as_of`; the calendar's
    first day when the window would reach before it (as of 0001-01-20, say)."""
    days_back = gap_days - 1
    if (as_of - date.min).days < days_back:
        return date.min
    return as_of - timedelta(days=days_back)


def uncoached_statement(actor: Actor, as_of: date, gap_days: int) -> Select[Any]:
    window_first_day = window_start(as_of, gap_days)
    own_holders = scoped_to_caller(select(Holder.id), actor)
    last_sessions = (
        select(
            SessionParticipant.holder_id,
            func.max(CoachingSession.held_on).label("last_session_on"),
        )
        .join(CoachingSession, CoachingSession.id == SessionParticipant.session_id)
        .where(
            CoachingSession.held_on <= as_of,
            SessionParticipant.attendance == "present",
            SessionParticipant.holder_id.in_(own_holders.scalar_subquery()),
        )
        .group_by(SessionParticipant.holder_id)
        .subquery("last_sessions")
    )
    last_on = last_sessions.c.last_session_on
    stmt = (
        select(Holder.id, Holder.first_name, Holder.last_name, last_on)
        .outerjoin(last_sessions, last_sessions.c.holder_id == Holder.id)
        .where(
            Holder.status.in_(COACHED_STATUSES),
            Holder.enrolled_on <= as_of,
            or_(last_on.is_(None), last_on < window_first_day),
        )
        .order_by(case((last_on.is_(None), 0), else_=1), last_on.asc(), Holder.id.asc())
    )
    return scoped_to_caller(stmt, actor)


async def worklist(
    session: AsyncSession, actor: Actor, as_of: date, *, cadence_days: int, gap_days: int
) -> Worklist:
    arrears = await session.execute(arrears_statement(actor, as_of))
    loans_in_arrears = [
        ArrearsItem(
            loan_id=row.loan_id,
            holder_id=row.holder_id,
            holder_name=holder_name(row.first_name, row.last_name),
            days_past_due=(as_of - row.oldest_overdue_due_on).days,
            arrears_amount=row.arrears_amount,
        )
        for row in arrears
    ]

    due = due_statement(
        actor,
        as_of,
        cadence_days,
        adviser_id=actor.id if actor.role == Role.adviser else None,
    )
    due_result = await session.execute(due.order_by(*due_order(due)))
    follow_ups = [
        DueItem.model_validate(row, from_attributes=True) for row in due_rows(due_result, as_of)
    ]

    uncoached = await session.execute(uncoached_statement(actor, as_of, gap_days))
    holders_without_session = [
        UncoachedHolder(
            holder_id=row.id,
            holder_name=holder_name(row.first_name, row.last_name),
            last_session_on=row.last_session_on,
        )
        for row in uncoached
    ]
    return Worklist(
        as_of=as_of,
        loans_in_arrears=loans_in_arrears,
        follow_ups_due=follow_ups,
        holders_without_session=holders_without_session,
    )
