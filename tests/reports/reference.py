"""The reports computed in plain Python from the definitions of docs/ARITHMETIC.md, row by row.

Written independently of the SQL in app/reports: it loads whole tables with plain
`select(Model)` and follows "Money and portfolio arithmetic" literally, using
`app.loans.ledger.position_as_of` (independently tested) for each loan's position.
The output has the exact JSON shape of the API, so tests compare with `==`.
"""

import calendar
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.coaching.models import CoachingSession, SessionParticipant
from app.enterprises.models import Enterprise, EnterpriseOwner
from app.followups.models import FollowUp
from app.holders.models import Holder
from app.loans import ledger
from app.loans.models import Allocation, Installment, Lender, Loan, LoanProduct
from app.reports.labels import humanise
from app.users.models import User

ZERO = Decimal("0.00")
Json = dict[str, Any]
BUCKETS = ["current", "1-30", "31-60", "61-90", "91-180", "181-365", "366+"]


@dataclass
class Snapshot:
    centres: dict[int, Centre]
    users: dict[int, User]
    lenders: dict[int, Lender]
    products: dict[int, LoanProduct]
    holders: dict[int, Holder]
    enterprises: dict[int, Enterprise]
    owners: dict[int, list[int]]
    loans: dict[int, Loan]
    installments: dict[int, list[Installment]]
    allocations: dict[int, list[Allocation]]
    sessions: dict[int, CoachingSession]
    attended: dict[int, list[int]]  # session id -> holders marked present
    follow_ups: dict[int, list[FollowUp]]


async def _all(session: AsyncSession, model: Any) -> list[Any]:
    return list((await session.execute(select(model))).scalars())


async def load_snapshot(session: AsyncSession) -> Snapshot:
    owners: dict[int, list[int]] = defaultdict(list)
    for owner in await _all(session, EnterpriseOwner):
        owners[owner.enterprise_id].append(owner.holder_id)
    installments: dict[int, list[Installment]] = defaultdict(list)
    for installment in await _all(session, Installment):
        installments[installment.loan_id].append(installment)
    allocations: dict[int, list[Allocation]] = defaultdict(list)
    for allocation in await _all(session, Allocation):
        allocations[allocation.loan_id].append(allocation)
    attended: dict[int, list[int]] = defaultdict(list)
    for participant in await _all(session, SessionParticipant):
        # A holder marked absent took no part: neither reached nor coached by the session.
        if participant.attendance == "present":
            attended[participant.session_id].append(participant.holder_id)
    follow_ups: dict[int, list[FollowUp]] = defaultdict(list)
    for follow_up in await _all(session, FollowUp):
        follow_ups[follow_up.enterprise_id].append(follow_up)
    return Snapshot(
        centres={c.id: c for c in await _all(session, Centre)},
        users={u.id: u for u in await _all(session, User)},
        lenders={x.id: x for x in await _all(session, Lender)},
        products={x.id: x for x in await _all(session, LoanProduct)},
        holders={h.id: h for h in await _all(session, Holder)},
        enterprises={e.id: e for e in await _all(session, Enterprise)},
        owners=owners,
        loans={loan.id: loan for loan in await _all(session, Loan)},
        installments=installments,
        allocations=allocations,
        sessions={s.id: s for s in await _all(session, CoachingSession)},
        attended=attended,
        follow_ups=follow_ups,
    )


# --- arithmetic and formatting ---------------------------------------------------------


