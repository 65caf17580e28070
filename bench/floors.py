"""The floors the reports are measured against: the tightest hand-written SQL (PostgreSQL)
that computes the same figures as each report, and the comparison of both.

Each floor is one statement run through asyncpg with no ORM, no Pydantic and no HTTP, and
returns its figures in the same normalised shape as a report's JSON (`figures_of`), so
the harness can assert, before timing anything, that the floor and the service agree on
every figure of every group and of the total. A floor that disagrees is a bug in the
floor or in the service; the harness stops either way.

Normalised shape: `{group key as text: {figure: Decimal}}`, the total under `TOTAL`; a
group absent on one side counts as all zeros (a report omits empty groups).
"""

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import asyncpg

from app.core.config import Settings

TOTAL = "(total)"
UNSPECIFIED = "unspecified"
Figures = dict[str, dict[str, Decimal]]

AGING = ("current", "1-30", "31-60", "61-90", "91-180", "181-365", "366+")
# Days past due bounds of each aging bucket, in report order.
AGING_DAYS = ((0, 0), (1, 30), (31, 60), (61, 90), (91, 180), (181, 365), (366, None))

PORTFOLIO_KEYS = {
    "centre": "l.centre_id",
    "gender": "h.gender",
    "adviser": "h.adviser_id",
    "area": "h.area",
    "region": "h.region",
    "sector": "h.sector",
}


async def configure_like_the_service(connection: asyncpg.Connection) -> None:
    """The floor's connection runs with what the service's report connections run with
    (app/core/db.py): JIT off and the reports' `work_mem`. And it gets a plan for its actual
    dates every time (a generic plan for a prepared statement can be far worse on date
    ranges)."""
    await connection.execute("SET plan_cache_mode = force_custom_plan")
    await connection.execute("SET jit = off")
    work_mem = Settings.model_fields["report_work_mem"].default
    await connection.execute("SELECT set_config('work_mem', $1, false)", work_mem)


def _aggregates(dpd: str) -> str:
    """The portfolio figures over rows with `op` (outstanding), `arrears`, `holder_id` and
    a days-past-due expression `dpd` (0 when nothing is overdue)."""
    parts = [
        "count(*) AS active_loans",
        "count(DISTINCT holder_id) AS active_borrowers",
        "coalesce(sum(op), 0) AS outstanding_principal",
        "coalesce(sum(arrears), 0) AS arrears_amount",
    ]
    parts += [
        f"coalesce(sum(op) FILTER (WHERE {dpd} > {days}), 0) AS par{days}_amount"
        for days in (1, 30, 90)
    ]
    for index, (low, high) in enumerate(AGING_DAYS):
        condition = f"{dpd} >= {low}" + ("" if high is None else f" AND {dpd} <= {high}")
        parts.append(f"count(*) FILTER (WHERE {condition}) AS aging{index}_loans")
        parts.append(f"coalesce(sum(op) FILTER (WHERE {condition}), 0) AS aging{index}_amount")
    return ",\n       ".join(parts)


def _grouped(key: str) -> tuple[str, str]:
    """(holders join if the key needs it, key expression)."""
    join = "JOIN holders h ON h.id = p.holder_id" if key.startswith("h.") else ""
    return join, key.replace("l.", "p.")


def portfolio_today_sql(group_by: str, one_centre: bool) -> str:
    """As of today ($1): the loans' summary columns with their folded arrears
    (`overdue_amount`), plus what the installments due since the fold still owe: for the
    loans folded at the latest fold date F, the unpaid installments due in [F, $1); for
    the others, those due from their own `overdue_through` (or from the first)."""
    join, key = _grouped(PORTFOLIO_KEYS[group_by])
    centre = "AND l.centre_id = $2" if one_centre else ""
    unpaid = "i.principal_due + i.interest_due - i.principal_paid - i.interest_paid"
    return f"""
WITH latest AS (
  SELECT max(overdue_through) AS f FROM loans WHERE status = 'active'
), p AS (
  SELECT l.id, l.centre_id, l.holder_id, l.outstanding_principal AS op, l.overdue_amount,
         l.overdue_through,
         CASE WHEN l.oldest_unpaid_due_on < $1 THEN l.oldest_unpaid_due_on END AS oldest
  FROM loans l
  WHERE l.status = 'active' AND l.disbursed_on <= $1 {centre}
), since_latest AS (
  SELECT i.loan_id, sum({unpaid}) AS amount
  FROM installments i
  WHERE i.paid_off_on IS NULL AND i.due_on < $1 AND i.due_on >= (SELECT f FROM latest)
  GROUP BY i.loan_id
), since_own AS (
  SELECT i.loan_id, sum({unpaid}) AS amount
  FROM loans l JOIN installments i ON i.loan_id = l.id
  WHERE l.status = 'active' AND l.oldest_unpaid_due_on < $1 {centre}
    AND (l.overdue_through IS NULL OR l.overdue_through < (SELECT f FROM latest))
    AND i.paid_off_on IS NULL AND i.due_on < $1
    AND i.due_on >= coalesce(l.overdue_through, '-infinity'::date)
  GROUP BY i.loan_id
), rows AS (
  SELECT {key} AS key, p.holder_id, p.op,
         p.overdue_amount + coalesce(s.amount, o.amount, 0) AS arrears,
         coalesce($1 - p.oldest, 0) AS dpd
  FROM p
  LEFT JOIN since_latest s ON s.loan_id = p.id AND p.overdue_through = (SELECT f FROM latest)
  LEFT JOIN since_own o ON o.loan_id = p.id {join}
)
SELECT GROUPING(key) AS is_total, key,
       {_aggregates("dpd")}
FROM rows GROUP BY GROUPING SETS ((key), ())
"""


