"""Impact as of a date (docs/ARITHMETIC.md, "Coaching and impact"):
holders enrolled and coached, loan uptake after coaching, enterprises created, active,
closed, surviving, and their jobs, by centre, sector, gender or area.

Two statements: one over holders (grouped by the holder's attributes), one over
enterprises (grouped by the enterprise's: its centre, sector, area, or its owners'
gender — `mixed` when they differ). Each computes one row of 0/1 flags per holder or
enterprise in an inner query and sums them by group outside. Every figure is a count or
a numerator/denominator pair, so the total is the sum of the groups.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, and_, case, exists, func, literal_column, null, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.centres.models import Centre
from app.coaching.models import CoachingSession, SessionParticipant
from app.coaching.schemas import Attendance
from app.core.sql import AddMonths, AnySelect
from app.enterprises.models import Enterprise, EnterpriseOwner
from app.followups.models import FollowUp
from app.holders.models import Holder
from app.loans.models import Loan
from app.reports.common import GroupKey, id_key, share, sorted_rows, text_key
from app.reports.labels import MIXED, TOTAL_LABEL, UNSPECIFIED, humanise
from app.reports.schemas import ImpactGroup, ImpactReport, ImpactRow

HOLDER_FIGURES = ("holders", "coached_holders", "uptake_base", "uptake")
ENTERPRISE_FIGURES = (
    "enterprises_created",
    "closed_enterprises",
    "active_enterprises",
    "jobs",
    "survival_base_12",
    "survived_12",
    "survival_base_24",
    "survived_24",
)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, literal_column("1")), else_=literal_column("0"))


def holders_statement(as_of: date, group_by: ImpactGroup, centre_id: int | None) -> AnySelect:
    """Per holder group: holders enrolled by `as_of`, holders coached by then, and for
    loan uptake those whose first session (date s) lies at least 6 months before `as_of`
    and, among them, those with a loan disbursed in [s, s + 6 months]. Only sessions the
    holder attended count (a holder marked `absent` was not coached by that session).

    Reads `holders` (`enrolled_on`, `centre_id` and the grouping attribute),
    `session_participants` + `coaching_sessions` (each holder's first `held_on` present, through
    `ix_session_participants_holder_id`) and `loans` (`holder_id`, `disbursed_on`, through
    `ix_loans_holder_id`).
    """
    first_session = (
        select(
            SessionParticipant.holder_id.label("holder_id"),
            func.min(CoachingSession.held_on).label("first_on"),
        )
        .join(CoachingSession, CoachingSession.id == SessionParticipant.session_id)
        .where(SessionParticipant.attendance == Attendance.present)
        .group_by(SessionParticipant.holder_id)
        .subquery("first_session")
    )
    window_end = AddMonths(first_session.c.first_on, 6)
    eligible = and_(first_session.c.first_on.is_not(None), window_end <= as_of)
    took_loan = exists().where(
        Loan.holder_id == Holder.id,
        Loan.disbursed_on >= first_session.c.first_on,
        Loan.disbursed_on <= window_end,
    )
    enrolled = Holder.enrolled_on <= as_of
    coached = first_session.c.first_on <= as_of
    key: Any = Holder.centre_id if group_by is ImpactGroup.centre else getattr(Holder, group_by)
    per_holder = (
        select(
            key.label("key"),
            _flag(enrolled).label("holders"),
            _flag(coached).label("coached_holders"),
            _flag(eligible).label("uptake_base"),
            _flag(and_(eligible, took_loan)).label("uptake"),
        )
        .select_from(Holder)
        .outerjoin(first_session, first_session.c.holder_id == Holder.id)
        .where(or_(enrolled, coached))
    )
    if centre_id is not None:
        per_holder = per_holder.where(Holder.centre_id == centre_id)
    return _sum_by_key(per_holder.subquery("per_holder"), HOLDER_FIGURES, group_by)


def enterprises_statement(as_of: date, group_by: ImpactGroup, centre_id: int | None) -> AnySelect:
    """Per enterprise group: enterprises created by `as_of` (`created_on` <= as_of), closed
    by then, active (not closed), their jobs, and the 12- and 24-month survival counts
    (created at least N months before `as_of`; surviving = no `closed_on` before
    `created_on` + N months).

    Jobs of an active enterprise are the `employees_count` of its latest follow-up on or
    before `as_of` that reports one (latest by `visited_on`, then id), else its
    `jobs_at_creation`. Reads `enterprises`, `follow_ups` (through
    `ix_follow_ups_enterprise_visited`) and, by gender, `enterprise_owners` + `holders`.
    """
    ranked = (
        select(
            FollowUp.enterprise_id.label("enterprise_id"),
            FollowUp.employees_count.label("employees_count"),
            func.row_number()
            .over(
                partition_by=FollowUp.enterprise_id,
                order_by=(FollowUp.visited_on.desc(), FollowUp.id.desc()),
            )
            .label("recency"),
        )
        .where(FollowUp.visited_on <= as_of, FollowUp.employees_count.is_not(None))
        .subquery("ranked")
    )
    latest = (
        select(ranked.c.enterprise_id, ranked.c.employees_count)
        .where(ranked.c.recency == 1)
        .subquery("latest")
    )
    closed = and_(Enterprise.closed_on.is_not(None), Enterprise.closed_on <= as_of)
    columns: list[ColumnElement[Any]] = [
        _flag(closed).label("closed_enterprises"),
        _flag(~closed).label("active_enterprises"),
        case(
            (closed, literal_column("0")),
            else_=func.coalesce(latest.c.employees_count, Enterprise.jobs_at_creation),
        ).label("jobs"),
    ]
    for months in (12, 24):
        horizon = AddMonths(Enterprise.created_on, months)
        old_enough = horizon <= as_of
        survived = or_(Enterprise.closed_on.is_(None), Enterprise.closed_on >= horizon)
        columns.append(_flag(old_enough).label(f"survival_base_{months}"))
        columns.append(_flag(and_(old_enough, survived)).label(f"survived_{months}"))

    source: Any = Enterprise.__table__.outerjoin(latest, latest.c.enterprise_id == Enterprise.id)
    if group_by is ImpactGroup.gender:
        owners = (
            select(
                EnterpriseOwner.enterprise_id.label("enterprise_id"),
                func.min(Holder.gender).label("lowest"),
                func.max(Holder.gender).label("highest"),
            )
            .join(Holder, Holder.id == EnterpriseOwner.holder_id)
            .group_by(EnterpriseOwner.enterprise_id)
            .subquery("owners")
        )
        source = source.outerjoin(owners, owners.c.enterprise_id == Enterprise.id)
        key: Any = case(
            (owners.c.lowest.is_(None), UNSPECIFIED),
            (owners.c.lowest == owners.c.highest, owners.c.lowest),
            else_=MIXED,
        )
    else:
        key = getattr(Enterprise, "centre_id" if group_by is ImpactGroup.centre else group_by)
    per_enterprise = (
        select(key.label("key"), literal_column("1").label("enterprises_created"), *columns)
        .select_from(source)
        .where(Enterprise.created_on.is_not(None), Enterprise.created_on <= as_of)
    )
    if centre_id is not None:
        per_enterprise = per_enterprise.where(Enterprise.centre_id == centre_id)
    return _sum_by_key(per_enterprise.subquery("per_enterprise"), ENTERPRISE_FIGURES, group_by)


def _sum_by_key(per_item: Any, figures: Sequence[str], group_by: ImpactGroup) -> AnySelect:
    """Sums of the flags by the inner query's `key` (grouped by name, so a key built from
    parameters is one expression to PostgreSQL), with the centre's name by centre."""
    sums = [func.sum(per_item.c[name]).label(name) for name in figures]
    if group_by is ImpactGroup.centre:
        return (
            select(per_item.c.key, Centre.name.label("label"), *sums)
            .join(Centre, Centre.id == per_item.c.key)
            .group_by(per_item.c.key, Centre.name)
        )
    return select(per_item.c.key, null().label("label"), *sums).group_by(per_item.c.key)


