"""Enterprise follow-ups, the status they give their enterprise, and the follow-ups due.

Rules (the `follow-ups` operations of the OpenAPI document):
- The enterprise is in the caller's scope and created (not a `project`): else 422 naming
  `enterprise_id`; so too when a change of `visited_on` or `enterprise_status` is made
  after the enterprise was turned back into a project. A follow-up's centre is its
  enterprise's.
- `visited_on` not in the future and not before the enterprise's `created_on`;
  `next_follow_up_on`, when set, after `visited_on` (422 naming the field).
- The enterprise's latest follow-up (greatest `visited_on`, then greatest id) sets its
  status: `closed` closes it with `closed_on` = `visited_on`; `active` and `struggling` set
  that status; `dormant` sets `struggling`; any status but `closed` clears `closed_on`.
  This is applied when a follow-up is created as the latest one, and when an update of
  `visited_on` or `enterprise_status` touches the follow-up that is, or was, the latest;
  a backdated follow-up changes nothing. The enterprise's change is audited (entity
  `enterprise`, action `status_from_follow_up`).
- Permissions as in `app.coaching.authoring`.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.coaching.authoring import (
    ensure_may_edit,
    ensure_may_write,
    ensure_not_future,
    resolve_adviser,
)
from app.core import audit
from app.core.audit import json_safe
from app.core.concurrency import ensure_if_match
from app.core.errors import RuleViolation
from app.core.money import round_money
from app.core.pagination import PageParams, paginate
from app.core.params import fits_id_column
from app.core.patching import apply_changes, patch_values
from app.core.records import get_in_scope, listed_in_scope, where_equal, within_dates
from app.core.scope import Actor, centre_filter, visible_to
from app.core.sql import days_after
from app.enterprises.models import Enterprise, EnterpriseOwner
from app.followups.models import FollowUp
from app.followups.schemas import NULLABLE_ON_PATCH, FollowUpCreate, FollowUpUpdate
from app.holders.models import Holder

ENTERPRISE_STATUS_FROM_VISIT = {
    "active": "active",
    "struggling": "struggling",
    "dormant": "struggling",
    "closed": "closed",
}


@dataclass(frozen=True)
class FollowUpFilters:
    centre_id: int | None = None
    enterprise_id: int | None = None
    adviser_id: int | None = None
    enterprise_status: str | None = None
    visited_from: date | None = None
    visited_to: date | None = None


@dataclass(frozen=True)
class DueRow:
    enterprise_id: int
    name: str
    centre_id: int
    last_visited_on: date | None
    due_on: date
    days_overdue: int


async def list_follow_ups(
    session: AsyncSession,
    actor: Actor,
    page: PageParams,
    order_by: list[Any],
    filters: FollowUpFilters,
) -> tuple[list[FollowUp], int]:
    stmt = listed_in_scope(select(FollowUp), FollowUp.centre_id, actor, filters.centre_id)
    stmt = where_equal(
        stmt,
        {
            FollowUp.enterprise_id: filters.enterprise_id,
            FollowUp.adviser_id: filters.adviser_id,
            FollowUp.enterprise_status: filters.enterprise_status,
        },
    )
    stmt = within_dates(stmt, FollowUp.visited_on, filters.visited_from, filters.visited_to)
    return await paginate(session, stmt, page, order_by)


async def get_follow_up(session: AsyncSession, actor: Actor, follow_up_id: int) -> FollowUp:
    return await get_in_scope(session, actor, FollowUp, follow_up_id, "Follow-up")


async def followed_enterprise(
    session: AsyncSession, actor: Actor, enterprise_id: int
) -> Enterprise:
    """The enterprise a follow-up is about: in scope and created, else 422."""
    enterprise = (
        await session.get(Enterprise, enterprise_id) if fits_id_column(enterprise_id) else None
    )
    if enterprise is None or not actor.sees_centre(enterprise.centre_id):
        raise RuleViolation("enterprise_id", "no such enterprise in your scope")
    ensure_created(enterprise)
    return enterprise


def ensure_created(enterprise: Enterprise) -> None:
    if enterprise.status == "project" or enterprise.created_on is None:
        raise RuleViolation("enterprise_id", "the enterprise is still a project (not created)")


def normalised(values: dict[str, Any]) -> dict[str, Any]:
    """Amounts kept at two decimals, so that the audit trail reads as the responses do."""
    values = dict(values)
    if values.get("monthly_revenue") is not None:
        values["monthly_revenue"] = round_money(values["monthly_revenue"])
    return values


def ensure_visit_dates(
    enterprise: Enterprise, visited_on: date, next_follow_up_on: date | None, today: date
) -> None:
    ensure_not_future("visited_on", visited_on, today)
    if enterprise.created_on is not None and visited_on < enterprise.created_on:
        raise RuleViolation(
            "visited_on",
            f"must not be before the enterprise's creation ({enterprise.created_on.isoformat()})",
        )
    if next_follow_up_on is not None and next_follow_up_on <= visited_on:
        raise RuleViolation("next_follow_up_on", "must be after visited_on")


async def latest_follow_up(session: AsyncSession, enterprise_id: int) -> FollowUp | None:
    return (
        await session.execute(
            select(FollowUp)
            .where(FollowUp.enterprise_id == enterprise_id)
            .order_by(FollowUp.visited_on.desc(), FollowUp.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def apply_visit_status(
    session: AsyncSession, actor: Actor, enterprise: Enterprise, latest: FollowUp
) -> None:
    """Give the enterprise the status its latest follow-up found, and audit the change."""
    status = ENTERPRISE_STATUS_FROM_VISIT[latest.enterprise_status]
    closed_on = latest.visited_on if status == "closed" else None
    changes: dict[str, Any] = {}
    if enterprise.status != status:
        changes["status"] = {"from": enterprise.status, "to": status}
        enterprise.status = status
    if enterprise.closed_on != closed_on:
        changes["closed_on"] = {"from": json_safe(enterprise.closed_on), "to": json_safe(closed_on)}
        enterprise.closed_on = closed_on
    if not changes:
        return
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="status_from_follow_up",
        entity="enterprise",
        entity_id=enterprise.id,
        centre_id=enterprise.centre_id,
        changes={**changes, "follow_up_id": latest.id},
    )


async def create_follow_up(
    session: AsyncSession, actor: Actor, body: FollowUpCreate, today: date
) -> FollowUp:
    values = normalised(body.model_dump())
    ensure_may_write(actor)
    enterprise = await followed_enterprise(session, actor, values["enterprise_id"])
    adviser_id = await resolve_adviser(
        session, actor, values.pop("adviser_id", None), enterprise.centre_id
    )
    ensure_visit_dates(enterprise, values["visited_on"], values.get("next_follow_up_on"), today)
    record = FollowUp(centre_id=enterprise.centre_id, adviser_id=adviser_id, version=1, **values)
    session.add(record)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="create",
        entity="follow_up",
        entity_id=record.id,
        centre_id=record.centre_id,
        changes=audit.snapshot({"centre_id": record.centre_id, "adviser_id": adviser_id, **values}),
    )
    latest = await latest_follow_up(session, enterprise.id)
    if latest is not None and latest.id == record.id:
        await apply_visit_status(session, actor, enterprise, record)
    return record


async def update_follow_up(
    session: AsyncSession,
    actor: Actor,
    follow_up_id: int,
    patch: FollowUpUpdate,
    if_match: str | None,
    today: date,
) -> FollowUp:
    values = normalised(patch_values(patch, nullable=NULLABLE_ON_PATCH))
    record = await get_follow_up(session, actor, follow_up_id)
    ensure_may_edit(actor, record.adviser_id)
    ensure_if_match(if_match, record.version)
    enterprise = await session.get(Enterprise, record.enterprise_id)
    assert enterprise is not None  # a foreign key guarantees it
    if "adviser_id" in values:
        values["adviser_id"] = await resolve_adviser(
            session, actor, values["adviser_id"], record.centre_id
        )
    if "visited_on" in values or "enterprise_status" in values:
        # The status rule would give a `project` (no `created_on`) a created status.
        ensure_created(enterprise)
    visited_on = values.get("visited_on", record.visited_on)
    next_follow_up_on = values.get("next_follow_up_on", record.next_follow_up_on)
    if "visited_on" in values or "next_follow_up_on" in values:
        if "visited_on" in values:
            ensure_visit_dates(enterprise, visited_on, next_follow_up_on, today)
        elif next_follow_up_on is not None and next_follow_up_on <= visited_on:
            raise RuleViolation("next_follow_up_on", "must be after visited_on")

    before = await latest_follow_up(session, enterprise.id)
    was_latest = before is not None and before.id == record.id
    changes = apply_changes(record, values)
    if not changes:
        return record
    await audit.record_update(
        session,
        actor_id=actor.id,
        entity="follow_up",
        entity_id=record.id,
        centre_id=record.centre_id,
        changes=changes,
    )
    if "visited_on" in changes or "enterprise_status" in changes:
        latest = await latest_follow_up(session, enterprise.id)
        if latest is not None and (was_latest or latest.id == record.id):
            await apply_visit_status(session, actor, enterprise, latest)
    return record


def due_statement(
    actor: Actor,
    as_of: date,
    cadence_days: int,
    *,
    centre_id: int | None = None,
    adviser_id: int | None = None,
) -> Select[Any]:
    """Enterprises whose follow-up is due on or before `as_of`, with `last_visited_on` and
    `due_on`, as one statement (not ordered).

    Candidates: enterprises in scope, created on or before `as_of` (not `project`) and not
    closed at `as_of` (no `closed_on`, or one after `as_of`). The latest follow-up on or
    before `as_of` (greatest `visited_on`, then id) gives `due_on` = its
    `next_follow_up_on` when set, else its `visited_on` + cadence; never visited:
    `created_on` + cadence. `adviser_id` keeps enterprises with an owner whose adviser it is.
    """
    ranked_visits = select(
        FollowUp.enterprise_id,
        FollowUp.visited_on,
        FollowUp.next_follow_up_on,
        func.row_number()
        .over(
            partition_by=FollowUp.enterprise_id,
            order_by=(FollowUp.visited_on.desc(), FollowUp.id.desc()),
        )
        .label("recency"),
    ).where(FollowUp.visited_on <= as_of)
    ranked_visits = visible_to(ranked_visits, FollowUp.centre_id, actor)
    if centre_id is not None:
        ranked_visits = ranked_visits.where(FollowUp.centre_id == centre_id)
    ranked = ranked_visits.subquery("ranked_visits")
    latest = (
        select(ranked.c.enterprise_id, ranked.c.visited_on, ranked.c.next_follow_up_on)
        .where(ranked.c.recency == 1)
        .subquery("latest_visit")
    )
    due_on = func.coalesce(
        latest.c.next_follow_up_on,
        days_after(func.coalesce(latest.c.visited_on, Enterprise.created_on), cadence_days),
    )
    stmt = (
        select(
            Enterprise.id.label("enterprise_id"),
            Enterprise.name,
            Enterprise.centre_id,
            latest.c.visited_on.label("last_visited_on"),
            due_on.label("due_on"),
        )
        .select_from(Enterprise)
        .outerjoin(latest, latest.c.enterprise_id == Enterprise.id)
        .where(
            Enterprise.status != "project",
            Enterprise.created_on.is_not(None),
            Enterprise.created_on <= as_of,
            or_(Enterprise.closed_on.is_(None), Enterprise.closed_on > as_of),
            due_on <= as_of,
        )
    )
    stmt = visible_to(stmt, Enterprise.centre_id, actor)
    if centre_id is not None:
        stmt = stmt.where(Enterprise.centre_id == centre_id)
    if adviser_id is not None:
        owned_by_advisees = (
            select(EnterpriseOwner.holder_id)
            .join(Holder, Holder.id == EnterpriseOwner.holder_id)
            .where(EnterpriseOwner.enterprise_id == Enterprise.id, Holder.adviser_id == adviser_id)
            .exists()
        )
        stmt = stmt.where(owned_by_advisees)
    return stmt


def due_order(stmt: Select[Any]) -> list[Any]:
    """Most overdue first (earliest `due_on`), then enterprise id."""
    columns = stmt.selected_columns
    return [columns.due_on.asc(), columns.enterprise_id.asc()]


def due_rows(rows: Any, as_of: date) -> list[DueRow]:
    return [
        DueRow(
            enterprise_id=row.enterprise_id,
            name=row.name,
            centre_id=row.centre_id,
            last_visited_on=row.last_visited_on,
            due_on=row.due_on,
            days_overdue=(as_of - row.due_on).days,
        )
        for row in rows
    ]


async def follow_ups_due(
    session: AsyncSession,
    actor: Actor,
    page: PageParams,
    *,
    as_of: date,
    cadence_days: int,
    centre_id: int | None = None,
    adviser_id: int | None = None,
) -> tuple[list[DueRow], int]:
    """One page of the follow-ups due (two statements: the count and the page)."""
    stmt = due_statement(
        actor,
        as_of,
        cadence_days,
        centre_id=centre_filter(actor, centre_id),
        adviser_id=adviser_id,
    )
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = await session.execute(
        stmt.order_by(*due_order(stmt)).limit(page.limit).offset(page.offset)
    )
    return due_rows(rows, as_of), int(total)