def portfolio_today_unfolded_sql(group_by: str, one_centre: bool) -> str:
    """As of today ($1), without the folded arrears: the loans' summary columns, plus the
    still-unpaid overdue installments of the loans whose oldest unpaid installment is due
    before today (the report's statement before arrears were folded into the loan row)."""
    join, key = _grouped(PORTFOLIO_KEYS[group_by])
    centre = "AND l.centre_id = $2" if one_centre else ""
    return f"""
WITH p AS (
  SELECT l.id, l.centre_id, l.holder_id, l.outstanding_principal AS op,
         CASE WHEN l.oldest_unpaid_due_on < $1 THEN l.oldest_unpaid_due_on END AS oldest
  FROM loans l
  WHERE l.status = 'active' AND l.disbursed_on <= $1 {centre}
), arrears AS (
  SELECT i.loan_id, sum(i.principal_due + i.interest_due - i.principal_paid - i.interest_paid)
           AS amount
  FROM loans l JOIN installments i ON i.loan_id = l.id
  WHERE l.status = 'active' AND l.oldest_unpaid_due_on < $1 {centre}
    AND i.paid_off_on IS NULL AND i.due_on < $1
  GROUP BY i.loan_id
), rows AS (
  SELECT {key} AS key, p.holder_id, p.op, coalesce(a.amount, 0) AS arrears,
         coalesce($1 - p.oldest, 0) AS dpd
  FROM p LEFT JOIN arrears a ON a.loan_id = p.id {join}
)
SELECT GROUPING(key) AS is_total, key,
       {_aggregates("dpd")}
FROM rows GROUP BY GROUPING SETS ((key), ())
"""


def portfolio_past_sql(group_by: str, one_centre: bool) -> str:
    """As of a past date ($1): today's stored state minus what was paid after $1.

    - outstanding at $1 = principal - principal paid today + principal allocated after $1;
    - an installment is overdue at $1 when due before $1 and not paid off by $1
      (`paid_off_on` NULL or after $1); only loans in arrears today, loans paid after $1
      or no longer active can hold one, so only their installments are read;
    - its unpaid part at $1 = its unpaid part today + what was allocated to it after $1.
    """
    join, key = _grouped(PORTFOLIO_KEYS[group_by])
    centre = "AND l.centre_id = $2" if one_centre else ""
    late_centre = "JOIN loans l ON l.id = a.loan_id AND l.centre_id = $2" if one_centre else ""
    return f"""
WITH late AS (
  SELECT a.loan_id, a.installment_id, a.principal, a.interest
  FROM allocations a {late_centre}
  WHERE a.paid_on > $1
), late_by_loan AS (
  SELECT loan_id, sum(principal) AS principal FROM late GROUP BY loan_id
), p AS (
  SELECT l.id, l.centre_id, l.holder_id,
         l.principal - l.paid_principal + coalesce(lb.principal, 0) AS op,
         (l.oldest_unpaid_due_on < $1 OR lb.loan_id IS NOT NULL OR l.status <> 'active')
           AS may_be_late
  FROM loans l LEFT JOIN late_by_loan lb ON lb.loan_id = l.id
  WHERE l.disbursed_on <= $1 {centre}
    AND (l.closed_on IS NULL OR l.closed_on > $1)
    AND (l.written_off_on IS NULL OR l.written_off_on > $1)
), overdue AS (
  SELECT i.loan_id, min(i.due_on) AS oldest,
         sum(i.principal_due + i.interest_due - i.principal_paid - i.interest_paid) AS unpaid
  FROM p JOIN installments i ON i.loan_id = p.id
  WHERE p.may_be_late AND i.due_on < $1 AND (i.paid_off_on IS NULL OR i.paid_off_on > $1)
    AND i.principal_due + i.interest_due > 0
  GROUP BY i.loan_id
), paid_late AS (
  SELECT late.loan_id, sum(late.principal + late.interest) AS amount
  FROM late JOIN installments i ON i.id = late.installment_id
  WHERE i.due_on < $1
  GROUP BY late.loan_id
), rows AS (
  SELECT {key} AS key, p.holder_id, p.op,
         coalesce(o.unpaid, 0) + coalesce(pl.amount, 0) AS arrears,
         coalesce($1 - o.oldest, 0) AS dpd
  FROM p LEFT JOIN overdue o ON o.loan_id = p.id
         LEFT JOIN paid_late pl ON pl.loan_id = p.id {join}
)
SELECT GROUPING(key) AS is_total, key,
       {_aggregates("dpd")}
FROM rows GROUP BY GROUPING SETS ((key), ())
"""