def _row(key: GroupKey | None, label: str, counts: dict[str, int]) -> ImpactRow:
    return ImpactRow(
        key=key,
        label=label,
        holders=counts["holders"],
        enterprises_created=counts["enterprises_created"],
        active_enterprises=counts["active_enterprises"],
        closed_enterprises=counts["closed_enterprises"],
        survival_rate_12m=share(counts["survived_12"], counts["survival_base_12"]),
        survival_rate_24m=share(counts["survived_24"], counts["survival_base_24"]),
        jobs=counts["jobs"],
        coached_holders=counts["coached_holders"],
        loan_uptake_6m=share(counts["uptake"], counts["uptake_base"]),
    )


def shape(
    group_by: ImpactGroup, holders: Sequence[Row[Any]], enterprises: Sequence[Row[Any]]
) -> tuple[list[ImpactRow], ImpactRow]:
    counts: dict[GroupKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    labels: dict[GroupKey, str] = {}
    for rows, figures in ((holders, HOLDER_FIGURES), (enterprises, ENTERPRISE_FIGURES)):
        for row in rows:
            if group_by is ImpactGroup.centre:
                key = id_key(row.key)
                labels[key] = str(row.label)
            else:
                key = text_key(row.key)
                labels[key] = humanise(str(key))
            for name in figures:
                counts[key][name] += int(getattr(row, name) or 0)
    total: dict[str, int] = defaultdict(int)
    for group in counts.values():
        for name, value in group.items():
            total[name] += value
    keyed = [(key, _row(key, labels[key], group)) for key, group in counts.items()]
    return sorted_rows(keyed), _row(None, TOTAL_LABEL, total)


async def impact_report(
    session: AsyncSession, *, as_of: date, group_by: ImpactGroup, centre_id: int | None
) -> ImpactReport:
    holders = (await session.execute(holders_statement(as_of, group_by, centre_id))).all()
    enterprises = (await session.execute(enterprises_statement(as_of, group_by, centre_id))).all()
    rows, total = shape(group_by, holders, enterprises)
    return ImpactReport(as_of=as_of, group_by=group_by, centre_id=centre_id, rows=rows, total=total)
