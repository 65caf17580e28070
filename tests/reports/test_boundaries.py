"""The boundaries docs/ARITHMETIC.md pins: PAR30 counts 31 days past due, not 30; a payment on the
as-of date counts; a write-off removes the loan from its date on; a reversed payment
counts nowhere. Each on the history path (a past as-of date) and, where it applies, the
current-state path (as of today).

The loans: 1200.00 at 0 %, 12 monthly installments of 100.00, disbursed 2025-01-01, so
installment k is due on the first of month k + 1 of 2025.
"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.holders.models import Holder
from app.loans.models import LoanProduct
from tests.centres.factories import make_centre
from tests.helpers import auth
from tests.holders.factories import make_holder
from tests.loans.factories import make_lender, make_product
from tests.reports.factories import insert_planned_loan
from tests.users.factories import make_user

DISBURSED = date(2025, 1, 1)


async def setup(session: AsyncSession) -> tuple[Holder, LoanProduct, dict[str, Any]]:
    centre = await make_centre(session, name="Centre Anfa")
    holder = await make_holder(session, centre)
    lender = await make_lender(session)
    product = await make_product(session, lender, annual_rate=Decimal("0.00"))
    return holder, product, {"centre": centre}


async def portfolio(
    client: AsyncClient, headers: dict[str, str], as_of: date | None = None
) -> dict[str, Any]:
    params = {} if as_of is None else {"as_of": as_of.isoformat()}
    response = await client.get("/api/v1/reports/portfolio", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def flows(
    client: AsyncClient, headers: dict[str, str], start: date, end: date
) -> dict[str, Any]:
    response = await client.get(
        "/api/v1/reports/flows",
        params={"from": start.isoformat(), "to": end.isoformat()},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def aging_loans(row: dict[str, Any]) -> dict[str, int]:
    return {bucket: cell["loans"] for bucket, cell in row["aging"].items() if cell["loans"]}


async def test_par30_counts_31_days_past_due_not_30(
    session: AsyncSession, client: AsyncClient, settings: Settings
) -> None:
    holder, product, _ = await setup(session)
    await insert_planned_loan(session, holder, product, disbursed_on=DISBURSED)
    headers = auth(await make_user(session, "manager"), settings)
    await session.commit()

    # 2025-02-01 + 30 days = 2025-03-03
    at_30 = (await portfolio(client, headers, date(2025, 3, 3)))["total"]
    assert (at_30["par1_amount"], at_30["par30_amount"]) == ("1200.00", "0.00")
    assert (at_30["par1_ratio"], at_30["par30_ratio"]) == ("1.0000", "0.0000")
    assert aging_loans(at_30) == {"1-30": 1}
    assert at_30["arrears_amount"] == "200.00"  # installments due 02-01 and 03-01

    at_31 = (await portfolio(client, headers, date(2025, 3, 4)))["total"]
    assert (at_31["par30_amount"], at_31["par30_ratio"], at_31["par90_amount"]) == (
        "1200.00",
        "1.0000",
        "0.00",
    )
    assert aging_loans(at_31) == {"31-60": 1}

    on_due_date = (await portfolio(client, headers, date(2025, 2, 1)))["total"]
    assert (on_due_date["par1_amount"], on_due_date["arrears_amount"]) == ("0.00", "0.00")
    assert aging_loans(on_due_date) == {"current": 1}
    day_after = (await portfolio(client, headers, date(2025, 2, 2)))["total"]
    assert (day_after["par1_amount"], day_after["arrears_amount"]) == ("0.00", "100.00")
    assert aging_loans(day_after) == {"1-30": 1}


async def test_par30_boundary_as_of_today(
    session: AsyncSession, client: AsyncClient, settings: Settings
) -> None:
    """The same boundary through the current-state path (loan summary columns)."""
    today = settings.today()
    holder, product, _ = await setup(session)
    thirty = await insert_planned_loan(
        session,
        holder,
        product,
        disbursed_on=today - timedelta(days=40),
        first_due_on=today - timedelta(days=30),
    )
    headers = auth(await make_user(session, "manager"), settings)
    await session.commit()
    assert thirty.oldest_unpaid_due_on == today - timedelta(days=30)
    total = (await portfolio(client, headers))["total"]
    assert (total["par1_amount"], total["par30_amount"]) == ("1200.00", "0.00")
    assert aging_loans(total) == {"1-30": 1}

    other = await make_holder(session, _["centre"])
    await insert_planned_loan(
        session,
        other,
        product,
        disbursed_on=today - timedelta(days=40),
        first_due_on=today - timedelta(days=31),
        principal="600.00",
    )
    await session.commit()
    total = (await portfolio(client, headers))["total"]
    assert (total["outstanding_principal"], total["par30_amount"]) == ("1800.00", "600.00")
    assert total["par30_ratio"] == "0.3333"
    assert aging_loans(total) == {"1-30": 1, "31-60": 1}
    assert total["active_loans"] == 2 and total["active_borrowers"] == 2


async def test_a_payment_on_the_as_of_date_counts(
    session: AsyncSession, client: AsyncClient, settings: Settings
) -> None:
    holder, product, _ = await setup(session)
    await insert_planned_loan(
        session, holder, product, disbursed_on=DISBURSED, payments=[(date(2025, 3, 5), "100.00")]
    )
    headers = auth(await make_user(session, "viewer"), settings)
    await session.commit()

    before = (await portfolio(client, headers, date(2025, 3, 4)))["total"]
    assert (before["outstanding_principal"], before["arrears_amount"]) == ("1200.00", "200.00")
    assert aging_loans(before) == {"31-60": 1}

    on_the_day = (await portfolio(client, headers, date(2025, 3, 5)))["total"]
    assert (on_the_day["outstanding_principal"], on_the_day["arrears_amount"]) == (
        "1100.00",
        "100.00",
    )
    assert aging_loans(on_the_day) == {"1-30": 1}  # now 03-01 is the oldest overdue

    one_day = await flows(client, headers, date(2025, 3, 5), date(2025, 3, 5))
    assert one_day["total"]["collected_principal"] == "100.00"
    assert (await flows(client, headers, date(2025, 3, 6), date(2025, 3, 31)))["total"][
        "collected_principal"
    ] == "0.00"


async def test_a_write_off_removes_the_loan_from_its_date_on(
    session: AsyncSession, client: AsyncClient, settings: Settings
) -> None:
    holder, product, _ = await setup(session)
    await insert_planned_loan(
        session,
        holder,
        product,
        disbursed_on=DISBURSED,
        payments=[(date(2025, 2, 1), "100.00"), (date(2025, 3, 1), "100.00")],
        written_off_on=date(2025, 6, 10),
    )
    headers = auth(await make_user(session, "manager"), settings)
    await session.commit()

    day_before = await portfolio(client, headers, date(2025, 6, 9))
    assert day_before["total"]["active_loans"] == 1
    assert day_before["total"]["outstanding_principal"] == "1000.00"
    # oldest overdue 2025-04-01: 69 days past due
    assert (day_before["total"]["par30_amount"], day_before["total"]["par90_amount"]) == (
        "1000.00",
        "0.00",
    )

    on_the_day = await portfolio(client, headers, date(2025, 6, 10))
    assert on_the_day["rows"] == []
    assert on_the_day["total"]["active_loans"] == 0
    assert on_the_day["total"]["outstanding_principal"] == "0.00"
    assert on_the_day["total"]["par30_ratio"] is None
    assert (await portfolio(client, headers))["total"]["active_loans"] == 0  # as of today

    by_month = await flows(client, headers, date(2025, 5, 1), date(2025, 7, 31))
    may, june, july = by_month["rows"]
    assert june["written_off_amount"] == "1000.00"
    assert (may["written_off_amount"], july["written_off_amount"]) == ("0.00", "0.00")
    # Installments due on or after the write-off date are no longer due.
    assert (may["amount_due"], june["amount_due"], july["amount_due"]) == (
        "100.00",
        "100.00",
        "0.00",
    )
    assert june["loans_closed"] == 0  # a write-off is not a closing


async def test_a_reversed_payment_counts_nowhere(
    session: AsyncSession, client: AsyncClient, settings: Settings
) -> None:
    holder, product, _ = await setup(session)
    await insert_planned_loan(
        session,
        holder,
        product,
        disbursed_on=DISBURSED,
        payments=[(date(2025, 2, 1), "100.00")],
        reversed_payments=[(date(2025, 2, 1), "300.00", date(2025, 2, 3))],
    )
    headers = auth(await make_user(session, "manager"), settings)
    await session.commit()

    for as_of in (date(2025, 3, 15), None):
        total = (await portfolio(client, headers, as_of))["total"]
        assert total["outstanding_principal"] == "1100.00"
    march = (await portfolio(client, headers, date(2025, 3, 15)))["total"]
    assert (march["arrears_amount"], aging_loans(march)) == ("100.00", {"1-30": 1})

    february = (await flows(client, headers, date(2025, 2, 1), date(2025, 2, 28)))["total"]
    assert (february["collected_principal"], february["collected_on_time"]) == (
        "100.00",
        "100.00",
    )
    assert (february["amount_due"], february["on_time_repayment_rate"]) == ("100.00", "1.0000")


async def test_a_loan_repaid_in_full_leaves_the_portfolio_and_counts_as_closed(
    session: AsyncSession, client: AsyncClient, settings: Settings
) -> None:
    holder, product, _ = await setup(session)
    loan = await insert_planned_loan(
        session,
        holder,
        product,
        disbursed_on=DISBURSED,
        principal="300.00",
        term=3,
        payments=[(date(2025, 2, 1), "100.00"), (date(2025, 3, 20), "200.00")],
    )
    headers = auth(await make_user(session, "manager"), settings)
    await session.commit()
    assert (loan.status, loan.closed_on) == ("repaid", date(2025, 3, 20))

    assert (await portfolio(client, headers, date(2025, 3, 19)))["total"]["active_loans"] == 1
    assert (await portfolio(client, headers, date(2025, 3, 20)))["total"]["active_loans"] == 0
    march = (await flows(client, headers, date(2025, 3, 1), date(2025, 3, 31)))["total"]
    assert (march["loans_closed"], march["collected_principal"]) == (1, "200.00")
    # 03-01's 100.00 was paid late: due, not collected on time; 04-01's 100.00 is not in March.
    assert (march["amount_due"], march["collected_on_time"]) == ("100.00", "0.00")
