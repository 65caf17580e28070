"""Very small enterprises (TPE) and their owners."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.concurrency import ensure_if_match
from app.core.db import utcnow
from app.core.errors import RuleViolation
from app.core.pagination import PageParams, paginate
from app.core.patching import apply_changes, patch_values
from app.core.records import get_in_scope, listed_in_scope, where_equal, where_words
from app.core.roles import WRITERS
from app.core.scope import Actor, visible_to
from app.core.text import fold
from app.enterprises.models import Enterprise, EnterpriseOwner
from app.enterprises.schemas import (
    NULLABLE_ON_PATCH,
    EnterpriseCreate,
    EnterpriseStatus,
    EnterpriseUpdate,
)
from app.holders.service import ensure_holders_of_centre, resolve_centre

SEARCH_TEXT_LENGTH = 200


@dataclass(frozen=True)
class EnterpriseFilters:
    centre_id: int | None = None
    status: str | None = None
    sector: str | None = None
    area: str | None = None
    region: str | None = None
    owner_id: int | None = None
    q: str | None = None


def enterprise_search_text(name: str) -> str:
    return fold(name)[:SEARCH_TEXT_LENGTH]


def ensure_status_dates(
    status: str, created_on: date | None, closed_on: date | None, today: date
) -> None:
    """The life-cycle rules of an enterprise, checked on the state after a change:

    - `created_on` is required unless the status is `project`, and an enterprise in
      `project` status has no `created_on` yet;
    - `closed_on` is required when the status is `closed` and only then, and is not
      before `created_on`;
    - neither date is in the future.
    """
    if status == EnterpriseStatus.project:
        if created_on is not None:
            raise RuleViolation("created_on", "an enterprise in project status is not created yet")
    elif created_on is None:
        raise RuleViolation("created_on", "required unless the status is project")
    if created_on is not None and created_on > today:
        raise RuleViolation("created_on", "must not be in the future")
    if status == EnterpriseStatus.closed:
        if closed_on is None:
            raise RuleViolation("closed_on", "required when the status is closed")
    elif closed_on is not None:
        raise RuleViolation("closed_on", "only a closed enterprise has a closed_on date")
    if closed_on is not None:
        if created_on is not None and closed_on < created_on:
            raise RuleViolation("closed_on", "must not be before created_on")
        if closed_on > today:
            raise RuleViolation("closed_on", "must not be in the future")


def unique_ids(ids: Sequence[int]) -> list[int]:
    return sorted(set(ids))


async def owners_by_enterprise(
    session: AsyncSession, enterprise_ids: Sequence[int]
) -> dict[int, list[int]]:
    """The owners' holder ids of several enterprises, in one statement."""
    owners: dict[int, list[int]] = defaultdict(list)
    if not enterprise_ids:
        return owners
    rows = await session.execute(
        select(EnterpriseOwner.enterprise_id, EnterpriseOwner.holder_id)
        .where(EnterpriseOwner.enterprise_id.in_(enterprise_ids))
        .order_by(EnterpriseOwner.enterprise_id, EnterpriseOwner.holder_id)
    )
    for enterprise_id, holder_id in rows:
        owners[enterprise_id].append(holder_id)
    return owners


async def owner_ids_of(session: AsyncSession, enterprise_id: int) -> list[int]:
    return (await owners_by_enterprise(session, [enterprise_id])).get(enterprise_id, [])


async def ensure_owned_by(
    session: AsyncSession, actor: Actor, enterprise_id: int, holder_id: int, centre_id: int
) -> Enterprise:
    """The enterprise, in the caller's scope, in centre `centre_id` and owned by the holder
    (422 naming `enterprise_id` otherwise): what a loan for that enterprise requires."""
    stmt = visible_to(select(Enterprise), Enterprise.centre_id, actor).where(
        Enterprise.id == enterprise_id
    )
    enterprise = (await session.execute(stmt)).scalar_one_or_none()
    if enterprise is None:
        raise RuleViolation("enterprise_id", "no such enterprise in your scope")
    if enterprise.centre_id != centre_id:
        raise RuleViolation("enterprise_id", "the enterprise belongs to another centre")
    if holder_id not in await owner_ids_of(session, enterprise_id):
        raise RuleViolation("enterprise_id", "the holder is not an owner of this enterprise")
    return enterprise


def filtered_enterprises(actor: Actor, filters: EnterpriseFilters) -> Select[Enterprise]:
    """Enterprises in the caller's scope matching every filter; `q` matches the name's
    words regardless of case and accents."""
    stmt = listed_in_scope(select(Enterprise), Enterprise.centre_id, actor, filters.centre_id)
    stmt = where_equal(
        stmt,
        {
            Enterprise.status: filters.status,
            Enterprise.sector: filters.sector,
            Enterprise.area: filters.area,
            Enterprise.region: filters.region,
        },
    )
    if filters.owner_id is not None:
        stmt = stmt.where(
            Enterprise.id.in_(
                select(EnterpriseOwner.enterprise_id).where(
                    EnterpriseOwner.holder_id == filters.owner_id
                )
            )
        )
    return where_words(stmt, Enterprise.search_text, filters.q)


