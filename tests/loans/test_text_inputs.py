"""Free text in loan bodies: PostgreSQL cannot store a NUL character, so it is refused on
every database alike as a 422 naming the field (never a failed write and a 500)."""

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.loans.models import Lender, LoanTransaction
from tests.helpers import Api, error_fields
from tests.loans.factories import LoanWorld, make_active_loan, make_application, repay

NUL_TEXT = "Chèque\x00rejeté"


async def test_a_nul_character_in_any_text_field_is_422_naming_the_field(
    as_admin: Api, as_adviser: Api, as_manager: Api, world: LoanWorld, session: AsyncSession
) -> None:
    loan = await make_active_loan(session, world.admin_actor, world.holder, world.product)
    paid = await repay(session, world.admin_actor, loan, "100.00", date(2025, 2, 15))
    pending = await make_application(session, world.admin_actor, world.holder, world.product)
    await session.commit()
    url = f"/api/v1/loans/{loan.id}"
    application = {
        "holder_id": world.holder.id,
        "product_id": world.product.id,
        "principal": "10000.00",
        "term": 12,
        "purpose": NUL_TEXT,
    }
    cases: list[tuple[Api, str, str, dict[str, Any], str]] = [
        (as_adviser, "post", "/api/v1/loans", application, "purpose"),
        (
            as_adviser,
            "post",
            f"{url}/repayments",
            {"amount": "1.00", "paid_on": "2025-02-01", "reference": NUL_TEXT},
            "reference",
        ),
        (as_manager, "post", f"/api/v1/loans/{pending.id}/reject", {"reason": NUL_TEXT}, "reason"),
        (
            as_manager,
            "post",
            f"{url}/write-off",
            {"written_off_on": "2025-03-01", "reason": NUL_TEXT},
            "reason",
        ),
        (
            as_manager,
            "post",
            f"{url}/transactions/{paid}/reverse",
            {"reason": NUL_TEXT},
            "reason",
        ),
        (as_admin, "post", "/api/v1/lenders", {"code": "AMC-X", "name": NUL_TEXT}, "name"),
        (as_admin, "post", "/api/v1/lenders", {"code": "A\x00", "name": "Amana"}, "code"),
        (as_admin, "patch", f"/api/v1/lenders/{world.lender.id}", {"name": NUL_TEXT}, "name"),
        (
            as_admin,
            "patch",
            f"/api/v1/loan-products/{world.product.id}",
            {"name": NUL_TEXT},
            "name",
        ),
    ]
    for api, method, path, body, field in cases:
        response = await (api.post(path, body) if method == "post" else api.patch(path, body))
        assert response.status_code == 422, (path, body, response.status_code)
        assert error_fields(response) == [field], (path, body)

    assert (await session.execute(select(func.count(Lender.id)))).scalar_one() == 1
    kinds = (
        await session.execute(
            select(LoanTransaction.kind).where(LoanTransaction.loan_id == loan.id)
        )
    ).scalars()
    assert sorted(kinds) == ["disbursement", "repayment"]
