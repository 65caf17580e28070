"""Loan list filters, evaluated in SQL from each loan's columns (`GET /api/v1/loans`)."""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, and_, not_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import PageParams, paginate
from app.core.scope import Actor
from app.loans.models import Loan, LoanStatus
from app.loans.rules import visible_loans


@dataclass(frozen=True)
class LoanFilters:
    centre_id: int | None = None
    holder_id: int | None = None
    enterprise_id: int | None = None
    lender_id: int | None = None
    product_id: int | None = None
    status: str | None = None
    in_arrears: bool | None = None
    min_days_past_due: int | None = None
    reference: str | None = None


def in_arrears_condition(today: date) -> Any:
    """In arrears today: active, with an installment due before today not fully paid."""
    return and_(Loan.status == LoanStatus.active, Loan.oldest_unpaid_due_on < today)


def filtered_loans(actor: Actor, filters: LoanFilters, today: date) -> Select[Loan]:
    """The loans the caller sees that match `filters`, all evaluated in SQL from the loan's
    columns. `centre_id` must already be resolved with `scope.centre_filter`.

    `min_days_past_due=N` (N >= 1) keeps active loans whose oldest unpaid installment fell
    due at least N days before today (`oldest_unpaid_due_on <= today - N`); N = 0 keeps all.
    """
    stmt = visible_loans(actor)
    equal_to: list[tuple[Any, int | str | None]] = [
        (Loan.centre_id, filters.centre_id),
        (Loan.holder_id, filters.holder_id),
        (Loan.enterprise_id, filters.enterprise_id),
        (Loan.lender_id, filters.lender_id),
        (Loan.product_id, filters.product_id),
        (Loan.status, filters.status),
        (Loan.reference, filters.reference),
    ]
    for column, value in equal_to:
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.in_arrears is True:
        stmt = stmt.where(in_arrears_condition(today))
    elif filters.in_arrears is False:
        stmt = stmt.where(
            or_(
                Loan.status != LoanStatus.active,
                Loan.oldest_unpaid_due_on.is_(None),
                not_(Loan.oldest_unpaid_due_on < today),
            )
        )
    if filters.min_days_past_due:
        stmt = stmt.where(
            Loan.status == LoanStatus.active,
            Loan.oldest_unpaid_due_on <= today - timedelta(days=filters.min_days_past_due),
        )
    return stmt


async def list_loans(
    session: AsyncSession,
    actor: Actor,
    page: PageParams,
    order_by: list[Any],
    filters: LoanFilters,
    today: date,
) -> tuple[list[Loan], int]:
    return await paginate(session, filtered_loans(actor, filters, today), page, order_by)