def portfolio_open_installments_sql(group_by: str, one_centre: bool) -> str:
    """As of any date ($1), from the history alone: the installments of the loans
    outstanding at $1 that were not paid off by then (`paid_off_on` NULL or after $1), less
    what was allocated to them by $1 (a second way to the same figures; the faster of the
    two is the floor)."""
    join, key = _grouped(PORTFOLIO_KEYS[group_by])
    centre = "AND l.centre_id = $2" if one_centre else ""
    return f"""
WITH p AS (
  SELECT l.id, l.centre_id, l.holder_id FROM loans l
  WHERE l.disbursed_on <= $1 {centre}
    AND (l.closed_on IS NULL OR l.closed_on > $1)
    AND (l.written_off_on IS NULL OR l.written_off_on > $1)
), open AS (
  SELECT i.id, i.loan_id, i.due_on, i.principal_due, i.interest_due
  FROM p JOIN installments i ON i.loan_id = p.id
  WHERE i.paid_off_on IS NULL OR i.paid_off_on > $1
), paid AS (
  SELECT a.installment_id, sum(a.principal) AS principal,
         sum(a.principal + a.interest) AS total
  FROM open JOIN allocations a ON a.installment_id = open.id
  WHERE a.paid_on <= $1
  GROUP BY a.installment_id
), per_loan AS (
  SELECT o.loan_id, sum(o.principal_due - coalesce(pd.principal, 0)) AS op,
         sum(CASE WHEN o.due_on < $1
                  THEN o.principal_due + o.interest_due - coalesce(pd.total, 0) ELSE 0 END)
           AS arrears,
         min(o.due_on) FILTER (WHERE o.due_on < $1 AND o.principal_due + o.interest_due > 0)
           AS oldest
  FROM open o LEFT JOIN paid pd ON pd.installment_id = o.id
  GROUP BY o.loan_id
), rows AS (
  SELECT {key} AS key, p.holder_id, coalesce(pl.op, 0) AS op,
         coalesce(pl.arrears, 0) AS arrears, coalesce($1 - pl.oldest, 0) AS dpd
  FROM p LEFT JOIN per_loan pl ON pl.loan_id = p.id {join}
)
SELECT GROUPING(key) AS is_total, key,
       {_aggregates("dpd")}
FROM rows GROUP BY GROUPING SETS ((key), ())
"""


def portfolio_movements_sql(group_by: str, one_centre: bool) -> str:
    """As `portfolio_open_installments_sql`, with the amounts owed and paid as one stream
    of signed rows summed once per loan (no per-installment grouping)."""
    join, key = _grouped(PORTFOLIO_KEYS[group_by])
    centre = "AND l.centre_id = $2" if one_centre else ""
    return f"""
WITH p AS (
  SELECT l.id, l.centre_id, l.holder_id FROM loans l
  WHERE l.disbursed_on <= $1 {centre}
    AND (l.closed_on IS NULL OR l.closed_on > $1)
    AND (l.written_off_on IS NULL OR l.written_off_on > $1)
), movements AS (
  SELECT i.loan_id, i.principal_due AS principal,
         CASE WHEN i.due_on < $1 THEN i.principal_due + i.interest_due ELSE 0 END AS past_due,
         CASE WHEN i.due_on < $1 AND i.principal_due + i.interest_due > 0 THEN i.due_on END
           AS overdue_on
  FROM p JOIN installments i ON i.loan_id = p.id
  WHERE i.paid_off_on IS NULL OR i.paid_off_on > $1
  UNION ALL
  SELECT i.loan_id, -a.principal,
         CASE WHEN i.due_on < $1 THEN -(a.principal + a.interest) ELSE 0 END, NULL
  FROM p JOIN installments i ON i.loan_id = p.id
         JOIN allocations a ON a.installment_id = i.id
  WHERE (i.paid_off_on IS NULL OR i.paid_off_on > $1) AND a.paid_on <= $1
), per_loan AS (
  SELECT loan_id, sum(principal) AS op, sum(past_due) AS arrears, min(overdue_on) AS oldest
  FROM movements GROUP BY loan_id
), rows AS (
  SELECT {key} AS key, p.holder_id, coalesce(pl.op, 0) AS op,
         coalesce(pl.arrears, 0) AS arrears, coalesce($1 - pl.oldest, 0) AS dpd
  FROM p LEFT JOIN per_loan pl ON pl.loan_id = p.id {join}
)
SELECT GROUPING(key) AS is_total, key,
       {_aggregates("dpd")}
FROM rows GROUP BY GROUPING SETS ((key), ())
"""


