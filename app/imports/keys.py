"""Natural keys of imported rows (centre codes, national ids, lender codes, product names,
loan references) resolved to ids, each looked up once per import."""

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.core.scope import Actor, visible_to
from app.enterprises.models import Enterprise, EnterpriseOwner
from app.holders.models import Holder
from app.holders.schemas import normalise_national_id
from app.imports.rows import RowProblem
from app.loans.models import Lender, Loan, LoanProduct
from app.users.models import User

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
        self.loans: dict[tuple[int, str], int | None] = {}

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
        key = (lender_id, reference)
        if key not in self.loans:
            stmt = visible_to(select(Loan.id), Loan.centre_id, self.actor).where(
                Loan.lender_id == lender_id, Loan.reference == reference
            )
            self.loans[key] = (await self.session.execute(stmt)).scalar_one_or_none()
        loan_id = self.loans[key]
        if loan_id is None:
            raise RowProblem("reference", "no loan of this lender with this reference")
        return loan_id

    async def prefetch_loans(self, references: Iterable[tuple[int, str]]) -> None:
        """Look up these (lender id, reference) pairs in one statement per lender, so that
        `loan` answers them from the cache (a statement names its loans row after row)."""
        wanted: dict[int, set[str]] = {}
        for lender_id, reference in references:
            if (lender_id, reference) not in self.loans:
                wanted.setdefault(lender_id, set()).add(reference)
        for lender_id, names in wanted.items():
            stmt = visible_to(select(Loan), Loan.centre_id, self.actor).where(
                Loan.lender_id == lender_id, Loan.reference.in_(sorted(names))
            )
            columns = stmt.with_only_columns(Loan.id, Loan.reference)
            found = {ref: loan_id for loan_id, ref in await self.session.execute(columns)}
            for name in names:
                self.loans[(lender_id, name)] = found.get(name)
