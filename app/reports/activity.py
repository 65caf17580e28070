"""The yearly activity report (`GET /api/v1/reports/activity`): a
year's beneficiaries by category and its amounts, the way the foundation reports them.

The year runs from 1 January (`first`) to 31 December, or to today for the year in
progress (`last`). Every figure covers the centre asked for (all centres in scope when
None): holders and enterprises by their own `centre_id`, loans and coaching sessions by
theirs.

- `holders.enrolled`: holders with `enrolled_on` in [first, last].
- `holders.supported`: holders with a coaching session held in [first, last] that they
  attended (marked `present`), or a loan outstanding on at least one day of [first, last]
  (docs/ARITHMETIC.md: disbursed on or before that day, neither repaid nor written off on or
  before it). Split by gender, area and age band at `last` (`unspecified` under 18).
- `enterprises.created`: enterprises with `created_on` in [first, last], split by their
  own sector and area. `enterprises.jobs`: the impact report's jobs as of `last` (jobs of
  the enterprises created and not closed at `last`, from their latest follow-up on or
  before it, else their jobs at creation).
- `loans.disbursed_*`: loans with `disbursed_on` in [first, last], split by the
  borrower's sector (`unspecified` without one) and by lender (every lender, zeros
  included). `collected_*` and `on_time_repayment_rate`: the flows report's total over
  [first, last]. `par30_ratio_at_year_end`: the portfolio report's total PAR30 ratio as
  of `last`.
- `coaching`: the coaching report's total over [first, last], and its sessions and
  hours by kind (every kind, zeros included).

Loans, flows, portfolio, coaching and jobs reuse those reports' statements, so the
figures agree with them by construction. A year is reportable from the year of the
earliest record in scope (a holder's enrolment, an enterprise's creation, a loan's
disbursement or a coaching session; the current year when there is none) to the current
year; any other year is a 422 naming `year`.
"""

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, union, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.coaching.models import CoachingSession, SessionParticipant
from app.coaching.schemas import Attendance, SessionKind
from app.core.enums import Area, Gender, Sector
from app.core.errors import RuleViolation
from app.core.sql import AnySelect, money_sum
from app.enterprises.models import Enterprise
from app.holders.models import Holder
from app.loans.models import Lender, Loan
from app.reports import coaching, flows, impact, portfolio
from app.reports.dates import Interval
from app.reports.labels import UNSPECIFIED
from app.reports.schemas import (
    ActivityCoaching,
    ActivityEnterprises,
    ActivityHolders,
    ActivityLoans,
    ActivityReport,
    CoachingGroup,
    CountAmount,
    ImpactGroup,
    PortfolioGroup,
    SessionsHours,
)

AGE_BANDS = ("18-24", "25-29", "30-35", "36+", UNSPECIFIED)
ZERO = Decimal("0.00")


def year_days(year: int, today: date) -> tuple[date, date]:
    """The year's first day and its last: 31 December, or today for the year in progress."""
    return date(year, 1, 1), min(date(year, 12, 31), today)


def _dated_records() -> list[tuple[Any, Any]]:
    """(date column, centre column) of every record that dates a centre's activity."""
    return [
        (Holder.enrolled_on, Holder.centre_id),
        (Enterprise.created_on, Enterprise.centre_id),
        (Loan.disbursed_on, Loan.centre_id),
        (CoachingSession.held_on, CoachingSession.centre_id),
    ]


def _in_scope(centre_column: Any, centre_id: int | None) -> list[ColumnElement[bool]]:
    return [] if centre_id is None else [centre_column == centre_id]


def record_by_statement(day: date, centre_id: int | None) -> AnySelect:
    """Whether any record in scope is dated on or before `day` (EXISTS stops at the first)."""
    return select(
        or_(
            *(
                exists().where(column <= day, *_in_scope(centre, centre_id))
                for column, centre in _dated_records()
            )
        )
    )


def first_record_statement(centre_id: int | None) -> AnySelect:
    """The earliest dated record in scope: enrolment, creation, disbursement or session."""
    days = union_all(
        *(
            select(func.min(column).label("day")).where(*_in_scope(centre, centre_id))
            for column, centre in _dated_records()
        )
    ).subquery("days")
    return select(func.min(days.c.day))