def portfolio_delta_sql(group_by: str, one_centre: bool) -> str:
    """As of a past date ($1): today's state minus what was paid after $1, reading only
    the allocations dated after $1 (which carry their installment's due date) and the
    installments unpaid today that fell due before $1 (the partial index on unpaid
    installments): no other installment is read."""
    join, key = _grouped(PORTFOLIO_KEYS[group_by])
    centre = "AND l.centre_id = $2" if one_centre else ""
    return f"""
WITH p AS (
  SELECT l.id, l.centre_id, l.holder_id, l.principal - l.paid_principal AS base
  FROM loans l
  WHERE l.disbursed_on <= $1 {centre}
    AND (l.closed_on IS NULL OR l.closed_on > $1)
    AND (l.written_off_on IS NULL OR l.written_off_on > $1)
), movements AS (
  SELECT a.loan_id, a.principal AS later,
         CASE WHEN a.due_on < $1 THEN a.principal + a.interest ELSE 0 END AS past_due,
         CASE WHEN a.due_on < $1 THEN a.due_on END AS overdue_on
  FROM p JOIN allocations a ON a.loan_id = p.id
  WHERE a.paid_on > $1
  UNION ALL
  SELECT i.loan_id, 0,
         i.principal_due + i.interest_due - i.principal_paid - i.interest_paid, i.due_on
  FROM p JOIN installments i ON i.loan_id = p.id
  WHERE i.paid_off_on IS NULL AND i.due_on < $1
), per_loan AS (
  SELECT loan_id, sum(later) AS later, sum(past_due) AS arrears, min(overdue_on) AS oldest
  FROM movements GROUP BY loan_id
), rows AS (
  SELECT {key} AS key, p.holder_id, p.base + coalesce(pl.later, 0) AS op,
         coalesce(pl.arrears, 0) AS arrears, coalesce($1 - pl.oldest, 0) AS dpd
  FROM p LEFT JOIN per_loan pl ON pl.loan_id = p.id {join}
)
SELECT GROUPING(key) AS is_total, key,
       {_aggregates("dpd")}
FROM rows GROUP BY GROUPING SETS ((key), ())
"""


def portfolio_stored_month_end_sql(group_by: str, one_centre: bool) -> str:
    """As of a stored month end ($1): the positions stored for it (`month_end_positions`,
    one row per loan outstanding then), aggregated; gives the service's figures only for a
    month end that `tracker month-ends store` has stored."""
    join, key = _grouped(PORTFOLIO_KEYS[group_by])
    centre = "AND m.centre_id = $2" if one_centre else ""
    return f"""
WITH p AS (
  SELECT m.centre_id, m.holder_id, m.outstanding_principal AS op,
         m.arrears_amount AS arrears, coalesce($1 - m.oldest_overdue_due_on, 0) AS dpd
  FROM month_end_positions m
  WHERE m.month_end = $1 {centre}
), rows AS (
  SELECT {key} AS key, p.holder_id, p.op, p.arrears, p.dpd FROM p {join}
)
SELECT GROUPING(key) AS is_total, key,
       {_aggregates("dpd")}
FROM rows GROUP BY GROUPING SETS ((key), ())
"""


