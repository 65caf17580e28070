"""The four reports, scoped to the caller's centres.

Every role may read reports; an adviser, a centre's manager or viewer only for its own
centre (another centre's `centre_id` is a 404, exactly like a centre that does not exist),
national staff and admins for all centres or the one they name. The scope is applied in
SQL inside each report's statements, so no grouping can show another centre's figures.
"""

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.core.errors import NotFound
from app.core.scope import Actor, centre_filter
from app.reports.coaching import coaching_report
from app.reports.dates import Interval
from app.reports.flows import flows_report
from app.reports.impact import impact_report
from app.reports.portfolio import portfolio_report
from app.reports.schemas import (
    CoachingGroup,
    CoachingReport,
    FlowsReport,
    ImpactGroup,
    ImpactReport,
    PortfolioGroup,
    PortfolioReport,
)


async def report_scope(session: AsyncSession, actor: Actor, centre_id: int | None) -> int | None:
    """The centre a report covers (None: all): the one asked for, when the caller sees it
    and it exists, else the caller's own centre, if any (404 otherwise)."""
    scoped = centre_filter(actor, centre_id)
    if centre_id is not None:
        found = await session.scalar(select(Centre.id).where(Centre.id == centre_id))
        if found is None:
            raise NotFound("Centre not found.")
    return scoped


async def centre_label(session: AsyncSession, centre_id: int | None) -> str:
    """How a report's parameters name the centre it covers."""
    if centre_id is None:
        return "All centres"
    name = await session.scalar(select(Centre.name).where(Centre.id == centre_id))
    return f"{name} (id {centre_id})"


async def portfolio(
    session: AsyncSession,
    actor: Actor,
    *,
    as_of: date,
    today: date,
    group_by: PortfolioGroup,
    centre_id: int | None,
) -> PortfolioReport:
    scope = await report_scope(session, actor, centre_id)
    return await portfolio_report(
        session, as_of=as_of, today=today, group_by=group_by, centre_id=scope
    )


async def flows(
    session: AsyncSession,
    actor: Actor,
    *,
    start: date,
    end: date,
    interval: Interval,
    centre_id: int | None,
) -> FlowsReport:
    scope = await report_scope(session, actor, centre_id)
    return await flows_report(session, start=start, end=end, interval=interval, centre_id=scope)


async def coaching(
    session: AsyncSession,
    actor: Actor,
    *,
    start: date,
    end: date,
    group_by: CoachingGroup,
    centre_id: int | None,
) -> CoachingReport:
    scope = await report_scope(session, actor, centre_id)
    return await coaching_report(session, start=start, end=end, group_by=group_by, centre_id=scope)


async def impact(
    session: AsyncSession,
    actor: Actor,
    *,
    as_of: date,
    group_by: ImpactGroup,
    centre_id: int | None,
) -> ImpactReport:
    scope = await report_scope(session, actor, centre_id)
    return await impact_report(session, as_of=as_of, group_by=group_by, centre_id=scope)