async def check_year(session: AsyncSession, year: int, today: date, centre_id: int | None) -> None:
    """422 naming `year` unless it lies between the first record's year and this year.

    The current year is always reportable (it is the first record's year when there is
    none); an earlier one is when some record in scope is dated on or before its last day.
    """
    if year > today.year:
        raise RuleViolation("year", f"{year} has not begun yet (the current year is {today.year}).")
    if year == today.year or await session.scalar(
        record_by_statement(date(year, 12, 31), centre_id)
    ):
        return
    earliest = await session.scalar(first_record_statement(centre_id))
    first_year = today.year if earliest is None else earliest.year
    raise RuleViolation(
        "year", f"{year} is before the first record ({first_year}); nothing to report."
    )


def outstanding_during(first: date, last: date) -> ColumnElement[bool]:
    """The loan is outstanding on at least one day of [first, last]: disbursed by `last`
    and not ended (repaid or written off) on or before the later of `first` and its
    disbursement day (a loan ending on the day it is disbursed is never outstanding)."""

    def not_ended(end: Any) -> ColumnElement[bool]:
        return or_(end.is_(None), and_(end > first, end > Loan.disbursed_on))

    return and_(
        Loan.disbursed_on.is_not(None),
        Loan.disbursed_on <= last,
        not_ended(Loan.closed_on),
        not_ended(Loan.written_off_on),
    )


def supported_statement(first: date, last: date, centre_id: int | None) -> AnySelect:
    """Supported holders counted by (gender, area, age band at `last`).

    Reads `session_participants` + `coaching_sessions` (`held_on` in [first, last],
    attendance `present`), `loans` (`holder_id`, `disbursed_on`, `closed_on`,
    `written_off_on`) and `holders` (`centre_id`, `gender`, `area`, `birth_date`).
    """
    coached = (
        select(SessionParticipant.holder_id.label("holder_id"))
        .join(CoachingSession, CoachingSession.id == SessionParticipant.session_id)
        .where(
            SessionParticipant.attendance == Attendance.present,
            CoachingSession.held_on.between(first, last),
        )
    )
    borrowed = select(Loan.holder_id.label("holder_id")).where(outstanding_during(first, last))
    supported = union(coached, borrowed).subquery("supported")
    per_holder = (
        select(
            Holder.gender.label("gender"),
            Holder.area.label("area"),
            portfolio.age_band(Holder.birth_date, last).label("age_band"),
        )
        .join(supported, supported.c.holder_id == Holder.id)
        .where(*([] if centre_id is None else [Holder.centre_id == centre_id]))
        .subquery("per_holder")
    )
    return select(
        per_holder.c.gender, per_holder.c.area, per_holder.c.age_band, func.count().label("n")
    ).group_by(per_holder.c.gender, per_holder.c.area, per_holder.c.age_band)


def enrolled_statement(first: date, last: date, centre_id: int | None) -> AnySelect:
    return select(func.count()).where(
        Holder.enrolled_on.between(first, last),
        *([] if centre_id is None else [Holder.centre_id == centre_id]),
    )


def created_statement(first: date, last: date, centre_id: int | None) -> AnySelect:
    """Enterprises created in [first, last], counted by (sector, area)."""
    return (
        select(Enterprise.sector, Enterprise.area, func.count().label("n"))
        .where(
            Enterprise.created_on.between(first, last),
            *([] if centre_id is None else [Enterprise.centre_id == centre_id]),
        )
        .group_by(Enterprise.sector, Enterprise.area)
    )


def disbursed_statement(first: date, last: date, centre_id: int | None) -> AnySelect:
    """Loans disbursed in [first, last], counted and summed by (borrower's sector, lender)."""
    return (
        select(
            Holder.sector.label("sector"),
            Loan.lender_id.label("lender_id"),
            func.count().label("n"),
            money_sum(Loan.principal).label("amount"),
        )
        .join(Holder, Holder.id == Loan.holder_id)
        .where(
            Loan.disbursed_on.between(first, last),
            *([] if centre_id is None else [Loan.centre_id == centre_id]),
        )
        .group_by(Holder.sector, Loan.lender_id)
    )


def _zeros(keys: Any) -> dict[str, int]:
    return {str(key): 0 for key in keys}


