"""A holder's history assembled from every domain, newest first.

It sits above the domains, so that holders/ never imports coaching/ or loans/. Each source
is ONE statement, limited to the first `offset + limit` events of that source in timeline
order and carrying its own total (a window count); the sources are then merged in Python,
so a page costs four statements whatever the holder's history.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Numeric, String, func, literal_column, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from app.coaching.models import CoachingSession, SessionParticipant
from app.core.audit import AuditEvent
from app.core.money import format_money
from app.core.pagination import PageParams
from app.core.scope import Actor
from app.enterprises.models import Enterprise, EnterpriseOwner
from app.followups.models import FollowUp
from app.holders.service import get_holder
from app.loans.models import Loan, LoanTransaction
from app.timeline.schemas import TimelineItem, TimelineKind

# On the same day, the kinds are listed in this order (newest first).
KIND_RANK = {
    TimelineKind.status_change: 4,
    TimelineKind.loan_event: 3,
    TimelineKind.follow_up: 2,
    TimelineKind.coaching_session: 1,
}

# The order of a loan's events on one day: a loan applied, approved and disbursed on the
# same day lists them newest first; repayments come after the disbursement and before the
# closing they complete.
LOAN_STAGES = {
    "applied": 1,
    "approved": 2,
    "rejected": 2,
    "disbursed": 3,
    "repayment": 4,
    "reversal": 4,
    "written_off": 5,
    "closed": 5,
}
LOAN_TRANSACTION_KINDS = ("repayment", "reversal")
LARGEST_LIMIT = 2**63 - 1

SortKey = tuple[date, int, int, int, int]
Rows = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class Event:
    item: TimelineItem
    key: SortKey


def humanise(value: str) -> str:
    return value.replace("_", " ")


def coaching_sessions(holder_id: int, first: int) -> Rows:
    return (
        select(
            CoachingSession.id,
            CoachingSession.held_on,
            CoachingSession.kind,
            CoachingSession.format,
            CoachingSession.mode,
            CoachingSession.duration_minutes,
            CoachingSession.topic,
            SessionParticipant.attendance,
            func.count().over().label("total"),
        )
        .join(SessionParticipant, SessionParticipant.session_id == CoachingSession.id)
        .where(SessionParticipant.holder_id == holder_id)
        .order_by(CoachingSession.held_on.desc(), CoachingSession.id.desc())
        .limit(first)
    )


def coaching_event(row: Any) -> Event:
    summary = (
        f"{humanise(row.kind).capitalize()} session ({humanise(row.format)}, "
        f"{humanise(row.mode)}, {row.duration_minutes} min): {row.topic}"
    )
    if row.attendance != "present":
        summary += f" ({row.attendance})"
    kind = TimelineKind.coaching_session
    return Event(
        TimelineItem(kind=kind, on=row.held_on, id=row.id, summary=summary),
        (row.held_on, KIND_RANK[kind], row.id, 0, 0),
    )


def follow_ups(holder_id: int, first: int) -> Rows:
    """Follow-ups of every enterprise the holder owns."""
    return (
        select(
            FollowUp.id,
            FollowUp.visited_on,
            FollowUp.mode,
            FollowUp.enterprise_status,
            FollowUp.risk_level,
            Enterprise.name,
            func.count().over().label("total"),
        )
        .join(EnterpriseOwner, EnterpriseOwner.enterprise_id == FollowUp.enterprise_id)
        .join(Enterprise, Enterprise.id == FollowUp.enterprise_id)
        .where(EnterpriseOwner.holder_id == holder_id)
        .order_by(FollowUp.visited_on.desc(), FollowUp.id.desc())
        .limit(first)
    )


def follow_up_event(row: Any) -> Event:
    summary = f"Follow-up of {row.name} ({humanise(row.mode)}): {row.enterprise_status}"
    if row.risk_level:
        summary += f", {row.risk_level} risk"
    kind = TimelineKind.follow_up
    return Event(
        TimelineItem(kind=kind, on=row.visited_on, id=row.id, summary=summary),
        (row.visited_on, KIND_RANK[kind], row.id, 0, 0),
    )


def constant(value: str | int, type_: Any) -> Any:
    rendered = f"'{value}'" if isinstance(value, str) else str(value)
    return literal_column(rendered, type_)


def loan_events(holder_id: int, first: int) -> Rows:
    """Dated steps of the holder's loans and their repayments and reversals, one UNION ALL."""

    def step(name: str, on: Any, amount: Any) -> Rows:
        stmt = select(
            Loan.id.label("loan_id"),
            on.label("occurred_on"),
            constant(name, String()).label("event"),
            constant(LOAN_STAGES[name], Integer()).label("stage"),
            constant(0, Integer()).label("transaction_id"),
            amount.label("amount"),
        ).where(Loan.holder_id == holder_id)
        return stmt if name == "applied" else stmt.where(on.is_not(None))

    steps = [
        step("applied", Loan.applied_on, Loan.principal),
        step("approved", Loan.approved_on, Loan.principal),
        step("rejected", Loan.rejected_on, Loan.principal),
        step("disbursed", Loan.disbursed_on, Loan.principal),
        step("written_off", Loan.written_off_on, Loan.written_off_amount),
        step("closed", Loan.closed_on, Loan.principal).where(Loan.written_off_on.is_(None)),
    ]
    transactions = (
        select(
            LoanTransaction.loan_id.label("loan_id"),
            LoanTransaction.effective_on.label("occurred_on"),
            LoanTransaction.kind.label("event"),
            constant(LOAN_STAGES["repayment"], Integer()).label("stage"),
            LoanTransaction.id.label("transaction_id"),
            LoanTransaction.amount.cast(Numeric(14, 2)).label("amount"),
        )
        .join(Loan, Loan.id == LoanTransaction.loan_id)
        .where(Loan.holder_id == holder_id, LoanTransaction.kind.in_(LOAN_TRANSACTION_KINDS))
    )
    events = union_all(*steps, transactions).subquery("loan_events")
    return (
        select(events, func.count().over().label("total"))
        .order_by(
            events.c.occurred_on.desc(),
            events.c.loan_id.desc(),
            events.c.stage.desc(),
            events.c.transaction_id.desc(),
        )
        .limit(first)
    )


