"""One importer per kind: each row through its create body and the same service functions as
the matching endpoint."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import DomainError
from app.core.scope import Actor
from app.enterprises import service as enterprises
from app.enterprises.schemas import EnterpriseCreate
from app.holders import service as holders
from app.holders.models import Holder
from app.holders.schemas import HolderCreate, normalise_national_id
from app.imports.keys import Keys
from app.imports.kinds import SPECS, ImportKind, KindSpec
from app.imports.rows import ImportSettings, RowError, RowProblem, acting_as, errors_of
from app.loans import applications, repayments, rules, takeover
from app.loans.models import Loan, LoanTransaction, TransactionKind
from app.loans.schemas import LoanApply, LoanApprove, LoanDisburse, RepaymentCreate

# --- one importer per kind -----------------------------------------------------------------


@dataclass
class Importer:
    session: AsyncSession
    actor: Actor
    settings: ImportSettings
    keys: Keys
    created: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)

    async def add(self, line: int, values: dict[str, Any]) -> None:
        raise NotImplementedError

    async def finish(self, spec: KindSpec) -> None:
        """Work that needs every row first (repayments)."""


BATCH_ROWS = 500
"""Holders checked and inserted together (one lookup of national ids, one INSERT)."""


@dataclass
class HolderImporter(Importer):
    national_ids: dict[str, int] = field(default_factory=dict)
    """The line of each national id met so far (a duplicate within the file names it)."""
    batch: list[tuple[int, HolderCreate]] = field(default_factory=list)

    async def add(self, line: int, values: dict[str, Any]) -> None:
        centre_code = values.pop("centre_code", None) or self.settings.default_centre_code
        adviser_email = values.pop("adviser_email", None)
        if centre_code is not None:
            values["centre_id"] = await self.keys.centre(centre_code)
        if adviser_email is not None:
            values["adviser_id"] = await self.keys.user(adviser_email)
        body = HolderCreate.model_validate(values)
        earlier = self.national_ids.get(body.national_id)
        if earlier is not None:
            raise RowProblem("national_id", f"already on line {earlier} of this file")
        self.national_ids[body.national_id] = line
        self.batch.append((line, body))
        if len(self.batch) >= BATCH_ROWS:
            await self.write_batch()

    async def write_batch(self) -> None:
        batch, self.batch = self.batch, []
        outcomes = await holders.create_holders(
            self.session,
            self.actor,
            [body for _, body in batch],
            today=self.settings.today,
            youth=self.settings.youth,
        )
        for (line, _), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, DomainError):
                self.errors.extend(errors_of(outcome, line, SPECS[ImportKind.holders]))
            else:
                self.created += 1

    async def finish(self, spec: KindSpec) -> None:
        if self.batch:
            await self.write_batch()


@dataclass
class EnterpriseImporter(Importer):
    async def add(self, line: int, values: dict[str, Any]) -> None:
        centre_code = values.pop("centre_code", None) or self.settings.default_centre_code
        if centre_code is not None:
            values["centre_id"] = await self.keys.centre(centre_code)
        owners = [cin for cin in values.pop("owner_national_ids", "").split("|") if cin.strip()]
        if not owners:
            raise RowProblem("owner_national_ids", "at least one owner's national id")
        values["owner_ids"] = [
            (await self.keys.holder(cin, "owner_national_ids")).id for cin in owners
        ]
        body = EnterpriseCreate.model_validate(values)
        await enterprises.create_enterprise(
            self.session, self.actor, body, today=self.settings.today
        )
        self.created += 1


@dataclass
class LoanImporter(Importer):
    pending: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    batch: list[tuple[int, takeover.TakenOverLoan]] = field(default_factory=list)

    async def add(self, line: int, values: dict[str, Any]) -> None:
        try:
            values["holder_national_id"] = normalise_national_id(values["holder_national_id"])
        except ValueError as exc:
            raise RowProblem("holder_national_id", str(exc)) from None
        self.pending.append((line, values))
        if len(self.pending) >= BATCH_ROWS:
            await self.resolve_pending()

    async def resolve_pending(self) -> None:
        """Borrowers by national id for the whole batch in one statement, then each row."""
        pending, self.pending = self.pending, []
        borrowers = await self.keys.holders([values["holder_national_id"] for _, values in pending])
        for line, values in pending:
            try:
                await self.prepare(line, values, borrowers)
            except (RowProblem, ValidationError, DomainError) as exc:
                self.errors.extend(errors_of(exc, line, SPECS[ImportKind.loans]))
        await self.write_batch()

    async def prepare(
        self, line: int, values: dict[str, Any], borrowers: dict[str, Holder]
    ) -> None:
        national_id = values.pop("holder_national_id")
        holder = borrowers.get(national_id)
        if holder is None:
            raise RowProblem(
                "holder_national_id", f"no holder with national id {national_id} in your scope"
            )
        lender_id = await self.keys.lender(values.pop("lender_code"))
        values["product_id"] = await self.keys.product(lender_id, values.pop("product_name"))
        values["holder_id"] = holder.id
        enterprise_name = values.pop("enterprise_name", None)
        if enterprise_name is not None:
            values["enterprise_id"] = await self.keys.enterprise(enterprise_name, holder)
        approved_on = values.pop("approved_on", None)
        disbursed_on = values.pop("disbursed_on", None)
        first_due_on = values.pop("first_due_on", None)
        if first_due_on is not None and disbursed_on is None:
            raise RowProblem("first_due_on", "only a disbursed loan (disbursed_on) has one")
        application = LoanApply.model_validate(values)
        approval = LoanApprove.model_validate({"approved_on": approved_on})
        disbursement = (
            LoanDisburse.model_validate(
                {"disbursed_on": disbursed_on, "first_due_on": first_due_on}
            )
            if disbursed_on is not None
            else None
        )
        self.batch.append(
            (
                line,
                takeover.TakenOverLoan(
                    application=applications.LoanApplication(**application.model_dump()),
                    approved_on=approval.approved_on,
                    disbursed_on=None if disbursement is None else disbursement.disbursed_on,
                    first_due_on=None if disbursement is None else disbursement.first_due_on,
                ),
            )
        )

    async def write_batch(self) -> None:
        batch, self.batch = self.batch, []
        if not batch:
            return
        outcomes = await takeover.take_over_loans(
            self.session,
            self.actor,
            [item for _, item in batch],
            today=self.settings.today,
            legal_ceiling=self.settings.legal_ceiling,
        )
        for (line, _), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, DomainError):
                self.errors.extend(errors_of(outcome, line, SPECS[ImportKind.loans]))
            else:
                self.created += 1

    async def finish(self, spec: KindSpec) -> None:
        await self.resolve_pending()


@dataclass(frozen=True)
class PendingRepayment:
    line: int
    paid_on: date
    amount: Decimal
    receipt: str


@dataclass
class RepaymentImporter(Importer):
    unresolved: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    """Rows waiting for their loans to be looked up, a batch at a time."""
    pending: dict[int, list[PendingRepayment]] = field(default_factory=lambda: defaultdict(list))
    receipts: dict[tuple[int, str], int] = field(default_factory=dict)

    async def add(self, line: int, values: dict[str, Any]) -> None:
        self.unresolved.append((line, values))
        if len(self.unresolved) >= BATCH_ROWS:
            await self.resolve_unresolved()

    async def resolve_unresolved(self) -> None:
        """The batch's loans in one statement per lender, then each row."""
        rows, self.unresolved = self.unresolved, []
        references = []
        for _, values in rows:
            try:
                lender_id = await self.keys.lender(values["lender_code"])
            except RowProblem:
                continue  # named when the row itself is read
            references.append((lender_id, values["reference"]))
        await self.keys.prefetch_loans(references)
        for line, values in rows:
            try:
                await self.add_row(line, values)
            except (RowProblem, ValidationError, DomainError) as exc:
                self.errors.extend(errors_of(exc, line, SPECS[ImportKind.repayments]))

    async def add_row(self, line: int, values: dict[str, Any]) -> None:
        lender_id = await self.keys.lender(values.pop("lender_code"))
        loan_id = await self.keys.loan(lender_id, values.pop("reference"))
        values["reference"] = values.pop("receipt")
        body = RepaymentCreate.model_validate(values)
        assert body.reference is not None
        earlier = self.receipts.get((loan_id, body.reference))
        if earlier is not None:
            raise RowProblem("receipt", f"already on line {earlier} for the same loan")
        self.receipts[(loan_id, body.reference)] = line
        self.pending[loan_id].append(
            PendingRepayment(line, body.paid_on, body.amount, body.reference)
        )

    async def finish(self, spec: KindSpec) -> None:
        """A few hundred loans at a time, in id order: lock them, skip the receipts they
        already have, then record the rest of each loan in `paid_on` order with the ledger's
        rules, every loan of the batch at once (`record_repayments_of_loans`). A loan whose
        repayments are refused is then recorded row by row so that each bad row is named
        (the import is rolled back anyway)."""
        await self.resolve_unresolved()
        actor = acting_as(self.actor, rules.REPAY_ROLES)
        loan_ids = sorted(self.pending)
        for start in range(0, len(loan_ids), BATCH_ROWS):
            chunk = loan_ids[start : start + BATCH_ROWS]
            locked = await rules.lock_loans(self.session, actor, chunk, rules.REPAY_ROLES)
            found = await self.session.execute(
                select(LoanTransaction.loan_id, LoanTransaction.reference).where(
                    LoanTransaction.loan_id.in_(chunk),
                    LoanTransaction.kind == TransactionKind.repayment,
                    LoanTransaction.reference.is_not(None),
                )
            )
            recorded = {(loan_id, reference) for loan_id, reference in found}
            batch: list[tuple[int, list[PendingRepayment]]] = []
            for loan_id in chunk:
                rows = sorted(self.pending.pop(loan_id), key=lambda r: (r.paid_on, r.line))
                fresh = [r for r in rows if (loan_id, r.receipt) not in recorded]
                self.skipped += len(rows) - len(fresh)
                if fresh:
                    batch.append((loan_id, fresh))
            await self.record_batch(actor, locked, batch, spec)
            await self.session.flush()
            self.session.expunge_all()

    async def record_batch(
        self,
        actor: Actor,
        locked: dict[int, Loan],
        batch: list[tuple[int, list[PendingRepayment]]],
        spec: KindSpec,
    ) -> None:
        refused = [(loan_id, rows) for loan_id, rows in batch if loan_id not in locked]
        visible = [(locked[loan_id], rows) for loan_id, rows in batch if loan_id in locked]
        outcomes = await repayments.record_repayments_of_loans(
            self.session,
            actor,
            [(loan, [self.new_repayment(r) for r in rows]) for loan, rows in visible],
            today=self.settings.today,
        )
        for (loan, rows), outcome in zip(visible, outcomes, strict=True):
            if isinstance(outcome, DomainError):
                refused.append((loan.id, rows))
            else:
                self.created += outcome
        for loan_id, rows in refused:
            for row in rows:
                try:
                    await repayments.record_repayments(
                        self.session,
                        actor,
                        loan_id,
                        [self.new_repayment(row)],
                        today=self.settings.today,
                    )
                    self.created += 1
                except DomainError as exc:
                    self.errors.extend(errors_of(exc, row.line, spec))

    @staticmethod
    def new_repayment(row: PendingRepayment) -> repayments.NewRepayment:
        return repayments.NewRepayment(row.amount, row.paid_on, row.receipt)


IMPORTERS: dict[ImportKind, type[Importer]] = {
    ImportKind.holders: HolderImporter,
    ImportKind.enterprises: EnterpriseImporter,
    ImportKind.loans: LoanImporter,
    ImportKind.repayments: RepaymentImporter,
}
