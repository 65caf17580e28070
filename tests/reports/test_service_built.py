"""Loans made through the loans service itself (not the test generator): disbursements,
backdated and same-day repayments, a reversal, a full repayment reopened by a reversal, a
write-off. The reports must equal the reference, and the portfolio's figures must equal
the sums of what `GET /loans/{id}?as_of=` says of each loan, so that neither the generator
nor the reference can share a misreading of how loans are stored."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.loans import lifecycle, repayments
from app.loans.models import Loan
from app.users.service import actor_of
from tests.centres.factories import make_centre
from tests.helpers import auth
from tests.holders.factories import make_holder
from tests.loans.factories import make_active_loan, make_lender, make_product, repay
from tests.reports import reference
from tests.users.factories import make_user

AS_OF_DATES = [
    date(2025, 1, 14),
    date(2025, 1, 15),  # disbursements
    date(2025, 2, 15),  # a due date paid on the day
    date(2025, 2, 16),
    date(2025, 3, 10),  # a backdated payment's date
    date(2025, 3, 18),  # 31 days after 2025-02-15
    date(2025, 5, 15),  # a loan repaid in full
    date(2025, 6, 30),
    date(2025, 7, 14),
    date(2025, 7, 15),  # a write-off on a due date
    date(2025, 12, 31),
]


async def build(session: AsyncSession, today: date) -> list[Loan]:
    centre = await make_centre(session)
    admin = actor_of(await make_user(session, "admin"))
    lender = await make_lender(session)
    product = await make_product(session, lender)
    holders = [
        await make_holder(session, centre, gender="female"),
        await make_holder(session, centre, gender="male", sector="commerce"),
        await make_holder(session, centre, gender="female", birth_date=date(2000, 2, 29)),
    ]

    def active(holder_index: int, disbursed_on: date, **kwargs: Any) -> Any:
        return make_active_loan(
            session,
            admin,
            holders[holder_index],
            product,
            disbursed_on=disbursed_on,
            today=today,
            **kwargs,
        )

    # Paid on its first due date, then late, then a payment backdated before the late one.
    punctual = await active(0, date(2025, 1, 15))
    await repay(session, admin, punctual, "945.60", date(2025, 2, 15), today=today)
    await repay(session, admin, punctual, "500.00", date(2025, 4, 20), today=today)
    await repay(session, admin, punctual, "300.00", date(2025, 3, 10), today=today)
    mistaken = await repay(session, admin, punctual, "700.00", date(2025, 3, 10), today=today)
    await repayments.reverse_transaction(
        session, admin, punctual.id, mistaken, reason="Saisie erronée", today=today
    )
    # Two loans of the same borrower; one written off on a due date (2025-07-15) with
    # 4000.00 - 320.00 - 314.10 - 18.58 = 3347.32 of principal then outstanding.
    second = await active(1, date(2025, 1, 15), principal="4000.00", term=6)
    await repay(session, admin, second, "400.00", date(2025, 2, 20), today=today)
    await repay(session, admin, second, "400.00", date(2025, 2, 20), today=today)
    await lifecycle.write_off_loan(
        session,
        admin,
        second.id,
        written_off_on=date(2025, 7, 15),
        reason="Irrécouvrable",
        today=today,
    )
    await active(1, date(2025, 2, 1), principal="2500.00", term=3)
    # Repaid in full, then the completing payment reversed: active again, then repaid.
    short = await active(2, date(2025, 2, 1), principal="3000.00", term=3)
    completing = await repay(session, admin, short, "3120.79", date(2025, 5, 15), today=today)
    await repayments.reverse_transaction(
        session, admin, short.id, completing, reason="Chèque rejeté", today=today
    )
    await repay(session, admin, short, "3120.79", date(2025, 5, 15), today=today)
    await session.flush()
    loans = [punctual, second, short]
    for loan in loans:
        await session.refresh(loan)
    return loans


async def loan_figures(
    client: AsyncClient, headers: dict[str, str], loan_ids: list[int], as_of: date
) -> list[dict[str, Any]]:
    figures = []
    for loan_id in loan_ids:
        response = await client.get(
            f"/api/v1/loans/{loan_id}", params={"as_of": as_of.isoformat()}, headers=headers
        )
        assert response.status_code == 200, response.text
        figures.append(response.json())
    return figures


@pytest.mark.parametrize("group_by", ["centre", "gender", "age_band"])
async def test_reports_of_service_made_loans(
    session: AsyncSession, client: AsyncClient, settings: Settings, group_by: str
) -> None:
    today = settings.today()
    loans = await build(session, today)
    headers = auth(await make_user(session, "manager"), settings)
    await session.commit()
    assert [loan.status for loan in loans] == ["active", "written_off", "repaid"]
    assert loans[2].closed_on == date(2025, 5, 15)
    snapshot = await reference.load_snapshot(session)
    all_ids = sorted(snapshot.loans)

    for as_of in [*AS_OF_DATES, today]:
        response = await client.get(
            "/api/v1/reports/portfolio",
            params={"as_of": as_of.isoformat(), "group_by": group_by},
            headers=headers,
        )
        body = response.json()
        assert body == reference.portfolio(snapshot, as_of, group_by, None), as_of

        # The loans API's own as-of figures, loan by loan, summed.
        figures = await loan_figures(client, headers, all_ids, as_of)
        outstanding = [
            f for f in figures if f["outstanding_principal"] != "0.00" or f["days_past_due"]
        ]
        total = body["total"]
        assert total["outstanding_principal"] == str(
            sum((Decimal(f["outstanding_principal"]) for f in figures), Decimal("0.00"))
        )
        assert total["arrears_amount"] == str(
            sum((Decimal(f["arrears_amount"]) for f in figures), Decimal("0.00"))
        )
        for days in (1, 30, 90):
            assert total[f"par{days}_amount"] == str(
                sum(
                    (
                        Decimal(f["outstanding_principal"])
                        for f in figures
                        if f["days_past_due"] > days
                    ),
                    Decimal("0.00"),
                )
            )
        assert total["active_loans"] == len(outstanding)

    flows = await client.get(
        "/api/v1/reports/flows",
        params={"from": "2025-01-01", "to": "2025-12-31", "interval": "quarter"},
        headers=headers,
    )
    assert flows.json() == reference.flows(
        snapshot, date(2025, 1, 1), date(2025, 12, 31), "quarter", None
    )
    first, second, third, _ = flows.json()["rows"]
    assert (first["disbursed_count"], first["disbursed_amount"]) == (4, "19500.00")
    assert (second["loans_closed"], third["written_off_amount"]) == (1, "3347.32")