def loan_summary(event: str, loan_id: int, amount: Decimal | None) -> str:
    money = f"{format_money(amount)} MAD" if amount is not None else "an unknown amount"
    summaries = {
        "applied": f"Loan #{loan_id} applied for: {money}",
        "approved": f"Loan #{loan_id} approved: {money}",
        "rejected": f"Loan #{loan_id} rejected",
        "disbursed": f"Loan #{loan_id} disbursed: {money}",
        "repayment": f"Repayment of {money} on loan #{loan_id}",
        "reversal": f"Reversal of a {money} repayment on loan #{loan_id}",
        "written_off": f"Loan #{loan_id} written off: {money}",
        "closed": f"Loan #{loan_id} repaid and closed",
    }
    return summaries[event]


def loan_event(row: Any) -> Event:
    kind = TimelineKind.loan_event
    return Event(
        TimelineItem(
            kind=kind,
            on=row.occurred_on,
            id=row.loan_id,
            summary=loan_summary(row.event, row.loan_id, row.amount),
        ),
        (row.occurred_on, KIND_RANK[kind], row.loan_id, row.stage, row.transaction_id),
    )


def status_changes(holder_id: int, first: int) -> Rows:
    return (
        select(
            AuditEvent.id,
            AuditEvent.occurred_at,
            AuditEvent.changes,
            func.count().over().label("total"),
        )
        .where(
            AuditEvent.entity == "holder",
            AuditEvent.entity_id == holder_id,
            AuditEvent.action == "status_change",
        )
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(first)
    )


def status_change_event(row: Any, zone: ZoneInfo) -> Event:
    change = row.changes.get("status", {})
    summary = f"Status changed from {change.get('from')} to {change.get('to')}"
    occurred_at: datetime = row.occurred_at
    on = occurred_at.astimezone(zone).date()
    kind = TimelineKind.status_change
    micros = int(occurred_at.timestamp() * 1_000_000)
    return Event(
        TimelineItem(kind=kind, on=on, id=row.id, summary=summary),
        (on, KIND_RANK[kind], micros, row.id, 0),
    )


def page_of(events: Sequence[Event], page: PageParams) -> list[TimelineItem]:
    ordered = sorted(events, key=lambda event: event.key, reverse=True)
    return [event.item for event in ordered[page.offset : page.offset + page.limit]]


async def holder_timeline(
    session: AsyncSession, actor: Actor, holder_id: int, page: PageParams, *, zone: ZoneInfo
) -> tuple[list[TimelineItem], int]:
    """The holder's coaching sessions, follow-ups of its enterprises, loan events and
    status changes, newest first; 404 when the holder is missing or out of scope."""
    holder = await get_holder(session, actor, holder_id)
    # Past the largest LIMIT a database takes, "the first offset + limit rows" is every row.
    first = min(page.offset + page.limit, LARGEST_LIMIT)
    events: list[Event] = []
    total = 0
    for rows, to_event in (
        (await session.execute(coaching_sessions(holder.id, first)), coaching_event),
        (await session.execute(follow_ups(holder.id, first)), follow_up_event),
        (await session.execute(loan_events(holder.id, first)), loan_event),
    ):
        fetched = rows.all()
        total += fetched[0].total if fetched else 0
        events.extend(to_event(row) for row in fetched)
    changes = (await session.execute(status_changes(holder.id, first))).all()
    total += changes[0].total if changes else 0
    events.extend(status_change_event(row, zone) for row in changes)
    return page_of(events, page), total