async def list_enterprises(
    session: AsyncSession,
    actor: Actor,
    page: PageParams,
    order_by: list[Any],
    filters: EnterpriseFilters,
) -> tuple[list[tuple[Enterprise, list[int]]], int]:
    """One page with its owners: the count, the page and one IN query for the owners."""
    enterprises, total = await paginate(
        session, filtered_enterprises(actor, filters), page, order_by
    )
    owners = await owners_by_enterprise(session, [e.id for e in enterprises])
    return [(e, owners.get(e.id, [])) for e in enterprises], total


async def get_enterprise(session: AsyncSession, actor: Actor, enterprise_id: int) -> Enterprise:
    return await get_in_scope(session, actor, Enterprise, enterprise_id, "Enterprise")


async def get_enterprise_with_owners(
    session: AsyncSession, actor: Actor, enterprise_id: int
) -> tuple[Enterprise, list[int]]:
    enterprise = await get_enterprise(session, actor, enterprise_id)
    return enterprise, await owner_ids_of(session, enterprise.id)


async def create_enterprise(
    session: AsyncSession, actor: Actor, body: EnterpriseCreate, *, today: date
) -> tuple[Enterprise, list[int]]:
    """Register an enterprise with its owners (advisers, managers and admins in scope)."""
    values = body.model_dump()
    actor.require(*WRITERS)
    owner_ids = unique_ids(values.pop("owner_ids"))
    values["centre_id"] = await resolve_centre(session, actor, values.get("centre_id"))
    if values.get("status") is None:
        values["status"] = (
            EnterpriseStatus.project
            if values.get("created_on") is None
            else EnterpriseStatus.active
        ).value
    ensure_status_dates(values["status"], values.get("created_on"), values.get("closed_on"), today)
    await ensure_holders_of_centre(session, "owner_ids", owner_ids, values["centre_id"])
    enterprise = Enterprise(**values, search_text=enterprise_search_text(values["name"]), version=1)
    session.add(enterprise)
    await session.flush()
    session.add_all(
        EnterpriseOwner(enterprise_id=enterprise.id, holder_id=holder_id) for holder_id in owner_ids
    )
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action="create",
        entity="enterprise",
        entity_id=enterprise.id,
        centre_id=enterprise.centre_id,
        changes=audit.snapshot({**values, "owner_ids": owner_ids}),
    )
    return enterprise, owner_ids


async def replace_owners(
    session: AsyncSession, enterprise_id: int, before: list[int], after: list[int]
) -> None:
    removed = set(before) - set(after)
    if removed:
        await session.execute(
            delete(EnterpriseOwner).where(
                EnterpriseOwner.enterprise_id == enterprise_id,
                EnterpriseOwner.holder_id.in_(removed),
            )
        )
    session.add_all(
        EnterpriseOwner(enterprise_id=enterprise_id, holder_id=holder_id)
        for holder_id in sorted(set(after) - set(before))
    )


async def update_enterprise(
    session: AsyncSession,
    actor: Actor,
    enterprise_id: int,
    patch: EnterpriseUpdate,
    if_match: str | None,
    *,
    today: date,
) -> tuple[Enterprise, list[int]]:
    """Change an enterprise; the life-cycle rules hold on the resulting state. Sending
    `owner_ids` replaces the owners (and counts as a change of the enterprise's version)."""
    values = patch_values(patch, nullable=NULLABLE_ON_PATCH)
    enterprise = await get_enterprise(session, actor, enterprise_id)
    actor.require(*WRITERS)
    ensure_if_match(if_match, enterprise.version)
    owners_before = await owner_ids_of(session, enterprise.id)
    owners_after = unique_ids(values.pop("owner_ids", owners_before))
    ensure_status_dates(
        values.get("status", enterprise.status),
        values.get("created_on", enterprise.created_on),
        values.get("closed_on", enterprise.closed_on),
        today,
    )
    if owners_after != owners_before:
        await ensure_holders_of_centre(session, "owner_ids", owners_after, enterprise.centre_id)
    changes = apply_changes(enterprise, values)
    if "name" in changes:
        enterprise.search_text = enterprise_search_text(enterprise.name)
    if owners_after != owners_before:
        await replace_owners(session, enterprise.id, owners_before, owners_after)
        changes["owner_ids"] = {"from": owners_before, "to": owners_after}
        # The owners live in another table: touch the row so that its version moves on too.
        enterprise.updated_at = utcnow()
    await audit.record_update(
        session,
        actor_id=actor.id,
        entity="enterprise",
        entity_id=enterprise.id,
        centre_id=enterprise.centre_id,
        changes=changes,
    )
    return enterprise, owners_after