def portfolio_from_month_end_sql(group_by: str, one_centre: bool) -> str:
    """As of a date ($1) of a month whose end is stored: the positions stored at that month
    end minus what was paid after $1 (principal back into the outstanding; the amounts
    owed at the month end by due date, plus what was paid after $1 on installments due
    before $1, give the arrears), and the ledger delta from today for the loans repaid or
    written off between $1 and the month end. Gives the service's figures only when that
    month end is stored."""
    join, key = _grouped(PORTFOLIO_KEYS[group_by])
    stored_centre = "AND m.centre_id = $2" if one_centre else ""
    centre = "AND l.centre_id = $2" if one_centre else ""
    # The end of $1's month, folded to a constant when the plan is made for $1.
    me = "(date_trunc('month', $1::date::timestamp) + interval '1 month - 1 day')::date"
    return f"""
WITH base AS (
  SELECT m.loan_id, m.centre_id, m.holder_id, m.outstanding_principal AS op
  FROM month_end_positions m
  WHERE m.month_end = {me} AND m.disbursed_on <= $1 {stored_centre}
), moves AS (
  SELECT a.loan_id, a.principal AS later,
         CASE WHEN a.due_on < $1 THEN a.principal + a.interest ELSE 0 END AS past_due,
         CASE WHEN a.due_on < $1 THEN a.due_on END AS overdue_on
  FROM base JOIN allocations a ON a.loan_id = base.loan_id
  WHERE a.paid_on > $1 AND a.paid_on <= {me}
  UNION ALL
  SELECT o.loan_id, 0, o.unpaid_amount, o.due_on
  FROM month_end_overdue o
  WHERE o.month_end = {me} AND o.due_on < $1 {stored_centre.replace("m.", "o.")}
), per_loan AS (
  SELECT loan_id, sum(later) AS later, sum(past_due) AS arrears, min(overdue_on) AS oldest
  FROM moves GROUP BY loan_id
), ended AS (
  SELECT l.id, l.centre_id, l.holder_id, l.principal - l.paid_principal AS base
  FROM loans l
  WHERE l.disbursed_on <= $1 {centre}
    AND ((l.closed_on > $1 AND l.closed_on <= {me})
         OR (l.written_off_on > $1 AND l.written_off_on <= {me}))
), ended_moves AS (
  SELECT a.loan_id, a.principal AS later,
         CASE WHEN a.due_on < $1 THEN a.principal + a.interest ELSE 0 END AS past_due,
         CASE WHEN a.due_on < $1 THEN a.due_on END AS overdue_on
  FROM ended JOIN allocations a ON a.loan_id = ended.id
  WHERE a.paid_on > $1
  UNION ALL
  SELECT i.loan_id, 0,
         i.principal_due + i.interest_due - i.principal_paid - i.interest_paid, i.due_on
  FROM ended JOIN installments i ON i.loan_id = ended.id
  WHERE i.paid_off_on IS NULL AND i.due_on < $1
), ended_per_loan AS (
  SELECT loan_id, sum(later) AS later, sum(past_due) AS arrears, min(overdue_on) AS oldest
  FROM ended_moves GROUP BY loan_id
), p AS (
  SELECT b.centre_id, b.holder_id, b.op + coalesce(pl.later, 0) AS op,
         coalesce(pl.arrears, 0) AS arrears, coalesce($1 - pl.oldest, 0) AS dpd
  FROM base b LEFT JOIN per_loan pl ON pl.loan_id = b.loan_id
  UNION ALL
  SELECT e.centre_id, e.holder_id, e.base + coalesce(el.later, 0),
         coalesce(el.arrears, 0), coalesce($1 - el.oldest, 0)
  FROM ended e LEFT JOIN ended_per_loan el ON el.loan_id = e.id
), rows AS (
  SELECT {key} AS key, p.holder_id, p.op, p.arrears, p.dpd FROM p {join}
)
SELECT GROUPING(key) AS is_total, key,
       {_aggregates("dpd")}
FROM rows GROUP BY GROUPING SETS ((key), ())
"""


def portfolio_par30_sql() -> str:
    """The PAR30-only query over the summary columns: the cheapest portfolio figure."""
    return """
SELECT l.centre_id, sum(l.outstanding_principal) FILTER (WHERE l.oldest_unpaid_due_on < $1::date - 30),
       sum(l.outstanding_principal)
FROM loans l WHERE l.status = 'active' AND l.disbursed_on <= $1
GROUP BY l.centre_id
"""


FLOWS_SQL = """
WITH movements AS (
  SELECT disbursed_on AS day, 1 AS dc, principal AS da, 0 AS cp, 0 AS ci, 0 AS wo, 0 AS lc,
         0 AS ad, 0 AS ot
  FROM loans WHERE disbursed_on BETWEEN $1 AND $2
  UNION ALL
  SELECT written_off_on, 0, 0, 0, 0, coalesce(written_off_amount, 0), 0, 0, 0
  FROM loans WHERE written_off_on BETWEEN $1 AND $2
  UNION ALL
  SELECT closed_on, 0, 0, 0, 0, 0, 1, 0, 0
  FROM loans WHERE status = 'repaid' AND closed_on BETWEEN $1 AND $2
  UNION ALL
  SELECT paid_on, 0, 0, principal, interest, 0, 0, 0, 0
  FROM allocations WHERE paid_on BETWEEN $1 AND $2
  UNION ALL
  -- Dues; an installment paid off by its due date was collected on time in full.
  SELECT i.due_on, 0, 0, 0, 0, 0, 0, i.principal_due + i.interest_due,
         CASE WHEN i.paid_off_on <= i.due_on THEN i.principal_due + i.interest_due ELSE 0 END
  FROM installments i JOIN loans l ON l.id = i.loan_id
  WHERE i.due_on BETWEEN $1 AND $2
    AND (l.written_off_on IS NULL OR i.due_on < l.written_off_on)
  UNION ALL
  -- The others: what was allocated to them by their due date.
  SELECT i.due_on, 0, 0, 0, 0, 0, 0, 0, a.principal + a.interest
  FROM installments i JOIN loans l ON l.id = i.loan_id
       JOIN allocations a ON a.installment_id = i.id AND a.paid_on <= i.due_on
  WHERE i.due_on BETWEEN $1 AND $2 AND (i.paid_off_on IS NULL OR i.paid_off_on > i.due_on)
    AND (l.written_off_on IS NULL OR i.due_on < l.written_off_on)
)
SELECT date_trunc('month', day)::date AS key,
       sum(dc) AS disbursed_count, sum(da) AS disbursed_amount,
       sum(cp) AS collected_principal, sum(ci) AS collected_interest,
       sum(wo) AS written_off_amount, sum(lc) AS loans_closed,
       sum(ad) AS amount_due, sum(ot) AS collected_on_time
FROM movements GROUP BY 1
"""

