"""Imports of holders, enterprises, loans and lenders' statements (README "Imports").

Each row goes through the same path as its create endpoint: the same Pydantic create body
and the same service functions, so every rule (scope, youth range, CIN and phone formats,
product bounds, the legal ceiling, the ledger's rules) applies to it. All rows run in the
caller's one transaction; any bad row means the caller rolls everything back, and the 422
lists every bad row. A dry run is the same run rolled back by the caller.

An import is authorised as a whole by its kind's roles; each step then runs with the role
its endpoint needs and the caller's scope unchanged (a manager's loans are applied for as an
adviser of the same centre would, then approved as the manager). The per-record audit events
of those steps are folded into one `import` event with the counts.

Repayments are collected first and then applied loan by loan, in `paid_on` order, after
locking the loan: a (loan, receipt) already recorded is skipped. Two imports of the same
statement at once wait for each other on the loans' row locks (taken in id order, so they
cannot deadlock), and the second finds the first's repayments and skips them.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.core import audit
from app.core.errors import DomainError
from app.core.scope import Actor, Role, visible_to
from app.enterprises import service as enterprises
from app.enterprises.models import Enterprise, EnterpriseOwner
from app.enterprises.schemas import EnterpriseCreate
from app.holders import service as holders
from app.holders.models import Holder
from app.holders.schemas import HolderCreate, normalise_national_id
from app.imports.cells import parse_date, parse_decimal
from app.imports.kinds import SPECS, ImportKind, KindSpec
from app.imports.reading import MAX_ROWS, Cell, Table, TooLarge, unreadable
from app.loans import applications, repayments, rules, takeover
from app.loans.models import Lender, Loan, LoanProduct, LoanTransaction, TransactionKind
from app.loans.schemas import LoanApply, LoanApprove, LoanDisburse, RepaymentCreate
from app.users.models import User

PROGRESS_EVERY = 500
RELEASE_EVERY = 1000
"""Rows between two releases of the session's identity map, which keeps memory bounded."""


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str


class ImportRejected(DomainError):
    """A file with bad rows: nothing is written; `row_errors` lists every one."""

    status = 422
    title = "Validation failed"

    def __init__(self, row_errors: list[RowError]) -> None:
        rows = len({error.row for error in row_errors})
        super().__init__(f"{rows} row(s) have errors; nothing was imported.")
        self.row_errors = row_errors


@dataclass
class ImportReport:
    kind: ImportKind
    dry_run: bool
    rows: int = 0
    created: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class ImportSettings:
    today: date
    youth: holders.YouthRange
    legal_ceiling: Decimal
    default_centre_code: str | None = None
    """The centre of rows without `centre_code` (holders and enterprises); by default the
    caller's."""


