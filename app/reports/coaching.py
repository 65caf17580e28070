"""Coaching activity over [from, to] (docs/ARITHMETIC.md, "Coaching
and impact"): sessions, hours, holders reached and the female share, by adviser, kind,
centre or month.

Two statements, each giving the grouped rows and the total (`is_total` = 1) through a
UNION ALL: one over sessions (count, minutes), one over their participants (distinct
holders reached, distinct women reached; a holder marked `absent` is not reached) — kept apart so that a group session's minutes
are not counted once per participant. Distinct counts are not additive, so the total is
aggregated in SQL, never summed from the groups.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Row,
    and_,
    case,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import ColumnElement

from app.centres.models import Centre
from app.coaching.models import CoachingSession, SessionParticipant
from app.coaching.schemas import Attendance
from app.core.money import round_money
from app.core.sql import month_of, year_of
from app.holders.models import Holder
from app.reports.common import GroupKey, ensure_order, share, sorted_rows
from app.reports.labels import TOTAL_LABEL, humanise
from app.reports.schemas import CoachingGroup, CoachingReport, CoachingRow
from app.users.models import User


@dataclass(frozen=True)
class _Grouping:
    keys: list[ColumnElement[Any]]  # one column, or (year, month)
    label: ColumnElement[Any] | None
    join: Any  # adds the label's table to a FROM clause


def _grouping(group_by: CoachingGroup) -> _Grouping:
    held_on = CoachingSession.held_on
    match group_by:
        case CoachingGroup.adviser:
            return _Grouping(
                [CoachingSession.adviser_id.expression],
                User.full_name.expression,
                lambda source: source.join(User, User.id == CoachingSession.adviser_id),
            )
        case CoachingGroup.centre:
            return _Grouping(
                [CoachingSession.centre_id.expression],
                Centre.name.expression,
                lambda source: source.join(Centre, Centre.id == CoachingSession.centre_id),
            )
        case CoachingGroup.kind:
            return _Grouping([CoachingSession.kind.expression], None, lambda source: source)
        case CoachingGroup.month:
            return _Grouping([year_of(held_on), month_of(held_on)], None, lambda source: source)


def _grouped_and_total(
    grouping: _Grouping,
    source: FromClause,
    figures: list[ColumnElement[Any]],
    conditions: list[ColumnElement[bool]],
) -> CompoundSelect[Any]:
    keys = [*grouping.keys, *([null()] * (2 - len(grouping.keys)))]
    label = grouping.label if grouping.label is not None else null()
    group_columns = [*grouping.keys, *([grouping.label] if grouping.label is not None else [])]
    grouped = (
        select(
            literal_column("0").label("is_total"),
            keys[0].label("key1"),
            keys[1].label("key2"),
            label.label("label"),
            *figures,
        )
        .select_from(grouping.join(source))
        .where(*conditions)
        .group_by(*group_columns)
    )
    total = (
        select(
            literal_column("1").label("is_total"),
            null().label("key1"),
            null().label("key2"),
            null().label("label"),
            *figures,
        )
        .select_from(source)
        .where(*conditions)
    )
    return union_all(grouped, total)


def coaching_statements(
    start: date, end: date, group_by: CoachingGroup, centre_id: int | None
) -> tuple[CompoundSelect[Any], CompoundSelect[Any]]:
    """(sessions statement, reach statement).

    Reads `coaching_sessions` (`held_on` in [start, end], `centre_id`, `adviser_id`,
    `kind`, `duration_minutes`; index `ix_coaching_sessions_centre_held_on`),
    `session_participants` (`holder_id` of those marked `present`) and `holders` (`gender`); labels from `users`
    (adviser's full name) or `centres` (name).
    """
    grouping = _grouping(group_by)
    conditions: list[ColumnElement[bool]] = [CoachingSession.held_on.between(start, end)]
    if centre_id is not None:
        conditions.append(CoachingSession.centre_id == centre_id)
    sessions = _grouped_and_total(
        grouping,
        CoachingSession.__table__,
        [
            func.count().label("sessions"),
            func.coalesce(func.sum(CoachingSession.duration_minutes), 0).label("minutes"),
        ],
        conditions,
    )
    # A holder marked absent took no part in the session: not reached by it.
    participants = CoachingSession.__table__.join(
        SessionParticipant,
        and_(
            SessionParticipant.session_id == CoachingSession.id,
            SessionParticipant.attendance == Attendance.present,
        ),
    ).join(Holder, Holder.id == SessionParticipant.holder_id)
    women = case((Holder.gender == "female", SessionParticipant.holder_id), else_=None)
    reach = _grouped_and_total(
        grouping,
        participants,
        [
            func.count(SessionParticipant.holder_id.distinct()).label("reached"),
            func.count(women.distinct()).label("women"),
        ],
        conditions,
    )
    return sessions, reach


def _key(group_by: CoachingGroup, row: Row[Any]) -> tuple[GroupKey, str]:
    if group_by is CoachingGroup.month:
        first_day = date(row.key1, row.key2, 1).isoformat()
        return first_day, first_day
    if group_by is CoachingGroup.kind:
        return str(row.key1), humanise(str(row.key1))
    return int(row.key1), str(row.label)


def _row(
    key: GroupKey | None, label: str, sessions: Row[Any], reach: Row[Any] | None
) -> CoachingRow:
    reached = reach.reached if reach is not None else 0
    women = reach.women if reach is not None else 0
    return CoachingRow(
        key=key,
        label=label,
        sessions=sessions.sessions,
        hours=round_money(Decimal(sessions.minutes) / 60),
        holders_reached=reached,
        female_share=share(women, reached),
    )


def shape(
    group_by: CoachingGroup, sessions: Sequence[Row[Any]], reach: Sequence[Row[Any]]
) -> tuple[list[CoachingRow], CoachingRow]:
    reach_by_key = {_key(group_by, row)[0]: row for row in reach if not row.is_total}
    (reach_total,) = [row for row in reach if row.is_total]
    (sessions_total,) = [row for row in sessions if row.is_total]
    keyed = []
    for row in sessions:
        if row.is_total:
            continue
        key, label = _key(group_by, row)
        keyed.append((key, _row(key, label, row, reach_by_key.get(key))))
    return sorted_rows(keyed), _row(None, TOTAL_LABEL, sessions_total, reach_total)


async def coaching_report(
    session: AsyncSession,
    *,
    start: date,
    end: date,
    group_by: CoachingGroup,
    centre_id: int | None,
) -> CoachingReport:
    ensure_order(start, end)
    sessions_statement, reach_statement = coaching_statements(start, end, group_by, centre_id)
    sessions = (await session.execute(sessions_statement)).all()
    reach = (await session.execute(reach_statement)).all()
    rows, total = shape(group_by, sessions, reach)
    return CoachingReport(
        from_=start, to=end, group_by=group_by, centre_id=centre_id, rows=rows, total=total
    )