FLOWS_JOIN_SQL = """
WITH movements AS (
  SELECT disbursed_on AS day, 1 AS dc, principal AS da, 0 AS cp, 0 AS ci, 0 AS wo, 0 AS lc,
         0 AS ad, 0 AS ot
  FROM loans WHERE disbursed_on BETWEEN $1 AND $2
  UNION ALL
  SELECT written_off_on, 0, 0, 0, 0, coalesce(written_off_amount, 0), 0, 0, 0
  FROM loans WHERE written_off_on BETWEEN $1 AND $2
  UNION ALL
  SELECT closed_on, 0, 0, 0, 0, 0, 1, 0, 0
  FROM loans WHERE status = 'repaid' AND closed_on BETWEEN $1 AND $2
  UNION ALL
  SELECT paid_on, 0, 0, principal, interest, 0, 0, 0, 0
  FROM allocations WHERE paid_on BETWEEN $1 AND $2
  UNION ALL
  SELECT i.due_on, 0, 0, 0, 0, 0, 0, i.principal_due + i.interest_due, 0
  FROM installments i JOIN loans l ON l.id = i.loan_id
  WHERE i.due_on BETWEEN $1 AND $2
    AND (l.written_off_on IS NULL OR i.due_on < l.written_off_on)
  UNION ALL
  SELECT i.due_on, 0, 0, 0, 0, 0, 0, 0, a.principal + a.interest
  FROM allocations a JOIN installments i ON i.id = a.installment_id
       JOIN loans l ON l.id = i.loan_id
  WHERE i.due_on BETWEEN $1 AND $2 AND a.paid_on <= i.due_on
    AND (l.written_off_on IS NULL OR i.due_on < l.written_off_on)
)
SELECT date_trunc('month', day)::date AS key,
       sum(dc) AS disbursed_count, sum(da) AS disbursed_amount,
       sum(cp) AS collected_principal, sum(ci) AS collected_interest,
       sum(wo) AS written_off_amount, sum(lc) AS loans_closed,
       sum(ad) AS amount_due, sum(ot) AS collected_on_time
FROM movements GROUP BY 1
"""

FLOWS_DUE_ON_SQL = """
WITH movements AS (
  SELECT disbursed_on AS day, 1 AS dc, principal AS da, 0 AS cp, 0 AS ci, 0 AS wo, 0 AS lc,
         0 AS ad, 0 AS ot
  FROM loans WHERE disbursed_on BETWEEN $1 AND $2
  UNION ALL
  SELECT written_off_on, 0, 0, 0, 0, coalesce(written_off_amount, 0), 0, 0, 0
  FROM loans WHERE written_off_on BETWEEN $1 AND $2
  UNION ALL
  SELECT closed_on, 0, 0, 0, 0, 0, 1, 0, 0
  FROM loans WHERE status = 'repaid' AND closed_on BETWEEN $1 AND $2
  UNION ALL
  SELECT paid_on, 0, 0, principal, interest, 0, 0, 0, 0
  FROM allocations WHERE paid_on BETWEEN $1 AND $2
  UNION ALL
  SELECT i.due_on, 0, 0, 0, 0, 0, 0, i.principal_due + i.interest_due, 0
  FROM installments i JOIN loans l ON l.id = i.loan_id
  WHERE i.due_on BETWEEN $1 AND $2
    AND (l.written_off_on IS NULL OR i.due_on < l.written_off_on)
  UNION ALL
  -- Collected on time: the allocations paid by their own installment's due date.
  SELECT a.due_on, 0, 0, 0, 0, 0, 0, 0, a.principal + a.interest
  FROM allocations a JOIN loans l ON l.id = a.loan_id
  WHERE a.due_on BETWEEN $1 AND $2 AND a.paid_on <= a.due_on
    AND (l.written_off_on IS NULL OR a.due_on < l.written_off_on)
)
SELECT date_trunc('month', day)::date AS key,
       sum(dc) AS disbursed_count, sum(da) AS disbursed_amount,
       sum(cp) AS collected_principal, sum(ci) AS collected_interest,
       sum(wo) AS written_off_amount, sum(lc) AS loans_closed,
       sum(ad) AS amount_due, sum(ot) AS collected_on_time
FROM movements GROUP BY 1
"""

COACHING_KEYS = {"adviser": "s.adviser_id", "kind": "s.kind", "centre": "s.centre_id"}


def coaching_sql(group_by: str) -> str:
    key = COACHING_KEYS[group_by]
    return f"""
WITH s AS (
  SELECT s.id, {key} AS key, s.duration_minutes FROM coaching_sessions s
  WHERE s.held_on BETWEEN $1 AND $2
), counts AS (
  SELECT GROUPING(key) AS is_total, key, count(*) AS sessions,
         sum(duration_minutes) AS minutes
  FROM s GROUP BY GROUPING SETS ((key), ())
), reach AS (
  SELECT GROUPING(s.key) AS is_total, s.key, count(DISTINCT p.holder_id) AS reached,
         count(DISTINCT p.holder_id) FILTER (WHERE h.gender = 'female') AS women
  FROM s JOIN session_participants p ON p.session_id = s.id AND p.attendance = 'present'
         JOIN holders h ON h.id = p.holder_id
  GROUP BY GROUPING SETS ((s.key), ())
)
SELECT c.is_total, c.key, c.sessions, c.minutes, coalesce(r.reached, 0) AS reached,
       coalesce(r.women, 0) AS women
FROM counts c LEFT JOIN reach r
  ON r.is_total = c.is_total AND r.key IS NOT DISTINCT FROM c.key
"""