async def holders_figures(
    session: AsyncSession, first: date, last: date, centre_id: int | None
) -> ActivityHolders:
    by_gender = _zeros(Gender)
    by_area = _zeros(Area)
    by_age_band = _zeros(AGE_BANDS)
    for row in await session.execute(supported_statement(first, last, centre_id)):
        by_gender[row.gender] = by_gender.get(row.gender, 0) + row.n
        by_area[row.area] = by_area.get(row.area, 0) + row.n
        by_age_band[row.age_band] += row.n
    enrolled = await session.scalar(enrolled_statement(first, last, centre_id))
    return ActivityHolders(
        enrolled=enrolled or 0,
        supported=sum(by_gender.values()),
        by_gender=by_gender,
        by_area=by_area,
        by_age_band=by_age_band,
    )


async def enterprises_figures(
    session: AsyncSession, first: date, last: date, centre_id: int | None
) -> ActivityEnterprises:
    by_sector = _zeros(Sector)
    by_area = _zeros(Area)
    for row in await session.execute(created_statement(first, last, centre_id)):
        by_sector[row.sector] = by_sector.get(row.sector, 0) + row.n
        by_area[row.area] = by_area.get(row.area, 0) + row.n
    jobs_rows = await session.execute(
        impact.enterprises_statement(last, ImpactGroup.centre, centre_id)
    )
    return ActivityEnterprises(
        created=sum(by_sector.values()),
        by_sector=by_sector,
        by_area=by_area,
        jobs=sum(int(row.jobs or 0) for row in jobs_rows),
    )


async def loans_figures(
    session: AsyncSession, first: date, last: date, today: date, centre_id: int | None
) -> ActivityLoans:
    lenders = {
        str(row.id): row.name
        for row in await session.execute(select(Lender.id, Lender.name).order_by(Lender.id))
    }
    counts: dict[str, dict[str, int]] = {"sector": defaultdict(int), "lender": defaultdict(int)}
    amounts: dict[str, dict[str, Decimal]] = {
        "sector": defaultdict(lambda: ZERO),
        "lender": defaultdict(lambda: ZERO),
    }
    for row in await session.execute(disbursed_statement(first, last, centre_id)):
        for name, key in (("sector", row.sector or UNSPECIFIED), ("lender", str(row.lender_id))):
            counts[name][key] += row.n
            amounts[name][key] += Decimal(row.amount)

    def split(name: str, keys: list[str]) -> dict[str, CountAmount]:
        return {
            key: CountAmount(count=counts[name][key], amount=amounts[name][key]) for key in keys
        }

    flows_total = (
        await flows.flows_report(
            session, start=first, end=last, interval=Interval.year, centre_id=centre_id
        )
    ).total
    at_year_end = (
        await portfolio.portfolio_report(
            session, as_of=last, today=today, group_by=PortfolioGroup.centre, centre_id=centre_id
        )
    ).total
    return ActivityLoans(
        disbursed_count=flows_total.disbursed_count,
        disbursed_amount=flows_total.disbursed_amount,
        by_sector=split("sector", [*(s.value for s in Sector), UNSPECIFIED]),
        by_lender=split("lender", list(lenders)),
        lender_names=lenders,
        collected_principal=flows_total.collected_principal,
        collected_interest=flows_total.collected_interest,
        on_time_repayment_rate=flows_total.on_time_repayment_rate,
        par30_ratio_at_year_end=at_year_end.par30_ratio,
    )


async def coaching_figures(
    session: AsyncSession, first: date, last: date, centre_id: int | None
) -> ActivityCoaching:
    report = await coaching.coaching_report(
        session, start=first, end=last, group_by=CoachingGroup.kind, centre_id=centre_id
    )
    by_kind = {kind.value: SessionsHours(sessions=0, hours=ZERO) for kind in SessionKind}
    for row in report.rows:
        by_kind[str(row.key)] = SessionsHours(sessions=row.sessions, hours=row.hours)
    return ActivityCoaching(
        sessions=report.total.sessions,
        hours=report.total.hours,
        holders_reached=report.total.holders_reached,
        by_kind=by_kind,
    )


async def activity_report(
    session: AsyncSession, *, year: int, today: date, centre_id: int | None
) -> ActivityReport:
    await check_year(session, year, today, centre_id)
    first, last = year_days(year, today)
    return ActivityReport(
        year=year,
        centre_id=centre_id,
        first_day=first,
        last_day=last,
        holders=await holders_figures(session, first, last, centre_id),
        enterprises=await enterprises_figures(session, first, last, centre_id),
        loans=await loans_figures(session, first, last, today, centre_id),
        coaching=await coaching_figures(session, first, last, centre_id),
    )