def money(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def ratio(numerator: Decimal | int, denominator: Decimal | int) -> str | None:
    if denominator == 0:
        return None
    value = Decimal(numerator) / Decimal(denominator)
    return str(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def plus_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def age_at(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def age_band(birth: date, day: date) -> str:
    age = age_at(birth, day)
    if age < 18:
        return "unspecified"
    if age <= 24:
        return "18-24"
    if age <= 29:
        return "25-29"
    if age <= 35:
        return "30-35"
    return "36+"


def ordered(groups: Iterable[Any]) -> list[Any]:
    """Ids numerically, then text keys alphabetically, `unspecified` last."""

    def sort_key(key: Any) -> tuple[int, int, str]:
        if isinstance(key, int):
            return (0, key, "")
        return (2 if key == "unspecified" else 1, 0, key)

    return sorted(groups, key=sort_key)


def in_scope(centre_id: int, scope: int | None) -> bool:
    return scope is None or centre_id == scope


# --- portfolio --------------------------------------------------------------------------


def loan_position(snap: Snapshot, loan: Loan, as_of: date) -> ledger.Position:
    rows = sorted(snap.installments[loan.id], key=lambda i: i.seq)
    seq_of = {row.id: row.seq for row in rows}
    dues = [ledger.InstallmentDue(r.seq, r.due_on, r.principal_due, r.interest_due) for r in rows]
    allocations = [
        ledger.Allocation(
            a.transaction_id, seq_of[a.installment_id], a.paid_on, a.principal, a.interest
        )
        for a in snap.allocations[loan.id]
    ]
    ends = [d for d in (loan.closed_on, loan.written_off_on) if d is not None]
    return ledger.position_as_of(
        dues,
        allocations,
        as_of,
        principal=loan.principal,
        disbursed_on=loan.disbursed_on,
        ended_on=min(ends, default=None),
    )


def is_outstanding(loan: Loan, as_of: date) -> bool:
    if loan.disbursed_on is None or loan.disbursed_on > as_of:
        return False
    if loan.closed_on is not None and loan.closed_on <= as_of:
        return False
    return not (loan.written_off_on is not None and loan.written_off_on <= as_of)


def _portfolio_group(snap: Snapshot, loan: Loan, group_by: str, as_of: date) -> tuple[Any, str]:
    holder = snap.holders[loan.holder_id]
    if group_by == "centre":
        return loan.centre_id, snap.centres[loan.centre_id].name
    if group_by == "lender":
        return loan.lender_id, snap.lenders[loan.lender_id].name
    if group_by == "product":
        return loan.product_id, snap.products[loan.product_id].name
    if group_by == "adviser":
        if holder.adviser_id is None:
            return "unspecified", "Unspecified"
        return holder.adviser_id, snap.users[holder.adviser_id].full_name
    if group_by == "age_band":
        key = age_band(holder.birth_date, as_of)
    else:
        key = getattr(holder, group_by) or "unspecified"
    return key, humanise(key)


def _portfolio_row(key: Any, label: str, items: list[tuple[Loan, ledger.Position]]) -> Json:
    outstanding = sum((p.outstanding_principal for _, p in items), ZERO)
    row: Json = {
        "key": key,
        "label": label,
        "active_loans": len(items),
        "active_borrowers": len({loan.holder_id for loan, _ in items}),
        "outstanding_principal": money(outstanding),
        "arrears_amount": money(sum((p.arrears_amount for _, p in items), ZERO)),
    }
    for days in (1, 30, 90):
        amount = sum((p.outstanding_principal for _, p in items if p.days_past_due > days), ZERO)
        row[f"par{days}_amount"] = money(amount)
    for days in (1, 30, 90):
        amount = sum((p.outstanding_principal for _, p in items if p.days_past_due > days), ZERO)
        row[f"par{days}_ratio"] = ratio(amount, outstanding)
    aging: Json = {}
    for bucket in BUCKETS:
        members = [p for _, p in items if ledger.aging_bucket(p.days_past_due).value == bucket]
        aging[bucket] = {
            "loans": len(members),
            "outstanding_principal": money(sum((p.outstanding_principal for p in members), ZERO)),
        }
    row["aging"] = aging
    return row


def portfolio(snap: Snapshot, as_of: date, group_by: str, centre_id: int | None) -> Json:
    groups: dict[Any, list[tuple[Loan, ledger.Position]]] = defaultdict(list)
    labels: dict[Any, str] = {}
    everything: list[tuple[Loan, ledger.Position]] = []
    for loan in snap.loans.values():
        if not in_scope(loan.centre_id, centre_id) or not is_outstanding(loan, as_of):
            continue
        position = loan_position(snap, loan, as_of)
        key, label = _portfolio_group(snap, loan, group_by, as_of)
        groups[key].append((loan, position))
        labels[key] = label
        everything.append((loan, position))
    return {
        "as_of": as_of.isoformat(),
        "group_by": group_by,
        "centre_id": centre_id,
        "rows": [_portfolio_row(key, labels[key], groups[key]) for key in ordered(groups)],
        "total": _portfolio_row(None, "Total", everything),
    }


# --- flows ------------------------------------------------------------------------------


def period_start(day: date, interval: str) -> date:
    if interval == "year":
        return date(day.year, 1, 1)
    if interval == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, day.month, 1)


def flows(snap: Snapshot, start: date, end: date, interval: str, centre_id: int | None) -> Json:
    step = {"month": 1, "quarter": 3, "year": 12}[interval]
    starts: list[date] = []
    cursor = period_start(start, interval)
    while cursor <= end:
        starts.append(cursor)
        cursor = plus_months(cursor, step)
    figures: dict[date, dict[str, Any]] = {
        s: {
            "disbursed_count": 0,
            "disbursed_amount": ZERO,
            "collected_principal": ZERO,
            "collected_interest": ZERO,
            "written_off_amount": ZERO,
            "loans_closed": 0,
            "amount_due": ZERO,
            "collected_on_time": ZERO,
        }
        for s in starts
    }

    def bucket(day: date | None) -> dict[str, Any] | None:
        if day is None or not start <= day <= end:
            return None
        return figures[period_start(day, interval)]

    for loan in snap.loans.values():
        if not in_scope(loan.centre_id, centre_id):
            continue
        if (f := bucket(loan.disbursed_on)) is not None:
            f["disbursed_count"] += 1
            f["disbursed_amount"] += loan.principal
        if (f := bucket(loan.written_off_on)) is not None:
            f["written_off_amount"] += loan.written_off_amount or ZERO
        if loan.status == "repaid" and (f := bucket(loan.closed_on)) is not None:
            f["loans_closed"] += 1
        for allocation in snap.allocations[loan.id]:
            if (f := bucket(allocation.paid_on)) is not None:
                f["collected_principal"] += allocation.principal
                f["collected_interest"] += allocation.interest
        paid_by_installment: dict[int, list[Allocation]] = defaultdict(list)
        for allocation in snap.allocations[loan.id]:
            paid_by_installment[allocation.installment_id].append(allocation)
        for installment in snap.installments[loan.id]:
            if loan.written_off_on is not None and installment.due_on >= loan.written_off_on:
                continue
            if (f := bucket(installment.due_on)) is None:
                continue
            f["amount_due"] += installment.principal_due + installment.interest_due
            f["collected_on_time"] += sum(
                (
                    a.principal + a.interest
                    for a in paid_by_installment[installment.id]
                    if a.paid_on <= installment.due_on
                ),
                ZERO,
            )

    def shape(key: date | None, values: dict[str, Any]) -> Json:
        return {
            "key": None if key is None else key.isoformat(),
            "label": "Total" if key is None else key.isoformat(),
            "period_start": None if key is None else key.isoformat(),
            "disbursed_count": values["disbursed_count"],
            "disbursed_amount": money(values["disbursed_amount"]),
            "collected_principal": money(values["collected_principal"]),
            "collected_interest": money(values["collected_interest"]),
            "written_off_amount": money(values["written_off_amount"]),
            "loans_closed": values["loans_closed"],
            "amount_due": money(values["amount_due"]),
            "collected_on_time": money(values["collected_on_time"]),
            "on_time_repayment_rate": ratio(values["collected_on_time"], values["amount_due"]),
        }

    total = {name: sum(f[name] for f in figures.values()) for name in figures[starts[0]]}
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "interval": interval,
        "centre_id": centre_id,
        "rows": [shape(s, figures[s]) for s in starts],
        "total": shape(None, total),
    }


# --- coaching ---------------------------------------------------------------------------


def coaching(snap: Snapshot, start: date, end: date, group_by: str, centre_id: int | None) -> Json:
    groups: dict[Any, list[CoachingSession]] = defaultdict(list)
    labels: dict[Any, str] = {}
    chosen: list[CoachingSession] = []
    for item in snap.sessions.values():
        if not in_scope(item.centre_id, centre_id) or not start <= item.held_on <= end:
            continue
        key: int | str
        if group_by == "adviser":
            key, label = item.adviser_id, snap.users[item.adviser_id].full_name
        elif group_by == "centre":
            key, label = item.centre_id, snap.centres[item.centre_id].name
        elif group_by == "kind":
            key, label = item.kind, humanise(item.kind)
        else:
            first = date(item.held_on.year, item.held_on.month, 1).isoformat()
            key, label = first, first
        groups[key].append(item)
        labels[key] = label
        chosen.append(item)

    def row(key: Any, label: str, items: list[CoachingSession]) -> Json:
        minutes = sum(i.duration_minutes for i in items)
        reached = {h for i in items for h in snap.attended[i.id]}
        female = {h for h in reached if snap.holders[h].gender == "female"}
        return {
            "key": key,
            "label": label,
            "sessions": len(items),
            "hours": money(Decimal(minutes) / 60),
            "holders_reached": len(reached),
            "female_share": ratio(len(female), len(reached)),
        }

    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "group_by": group_by,
        "centre_id": centre_id,
        "rows": [row(key, labels[key], groups[key]) for key in ordered(groups)],
        "total": row(None, "Total", chosen),
    }