IMPACT_KEYS = {"centre": ("h.centre_id", "e.centre_id"), "area": ("h.area", "e.area")}


def impact_sql(group_by: str) -> str:
    """Holders' figures and enterprises' figures in one statement (FULL JOIN by key)."""
    holder_key, enterprise_key = IMPACT_KEYS[group_by]
    return f"""
WITH first_session AS (
  SELECT p.holder_id, min(s.held_on) AS first_on
  FROM session_participants p JOIN coaching_sessions s ON s.id = p.session_id
  WHERE p.attendance = 'present'
  GROUP BY p.holder_id
), per_holder AS (
  SELECT {holder_key} AS key, h.enrolled_on <= $1 AS enrolled, f.first_on <= $1 AS coached,
         (f.first_on + interval '6 months')::date <= $1 AS eligible,
         EXISTS (SELECT 1 FROM loans l WHERE l.holder_id = h.id
                   AND l.disbursed_on BETWEEN f.first_on
                                      AND (f.first_on + interval '6 months')::date) AS took
  FROM holders h LEFT JOIN first_session f ON f.holder_id = h.id
  WHERE h.enrolled_on <= $1 OR f.first_on <= $1
), holder_sums AS (
  SELECT GROUPING(key) AS is_total, key,
         count(*) FILTER (WHERE enrolled) AS holders,
         count(*) FILTER (WHERE coached) AS coached_holders,
         count(*) FILTER (WHERE eligible) AS uptake_base,
         count(*) FILTER (WHERE eligible AND took) AS uptake
  FROM per_holder GROUP BY GROUPING SETS ((key), ())
), latest AS (
  SELECT DISTINCT ON (f.enterprise_id) f.enterprise_id, f.employees_count
  FROM follow_ups f
  WHERE f.visited_on <= $1 AND f.employees_count IS NOT NULL
  ORDER BY f.enterprise_id, f.visited_on DESC, f.id DESC
), per_enterprise AS (
  SELECT {enterprise_key} AS key, e.closed_on <= $1 AS closed,
         coalesce(lt.employees_count, e.jobs_at_creation) AS jobs,
         (e.created_on + interval '12 months')::date AS h12,
         (e.created_on + interval '24 months')::date AS h24, e.closed_on
  FROM enterprises e LEFT JOIN latest lt ON lt.enterprise_id = e.id
  WHERE e.created_on <= $1
), enterprise_sums AS (
  SELECT GROUPING(key) AS is_total, key, count(*) AS enterprises_created,
         count(*) FILTER (WHERE closed) AS closed_enterprises,
         count(*) FILTER (WHERE closed IS NOT TRUE) AS active_enterprises,
         coalesce(sum(jobs) FILTER (WHERE closed IS NOT TRUE), 0) AS jobs,
         count(*) FILTER (WHERE h12 <= $1) AS survival_base_12,
         count(*) FILTER (WHERE h12 <= $1 AND (closed_on IS NULL OR closed_on >= h12))
           AS survived_12,
         count(*) FILTER (WHERE h24 <= $1) AS survival_base_24,
         count(*) FILTER (WHERE h24 <= $1 AND (closed_on IS NULL OR closed_on >= h24))
           AS survived_24
  FROM per_enterprise GROUP BY GROUPING SETS ((key), ())
)
SELECT coalesce(hs.is_total, es.is_total) AS is_total, coalesce(hs.key, es.key) AS key,
       hs.holders, hs.coached_holders, hs.uptake_base, hs.uptake,
       es.enterprises_created, es.closed_enterprises, es.active_enterprises, es.jobs,
       es.survival_base_12, es.survived_12, es.survival_base_24, es.survived_24
FROM holder_sums hs FULL JOIN enterprise_sums es
  ON es.is_total = hs.is_total AND es.key IS NOT DISTINCT FROM hs.key
"""


def _key(is_total: int, key: Any) -> str:
    if is_total:
        return TOTAL
    if key is None:
        return UNSPECIFIED
    if isinstance(key, date):
        return key.isoformat()
    return str(key)


def _number(value: Any) -> Decimal:
    return Decimal(0) if value is None else Decimal(str(value))


def _share(numerator: Any, denominator: Any) -> Decimal | None:
    numerator, denominator = _number(numerator), _number(denominator)
    if denominator == 0:
        return None
    share: Decimal = (numerator / denominator).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    return share


