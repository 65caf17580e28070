"""The lender's own loan number (`reference`): unique per lender, settable at application
and later by PATCH (the loans section of `/docs`)."""

from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.concurrency import ensure_if_match
from app.core.errors import Conflict
from app.core.patching import apply_changes
from app.core.scope import Actor, Role
from app.loans.models import Loan

EDIT_ROLES = (Role.admin, Role.manager, Role.adviser)
CONSTRAINT = "uq_loans_lender_reference"


def duplicate_reference() -> Conflict:
    return Conflict(
        "The lender already has a loan with this reference.",
        errors=[("reference", "already used by another loan of this lender")],
    )


async def ensure_reference_free(
    session: AsyncSession, lender_id: int, reference: str | None, exclude_id: int | None = None
) -> None:
    """409 naming `reference` when another loan of the lender carries it (none: no check)."""
    if reference is None:
        return
    stmt = select(Loan.id).where(Loan.lender_id == lender_id, Loan.reference == reference)
    if exclude_id is not None:
        stmt = stmt.where(Loan.id != exclude_id)
    if (await session.execute(stmt)).first() is not None:
        raise duplicate_reference()


async def taken_references(
    session: AsyncSession, wanted: Collection[tuple[int, str]]
) -> set[tuple[int, str]]:
    """Which of these (lender_id, reference) pairs a loan already carries (one statement per
    lender and thousand references)."""
    by_lender: dict[int, set[str]] = {}
    for lender_id, reference in wanted:
        by_lender.setdefault(lender_id, set()).add(reference)
    taken: set[tuple[int, str]] = set()
    for lender_id, references in by_lender.items():
        ordered = sorted(references)
        for start in range(0, len(ordered), 1000):
            stmt = select(Loan.reference).where(
                Loan.lender_id == lender_id, Loan.reference.in_(ordered[start : start + 1000])
            )
            taken.update((lender_id, r) for r in (await session.execute(stmt)).scalars() if r)
    return taken


async def flush_with_reference(session: AsyncSession) -> None:
    """Flush, turning a reference taken by a concurrent request into the same 409."""
    try:
        await session.flush()
    except IntegrityError as exc:
        if CONSTRAINT in str(exc.orig) or "loans.reference" in str(exc.orig):
            raise duplicate_reference() from None
        raise


async def update_loan(
    session: AsyncSession,
    actor: Actor,
    loan: Loan,
    values: dict[str, Any],
    if_match: str | None,
) -> Loan:
    """Change what may change on a loan after its application: its `reference` (admins,
    managers and advisers in scope; the caller has already read `loan` in its scope).
    412 on a stale If-Match, 409 when the lender already uses the reference."""
    actor.require(*EDIT_ROLES)
    ensure_if_match(if_match, loan.version)
    if "reference" in values:
        await ensure_reference_free(session, loan.lender_id, values["reference"], loan.id)
    changes = apply_changes(loan, values)
    if changes:
        await flush_with_reference(session)
    await audit.record_update(
        session,
        actor_id=actor.id,
        entity="loan",
        entity_id=loan.id,
        centre_id=loan.centre_id,
        changes=changes,
    )
    return loan