class RowProblem(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def acting_as(actor: Actor, roles: tuple[Role, ...]) -> Actor:
    """The caller, with a role that `roles` allows and the same scope: an adviser and a
    manager with the same `centre_id` see exactly the same records."""
    if actor.role in roles:
        return actor
    return replace(actor, role=next(role for role in roles if role != Role.admin))


class BadColumns(DomainError):
    status = 422
    title = "Validation failed"


def check_columns(spec: KindSpec, columns: list[str]) -> None:
    """422 naming every unknown, duplicated or missing required column."""
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name in columns:
        if name == "":
            problems.append(("columns", "a column has no name"))
        elif name not in spec.columns:
            problems.append((name, "unknown column"))
        elif name in seen:
            problems.append((name, "the column appears twice"))
        seen.add(name)
    for name in sorted(spec.required - seen):
        problems.append((name, "missing required column"))
    if problems:
        summary = "; ".join(f"{name}: {message}" for name, message in problems)
        raise BadColumns(summary, errors=problems)


def row_values(
    spec: KindSpec, columns: list[str], line: int, cells: list[Cell]
) -> tuple[dict[str, Any], list[RowError]]:
    """The row as a create body's raw values (empty cells left out), dates and amounts
    normalised; a value outside the named columns is an error."""
    values: dict[str, Any] = {}
    errors: list[RowError] = []
    for index, cell in enumerate(cells):
        if cell is None:
            continue
        if index >= len(columns) or columns[index] == "":
            errors.append(RowError(line, "row", "a value lies outside the named columns"))
            continue
        name = columns[index]
        try:
            if name in spec.dates:
                values[name] = parse_date(cell)
            elif name in spec.decimals:
                values[name] = parse_decimal(cell)
            else:
                values[name] = cell.isoformat() if isinstance(cell, date) else cell
        except ValueError as exc:
            errors.append(RowError(line, name, str(exc)))
    return values, errors


def errors_of(exc: Exception, line: int, spec: KindSpec) -> list[RowError]:
    def column(name: str) -> str:
        return spec.renamed.get(name, name)

    if isinstance(exc, ValidationError):
        found = []
        for item in exc.errors():
            location = [str(part) for part in item.get("loc", ())]
            name = column(location[0]) if location else "row"
            found.append(RowError(line, name, str(item.get("msg", "invalid value"))))
        return found
    if isinstance(exc, RowProblem):
        return [RowError(line, exc.field, exc.message)]
    assert isinstance(exc, DomainError)
    if exc.errors:
        return [RowError(line, column(e.field), e.message) for e in exc.errors]
    return [RowError(line, "row", exc.detail)]


# --- natural keys --------------------------------------------------------------------------


class Keys:
    """Natural keys to ids, cached for the import (codes, e-mails, lenders and products
    repeat across rows). Records outside the caller's scope are reported as missing."""

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.centres: dict[str, int | None] = {}
        self.users: dict[str, int | None] = {}
        self.lenders: dict[str, int | None] = {}
        self.products: dict[tuple[int, str], int | None] = {}

    async def centre(self, code: str) -> int:
        if code not in self.centres:
            stmt = select(Centre.id).where(Centre.code == code)
            self.centres[code] = (await self.session.execute(stmt)).scalar_one_or_none()
        centre_id = self.centres[code]
        if centre_id is None or not self.actor.sees_centre(centre_id):
            raise RowProblem("centre_code", "no such centre in your scope")
        return centre_id

    async def user(self, email: str) -> int:
        key = email.strip().lower()
        if key not in self.users:
            stmt = select(User.id).where(User.email == key)
            self.users[key] = (await self.session.execute(stmt)).scalar_one_or_none()
        user_id = self.users[key]
        if user_id is None:
            raise RowProblem(
                "adviser_email", "must be an active adviser or manager of the holder's centre"
            )
        return user_id

    async def holder(self, national_id: str, column: str) -> Holder:
        try:
            cin = normalise_national_id(national_id)
        except ValueError as exc:
            raise RowProblem(column, str(exc)) from None
        stmt = visible_to(select(Holder), Holder.centre_id, self.actor).where(
            Holder.national_id == cin
        )
        holder = (await self.session.execute(stmt)).scalar_one_or_none()
        if holder is None:
            raise RowProblem(column, f"no holder with national id {cin} in your scope")
        return holder

    async def holders(self, national_ids: list[str]) -> dict[str, Holder]:
        """The holders the caller sees among these (normalised) national ids."""
        stmt = visible_to(select(Holder), Holder.centre_id, self.actor).where(
            Holder.national_id.in_(sorted(set(national_ids)))
        )
        return {
            holder.national_id: holder
            for holder in (await self.session.execute(stmt)).scalars()
            if holder.national_id is not None
        }

    async def lender(self, code: str) -> int:
        if code not in self.lenders:
            stmt = select(Lender.id).where(Lender.code == code)
            self.lenders[code] = (await self.session.execute(stmt)).scalar_one_or_none()
        lender_id = self.lenders[code]
        if lender_id is None:
            raise RowProblem("lender_code", "no such lender")
        return lender_id

    async def product(self, lender_id: int, name: str) -> int:
        key = (lender_id, name)
        if key not in self.products:
            stmt = select(LoanProduct.id).where(
                LoanProduct.lender_id == lender_id, LoanProduct.name == name
            )
            self.products[key] = (await self.session.execute(stmt)).scalars().first()
        product_id = self.products[key]
        if product_id is None:
            raise RowProblem("product_name", "no product of this name at this lender")
        return product_id

    async def enterprise(self, name: str, holder: Holder) -> int:
        """The enterprise of that name in the holder's centre, preferring one the holder
        owns (the create rules then check ownership)."""
        stmt = (
            select(Enterprise.id, EnterpriseOwner.holder_id)
            .outerjoin(
                EnterpriseOwner,
                (EnterpriseOwner.enterprise_id == Enterprise.id)
                & (EnterpriseOwner.holder_id == holder.id),
            )
            .where(Enterprise.name == name, Enterprise.centre_id == holder.centre_id)
            .order_by(EnterpriseOwner.holder_id.is_(None), Enterprise.id)
        )
        found = (await self.session.execute(stmt)).first()
        if found is None:
            raise RowProblem("enterprise_name", "no enterprise of this name in the centre")
        return int(found[0])

    async def loan(self, lender_id: int, reference: str) -> int:
        stmt = visible_to(select(Loan.id), Loan.centre_id, self.actor).where(
            Loan.lender_id == lender_id, Loan.reference == reference
        )
        loan_id = (await self.session.execute(stmt)).scalar_one_or_none()
        if loan_id is None:
            raise RowProblem("reference", "no loan of this lender with this reference")
        return loan_id


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
    pending: dict[int, list[PendingRepayment]] = field(default_factory=lambda: defaultdict(list))
    receipts: dict[tuple[int, str], int] = field(default_factory=dict)

    async def add(self, line: int, values: dict[str, Any]) -> None:
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
        """Per loan, in id order: lock it, skip the receipts it already has, then record the
        rest in `paid_on` order with the ledger's rules in one allocation; when that is
        refused, row by row so that each bad row is named. The ledger checks every rule
        before it writes, so a refused call leaves nothing behind. Loans are locked and
        their receipts read a few hundred at a time."""
        actor = acting_as(self.actor, rules.REPAY_ROLES)
        loan_ids = sorted(self.pending)
        for start in range(0, len(loan_ids), BATCH_ROWS):
            chunk = loan_ids[start : start + BATCH_ROWS]
            await self.session.execute(
                select(Loan.id).where(Loan.id.in_(chunk)).order_by(Loan.id).with_for_update()
            )
            found = await self.session.execute(
                select(LoanTransaction.loan_id, LoanTransaction.reference).where(
                    LoanTransaction.loan_id.in_(chunk),
                    LoanTransaction.kind == TransactionKind.repayment,
                    LoanTransaction.reference.is_not(None),
                )
            )
            recorded = {(loan_id, reference) for loan_id, reference in found}
            for loan_id in chunk:
                rows = sorted(self.pending.pop(loan_id), key=lambda r: (r.paid_on, r.line))
                fresh = [r for r in rows if (loan_id, r.receipt) not in recorded]
                self.skipped += len(rows) - len(fresh)
                if fresh:
                    await self.record_all(actor, loan_id, fresh, spec)
            await self.session.flush()
            self.session.expunge_all()

    async def record_all(
        self, actor: Actor, loan_id: int, rows: list[PendingRepayment], spec: KindSpec
    ) -> None:
        try:
            await self.record(actor, loan_id, rows)
            self.created += len(rows)
            return
        except DomainError:
            pass
        for row in rows:
            try:
                await self.record(actor, loan_id, [row])
                self.created += 1
            except DomainError as exc:
                self.errors.extend(errors_of(exc, row.line, spec))

    async def record(self, actor: Actor, loan_id: int, rows: list[PendingRepayment]) -> None:
        await repayments.record_repayments(
            self.session,
            actor,
            loan_id,
            [repayments.NewRepayment(r.amount, r.paid_on, r.receipt) for r in rows],
            today=self.settings.today,
        )


IMPORTERS: dict[ImportKind, type[Importer]] = {
    ImportKind.holders: HolderImporter,
    ImportKind.enterprises: EnterpriseImporter,
    ImportKind.loans: LoanImporter,
    ImportKind.repayments: RepaymentImporter,
}


async def run_import(
    session: AsyncSession,
    actor: Actor,
    kind: ImportKind,
    table: Table,
    settings: ImportSettings,
    *,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import every row of `table` or raise (the caller then rolls back): 403 when the role
    may not import this kind, 422 for a bad header or no data rows, `ImportRejected` (422)
    listing every bad row, 413 past `MAX_ROWS`. Records one `import` audit event unless
    `dry_run` (which the caller rolls back anyway). `progress(rows_read)` is called every
    few hundred rows."""
    spec = SPECS[kind]
    actor.require(*spec.roles)
    check_columns(spec, table.columns)
    importer = IMPORTERS[kind](session, actor, settings, Keys(session, actor))
    report = ImportReport(kind=kind, dry_run=dry_run)
    broken = False
    with audit.summarised(session):
        for line, cells in table.rows:
            report.rows += 1
            if report.rows > MAX_ROWS:
                raise TooLarge(f"Files are limited to {MAX_ROWS} rows.")
            values, cell_errors = row_values(spec, table.columns, line, cells)
            if cell_errors:
                importer.errors.extend(cell_errors)
                continue
            missing = sorted(spec.required - values.keys())
            if missing:
                importer.errors.extend(RowError(line, name, "required") for name in missing)
                continue
            try:
                await importer.add(line, values)
            except (RowProblem, ValidationError, DomainError) as exc:
                importer.errors.extend(errors_of(exc, line, spec))
            except SQLAlchemyError:
                # A write refused by the database (a record created at the same time by
                # another request): the transaction is lost, so stop here.
                importer.errors.append(
                    RowError(line, "row", "conflicts with a change made at the same time; retry")
                )
                broken = True
                break
            if progress is not None and report.rows % PROGRESS_EVERY == 0:
                progress(report.rows)
            if report.rows % RELEASE_EVERY == 0:
                await session.flush()
                session.expunge_all()
        if report.rows == 0 and not broken:
            raise unreadable("it has no data rows")
        if not broken:
            # Also with bad rows already found: every row the ledger would refuse is named.
            await importer.finish(spec)
    if progress is not None:
        progress(report.rows)
    if importer.errors:
        raise ImportRejected(sorted(importer.errors, key=lambda e: (e.row, e.field)))
    report.created, report.skipped = importer.created, importer.skipped
    if not dry_run:
        await audit.record(
            session,
            actor_id=actor.id,
            action="import",
            entity="import",
            entity_id=None,
            centre_id=actor.centre_id,
            changes={
                "kind": kind.value,
                "rows": report.rows,
                "created": report.created,
                "skipped": report.skipped,
            },
        )
    return report


def require_import_role(actor: Actor, kind: ImportKind) -> None:
    """403 before reading the file when the role may not import this kind."""
    actor.require(*SPECS[kind].roles)