def portfolio_rows(records: list[asyncpg.Record]) -> Figures:
    figures: Figures = {}
    for record in records:
        values = {
            name: _number(record[name])
            for name in (
                "active_loans",
                "active_borrowers",
                "outstanding_principal",
                "arrears_amount",
                "par1_amount",
                "par30_amount",
                "par90_amount",
            )
        }
        for index, bucket in enumerate(AGING):
            values[f"{bucket} loans"] = _number(record[f"aging{index}_loans"])
            values[f"{bucket} amount"] = _number(record[f"aging{index}_amount"])
        figures[_key(record["is_total"], record["key"])] = values
    return figures


def portfolio_json(body: Mapping[str, Any]) -> Figures:
    figures: Figures = {}
    for row in [*body["rows"], body["total"]]:
        values = {
            name: _number(row[name])
            for name in (
                "active_loans",
                "active_borrowers",
                "outstanding_principal",
                "arrears_amount",
                "par1_amount",
                "par30_amount",
                "par90_amount",
            )
        }
        for bucket in AGING:
            values[f"{bucket} loans"] = _number(row["aging"][bucket]["loans"])
            values[f"{bucket} amount"] = _number(row["aging"][bucket]["outstanding_principal"])
        figures[TOTAL if row["key"] is None else str(row["key"])] = values
    return figures


FLOW_FIGURES = (
    "disbursed_count",
    "disbursed_amount",
    "collected_principal",
    "collected_interest",
    "written_off_amount",
    "loans_closed",
    "amount_due",
    "collected_on_time",
)


def flows_rows(records: list[asyncpg.Record]) -> Figures:
    figures: Figures = {}
    total = dict.fromkeys(FLOW_FIGURES, Decimal(0))
    for record in records:
        values = {name: _number(record[name]) for name in FLOW_FIGURES}
        figures[_key(0, record["key"])] = values
        for name in FLOW_FIGURES:
            total[name] += values[name]
    figures[TOTAL] = total
    return figures


def flows_json(body: Mapping[str, Any]) -> Figures:
    figures: Figures = {}
    for row in [*body["rows"], body["total"]]:
        key = TOTAL if row["period_start"] is None else str(row["period_start"])
        figures[key] = {name: _number(row[name]) for name in FLOW_FIGURES}
    return figures


def coaching_rows(records: list[asyncpg.Record]) -> Figures:
    figures: Figures = {}
    for record in records:
        hours = (_number(record["minutes"]) / 60).quantize(Decimal("0.01"), ROUND_HALF_UP)
        share = _share(record["women"], record["reached"])
        figures[_key(record["is_total"], record["key"])] = {
            "sessions": _number(record["sessions"]),
            "hours": hours,
            "holders_reached": _number(record["reached"]),
            "female_share": Decimal(-1) if share is None else share,
        }
    return figures


def coaching_json(body: Mapping[str, Any]) -> Figures:
    figures: Figures = {}
    for row in [*body["rows"], body["total"]]:
        share = row["female_share"]
        figures[TOTAL if row["key"] is None else str(row["key"])] = {
            "sessions": _number(row["sessions"]),
            "hours": _number(row["hours"]),
            "holders_reached": _number(row["holders_reached"]),
            "female_share": Decimal(-1) if share is None else _number(share),
        }
    return figures


IMPACT_COUNTS = (
    "holders",
    "coached_holders",
    "enterprises_created",
    "closed_enterprises",
    "active_enterprises",
    "jobs",
)
IMPACT_RATES = {
    "survival_rate_12m": ("survived_12", "survival_base_12"),
    "survival_rate_24m": ("survived_24", "survival_base_24"),
    "loan_uptake_6m": ("uptake", "uptake_base"),
}


def impact_rows(records: list[asyncpg.Record]) -> Figures:
    figures: Figures = {}
    for record in records:
        values = {name: _number(record[name]) for name in IMPACT_COUNTS}
        for rate, (numerator, denominator) in IMPACT_RATES.items():
            share = _share(record[numerator], record[denominator])
            values[rate] = Decimal(-1) if share is None else share
        figures[_key(record["is_total"], record["key"])] = values
    return figures


def impact_json(body: Mapping[str, Any]) -> Figures:
    figures: Figures = {}
    for row in [*body["rows"], body["total"]]:
        values = {name: _number(row[name]) for name in IMPACT_COUNTS}
        for rate in IMPACT_RATES:
            values[rate] = Decimal(-1) if row[rate] is None else _number(row[rate])
        figures[TOTAL if row["key"] is None else str(row["key"])] = values
    return figures


def differences(service: Figures, floor: Figures) -> list[str]:
    """Every figure on which the two disagree (a missing group counts as zeros)."""
    found = []
    for key in sorted(service.keys() | floor.keys()):
        ours, theirs = service.get(key, {}), floor.get(key, {})
        for name in sorted(ours.keys() | theirs.keys()):
            left, right = ours.get(name, Decimal(0)), theirs.get(name, Decimal(0))
            if left != right:
                found.append(f"{key} {name}: service {left}, floor {right}")
    return found


async def fetch(connection: asyncpg.Connection, sql: str, *args: Any) -> list[asyncpg.Record]:
    return list(await connection.fetch(sql, *args))