# --- impact -----------------------------------------------------------------------------


def _enterprise_gender(snap: Snapshot, enterprise: Enterprise) -> str:
    genders = {snap.holders[h].gender for h in snap.owners[enterprise.id]}
    if not genders:
        return "unspecified"
    return genders.pop() if len(genders) == 1 else "mixed"


def _jobs(snap: Snapshot, enterprise: Enterprise, as_of: date) -> int:
    reported = [
        f
        for f in snap.follow_ups[enterprise.id]
        if f.visited_on <= as_of and f.employees_count is not None
    ]
    if not reported:
        return enterprise.jobs_at_creation
    latest = max(reported, key=lambda f: (f.visited_on, f.id))
    assert latest.employees_count is not None
    return latest.employees_count


def impact(snap: Snapshot, as_of: date, group_by: str, centre_id: int | None) -> Json:
    counters: dict[Any, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    labels: dict[Any, str] = {}

    def holder_key(holder: Holder) -> Any:
        if group_by == "centre":
            labels[holder.centre_id] = snap.centres[holder.centre_id].name
            return holder.centre_id
        key = getattr(holder, group_by) or "unspecified"
        labels[key] = humanise(key)
        return key

    def enterprise_key(enterprise: Enterprise) -> Any:
        if group_by == "centre":
            labels[enterprise.centre_id] = snap.centres[enterprise.centre_id].name
            return enterprise.centre_id
        if group_by == "gender":
            key = _enterprise_gender(snap, enterprise)
        else:
            key = getattr(enterprise, group_by) or "unspecified"
        labels[key] = humanise(key)
        return key

    sessions_of: dict[int, list[date]] = defaultdict(list)
    for item in snap.sessions.values():
        for holder_id in snap.attended[item.id]:
            sessions_of[holder_id].append(item.held_on)
    loans_of: dict[int, list[date]] = defaultdict(list)
    for loan in snap.loans.values():
        if loan.disbursed_on is not None:
            loans_of[loan.holder_id].append(loan.disbursed_on)

    for holder in snap.holders.values():
        if not in_scope(holder.centre_id, centre_id):
            continue
        counts = None
        if holder.enrolled_on <= as_of:
            counts = counters[holder_key(holder)]
            counts["holders"] += 1
        held = sessions_of.get(holder.id, [])
        if any(day <= as_of for day in held):
            counts = counters[holder_key(holder)]
            counts["coached_holders"] += 1
            first = min(held)
            window_end = plus_months(first, 6)
            if window_end <= as_of:
                counts["uptake_base"] += 1
                if any(first <= day <= window_end for day in loans_of.get(holder.id, [])):
                    counts["uptake"] += 1

    for enterprise in snap.enterprises.values():
        if not in_scope(enterprise.centre_id, centre_id):
            continue
        created = enterprise.created_on
        if created is None or created > as_of:
            continue
        counts = counters[enterprise_key(enterprise)]
        counts["enterprises_created"] += 1
        closed = enterprise.closed_on is not None and enterprise.closed_on <= as_of
        if closed:
            counts["closed_enterprises"] += 1
        else:
            counts["active_enterprises"] += 1
            counts["jobs"] += _jobs(snap, enterprise, as_of)
        for months in (12, 24):
            horizon = plus_months(created, months)
            if horizon <= as_of:
                counts[f"survival_base_{months}"] += 1
                if enterprise.closed_on is None or enterprise.closed_on >= horizon:
                    counts[f"survived_{months}"] += 1

    def row(key: Any, label: str, counts: dict[str, int]) -> Json:
        return {
            "key": key,
            "label": label,
            "holders": counts["holders"],
            "enterprises_created": counts["enterprises_created"],
            "active_enterprises": counts["active_enterprises"],
            "closed_enterprises": counts["closed_enterprises"],
            "survival_rate_12m": ratio(counts["survived_12"], counts["survival_base_12"]),
            "survival_rate_24m": ratio(counts["survived_24"], counts["survival_base_24"]),
            "jobs": counts["jobs"],
            "coached_holders": counts["coached_holders"],
            "loan_uptake_6m": ratio(counts["uptake"], counts["uptake_base"]),
        }

    total: dict[str, int] = defaultdict(int)
    for counts in counters.values():
        for name, value in counts.items():
            total[name] += value
    return {
        "as_of": as_of.isoformat(),
        "group_by": group_by,
        "centre_id": centre_id,
        "rows": [row(key, labels[key], counters[key]) for key in ordered(counters)],
        "total": row(None, "Total", total),
    }


ReportFunction = Callable[..., Json]
ONE_DAY = timedelta(days=1)


# --- yearly activity and portfolio trend ----------------------------------------------


def _days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += ONE_DAY


def first_record_year(snap: Snapshot, centre_id: int | None) -> int | None:
    days = [h.enrolled_on for h in snap.holders.values() if in_scope(h.centre_id, centre_id)]
    days += [
        e.created_on
        for e in snap.enterprises.values()
        if e.created_on is not None and in_scope(e.centre_id, centre_id)
    ]
    days += [
        loan.disbursed_on
        for loan in snap.loans.values()
        if loan.disbursed_on is not None and in_scope(loan.centre_id, centre_id)
    ]
    days += [s.held_on for s in snap.sessions.values() if in_scope(s.centre_id, centre_id)]
    return min(days).year if days else None


def activity(snap: Snapshot, year: int, today: date, centre_id: int | None) -> Json:
    """The yearly activity report, figure by figure from the definitions in
    `app/reports/activity.py`."""
    first, last = date(year, 1, 1), min(date(year, 12, 31), today)

    def in_year(day: date | None) -> bool:
        return day is not None and first <= day <= last

    supported: set[int] = set()
    for item in snap.sessions.values():
        if in_year(item.held_on):
            supported.update(snap.attended[item.id])
    for loan in snap.loans.values():
        if any(is_outstanding(loan, day) for day in _days(first, last)):
            supported.add(loan.holder_id)
    people = [snap.holders[h] for h in supported if in_scope(snap.holders[h].centre_id, centre_id)]
    by_gender = {"female": 0, "male": 0}
    by_area = {"urban": 0, "rural": 0}
    by_age_band = {band: 0 for band in ("18-24", "25-29", "30-35", "36+", "unspecified")}
    for holder in people:
        by_gender[holder.gender] += 1
        by_area[holder.area] += 1
        by_age_band[age_band(holder.birth_date, last)] += 1
    enrolled = sum(
        1
        for h in snap.holders.values()
        if in_scope(h.centre_id, centre_id) and in_year(h.enrolled_on)
    )

    sectors = [
        "agriculture", "livestock", "agri_food", "handicrafts", "commerce", "services",
        "manufacturing", "construction", "tourism", "ict", "other",
    ]  # fmt: skip
    created = [
        e
        for e in snap.enterprises.values()
        if in_scope(e.centre_id, centre_id) and in_year(e.created_on)
    ]
    enterprise_sectors = dict.fromkeys(sectors, 0)
    enterprise_areas = {"urban": 0, "rural": 0}
    for enterprise in created:
        enterprise_sectors[enterprise.sector] += 1
        enterprise_areas[enterprise.area] += 1

    disbursed = [
        loan
        for loan in snap.loans.values()
        if in_scope(loan.centre_id, centre_id) and in_year(loan.disbursed_on)
    ]

    def split(keys: list[str], key_of: Callable[[Loan], str]) -> Json:
        return {
            key: {
                "count": sum(1 for loan in disbursed if key_of(loan) == key),
                "amount": money(
                    sum((loan.principal for loan in disbursed if key_of(loan) == key), ZERO)
                ),
            }
            for key in keys
        }

    year_flows = flows(snap, first, last, "year", centre_id)["total"]
    year_end = portfolio(snap, last, "centre", centre_id)["total"]
    year_coaching = coaching(snap, first, last, "kind", centre_id)
    by_kind = {
        kind: {"sessions": 0, "hours": "0.00"}
        for kind in ("advice", "follow_up", "evaluation", "training", "business_relations")
    }
    for row in year_coaching["rows"]:
        by_kind[row["key"]] = {"sessions": row["sessions"], "hours": row["hours"]}
    return {
        "year": year,
        "centre_id": centre_id,
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "holders": {
            "enrolled": enrolled,
            "supported": len(people),
            "by_gender": by_gender,
            "by_area": by_area,
            "by_age_band": by_age_band,
        },
        "enterprises": {
            "created": len(created),
            "by_sector": enterprise_sectors,
            "by_area": enterprise_areas,
            "jobs": impact(snap, last, "centre", centre_id)["total"]["jobs"],
        },
        "loans": {
            "disbursed_count": len(disbursed),
            "disbursed_amount": money(sum((loan.principal for loan in disbursed), ZERO)),
            "by_sector": split(
                [*sectors, "unspecified"],
                lambda loan: snap.holders[loan.holder_id].sector or "unspecified",
            ),
            "by_lender": split(
                [str(i) for i in sorted(snap.lenders)], lambda loan: str(loan.lender_id)
            ),
            "lender_names": {str(i): snap.lenders[i].name for i in sorted(snap.lenders)},
            "collected_principal": year_flows["collected_principal"],
            "collected_interest": year_flows["collected_interest"],
            "on_time_repayment_rate": year_flows["on_time_repayment_rate"],
            "par30_ratio_at_year_end": year_end["par30_ratio"],
        },
        "coaching": {
            "sessions": year_coaching["total"]["sessions"],
            "hours": year_coaching["total"]["hours"],
            "holders_reached": year_coaching["total"]["holders_reached"],
            "by_kind": by_kind,
        },
    }


def month_ends_before(today: date, months: int) -> list[date]:
    """The last day of each of the `months` months before today's, oldest first."""
    ends = []
    day = date(today.year, today.month, 1) - ONE_DAY
    for _ in range(months):
        ends.append(day)
        day = date(day.year, day.month, 1) - ONE_DAY
    return ends[::-1]


def trend(snap: Snapshot, months: int, today: date, centre_id: int | None) -> Json:
    points = []
    for day in [*month_ends_before(today, months), today]:
        total = portfolio(snap, day, "centre", centre_id)["total"]
        points.append(
            {
                "as_of": day.isoformat(),
                "active_loans": total["active_loans"],
                "outstanding_principal": total["outstanding_principal"],
                "par30_ratio": total["par30_ratio"],
                "par90_ratio": total["par90_ratio"],
            }
        )
    return {"months": months, "centre_id": centre_id, "points": points}
