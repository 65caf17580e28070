"""The authorization matrix, generated from the application's own route table (its
OpenAPI document): every operation under /api/v1 x every role x {own centre, other
centre} plus no token and an expired token.

Expectations come from the route itself: each operation declares the roles its service
admits (`openapi_extra=roles_doc(...)`, the `x-roles` of the OpenAPI document). An
operation that declares none (other than the login) fails the coverage test, which names
it, so that a new route cannot escape the matrix.

Statuses asserted: no token or an expired token, 401; another centre's records (by path
id or `centre_id` query), 404 for every role bound to a centre, whatever it may do there;
on its own centre's records, 403 for a role the table refuses, and neither 401, 403 nor
404 for a role it allows. Never a 5xx.
"""

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.openapi import ROLES_KEY
from app.core.security import create_access_token
from app.main import create_app
from app.users.models import User
from app.users.service import actor_of
from tests.centres.factories import make_centre
from tests.coaching.factories import make_coaching_session
from tests.enterprises.factories import make_enterprise
from tests.followups.factories import make_follow_up
from tests.helpers import auth
from tests.holders.factories import make_holder
from tests.loans.factories import (
    make_active_loan,
    make_application,
    make_lender,
    make_product,
    repay,
)
from tests.users.factories import make_user

ROLES = ("admin", "manager", "adviser", "viewer")
# Operations that need no token at all.
PUBLIC = {("POST", "/api/v1/auth/token")}
# Roles that see every centre (the world's manager and viewer belong to one centre).
ALL_CENTRES = frozenset({"admin"})


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    documents_403: bool
    declared_roles: frozenset[str] | None
    has_centre_query: bool
    body_schema: str | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)


@cache
def operations() -> tuple[Operation, ...]:
    app = create_app(Settings(secret_key="matrix-secret-key-long-enough-for-hs256"))
    found = []
    for path, methods in app.openapi()["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in methods.items():
            body = operation.get("requestBody", {}).get("content", {})
            schema = body.get("application/json", {}).get("schema", {}).get("$ref")
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    documents_403="403" in operation.get("responses", {}),
                    declared_roles=(
                        frozenset(operation[ROLES_KEY]) if ROLES_KEY in operation else None
                    ),
                    has_centre_query=any(
                        p["in"] == "query" and p["name"] == "centre_id"
                        for p in operation.get("parameters", [])
                    ),
                    body_schema=schema.rsplit("/", 1)[-1] if schema else None,
                )
            )
    return tuple(found)


@cache
def schema_examples() -> dict[str, Any]:
    app = create_app(Settings(secret_key="matrix-secret-key-long-enough-for-hs256"))
    schemas = app.openapi()["components"]["schemas"]
    return {name: (schema.get("examples") or [None])[0] for name, schema in schemas.items()}


def allowed_roles(operation: Operation) -> frozenset[str]:
    assert operation.declared_roles is not None
    return operation.declared_roles


def test_every_route_declares_its_roles() -> None:
    undeclared = sorted(
        f"{op.method} {op.path}"
        for op in operations()
        if op.declared_roles is None and op.key not in PUBLIC
    )
    assert not undeclared, (
        "These operations declare no roles, so the authorization matrix cannot say what "
        "they should answer; add openapi_extra=roles_doc(...) with the roles the service "
        f"checks: {undeclared}"
    )
    unknown = sorted(
        f"{op.method} {op.path}"
        for op in operations()
        if op.declared_roles is not None and not op.declared_roles <= set(ROLES)
    )
    assert not unknown, f"roles outside {ROLES}: {unknown}"
    restricted_without_403 = sorted(
        f"{op.method} {op.path}"
        for op in operations()
        if op.declared_roles is not None
        and op.declared_roles != set(ROLES)
        and not op.documents_403
    )
    assert not restricted_without_403, (
        f"operations refusing some roles must document 403: {restricted_without_403}"
    )


@dataclass
class Side:
    """One centre's records, and its users."""

    ids: dict[str, int]
    users: dict[str, User]


async def make_side(session: AsyncSession, admin: User, lender_id: int, product: Any) -> Side:
    centre = await make_centre(session)
    users = {
        role: await make_user(session, role, centre) for role in ("manager", "adviser", "viewer")
    }
    holder = await make_holder(session, centre)
    enterprise = await make_enterprise(session, centre, [holder])
    actor = actor_of(admin)
    loan = await make_active_loan(session, actor, holder, product)
    transaction_id = await repay(session, actor, loan, "100.00", date(2025, 2, 20))
    applied = await make_application(session, actor, holder, product)
    coaching = await make_coaching_session(
        session, users["adviser"], [holder], held_on=date(2025, 3, 1)
    )
    follow_up = await make_follow_up(
        session, enterprise, users["adviser"], visited_on=date(2025, 3, 2)
    )
    ids = {
        "centre_id": centre.id,
        "holder_id": holder.id,
        "enterprise_id": enterprise.id,
        "loan_id": loan.id,
        "applied_loan_id": applied.id,
        "transaction_id": transaction_id,
        "session_id": coaching.id,
        "follow_up_id": follow_up.id,
        "user_id": users["viewer"].id,
        "lender_id": lender_id,
        "product_id": product.id,
        "adviser_id": users["adviser"].id,
    }
    return Side(ids=ids, users=users)


def fill(value: Any, ids: dict[str, int], key: str = "") -> Any:
    """The schema's example with every record id replaced by one of this side's ids."""
    if isinstance(value, dict):
        return {k: fill(v, ids, k) for k, v in value.items()}
    if isinstance(value, list):
        singular = {"owner_ids": "holder_id", "holder_ids": "holder_id"}.get(key)
        if singular:
            return [ids[singular]]
        return [fill(item, ids, key) for item in value]
    if key in ids and isinstance(value, int) and not isinstance(value, bool):
        return ids[key]
    return value


def path_for(operation: Operation, ids: dict[str, int]) -> str:
    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "loan_id" and operation.path.endswith(("/approve", "/reject")):
            name = "applied_loan_id"
        if name == "kind":
            # Imports: holders are the kind every role that may import may import.
            return "holders"
        return str(ids[name])

    return re.sub(r"\{(\w+)\}", substitute, operation.path)


CENTRE_SCOPED = {
    "centre_id",
    "holder_id",
    "enterprise_id",
    "loan_id",
    "transaction_id",
    "session_id",
    "follow_up_id",
}


def is_centre_scoped(operation: Operation) -> bool:
    names = set(re.findall(r"\{(\w+)\}", operation.path))
    return bool(names & CENTRE_SCOPED) or operation.has_centre_query


async def call(
    client: AsyncClient, operation: Operation, ids: dict[str, int], headers: dict[str, str]
) -> int:
    body = None
    if operation.body_schema:
        example = schema_examples().get(operation.body_schema)
        body = fill(example if example is not None else {}, ids)
    params = {"centre_id": ids["centre_id"]} if operation.has_centre_query else None
    response = await client.request(
        operation.method, path_for(operation, ids), json=body, params=params, headers=headers
    )
    assert response.status_code < 500, (operation.key, response.text)
    return response.status_code


def operation_ids() -> list[str]:
    return [f"{op.method} {op.path}" for op in operations()]


@pytest.mark.parametrize("operation", operations(), ids=operation_ids())
async def test_operation_answers_each_role_and_centre_as_the_table_says(
    operation: Operation,
    app: FastAPI,
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
) -> None:
    if operation.key in PUBLIC:
        pytest.skip("needs no token (the login itself)")
    admin = await make_user(session, "admin")
    lender = await make_lender(session)
    product = await make_product(session, lender)
    own = await make_side(session, admin, lender.id, product)
    other = await make_side(session, admin, lender.id, product)
    await session.commit()

    assert await call(client, operation, own.ids, {}) == 401
    expired, _ = create_access_token(admin.id, settings.signing_key, -1, admin.password_generation)
    assert await call(client, operation, own.ids, {"Authorization": f"Bearer {expired}"}) == 401

    allowed = allowed_roles(operation)
    users = {"admin": admin, **own.users}
    # Refused roles first, so that nothing they could change affects the others' answers.
    for role in sorted(users, key=lambda r: r in allowed):
        headers = auth(users[role], settings)
        cells = [("own", own.ids)]
        if is_centre_scoped(operation):
            cells.append(("other", other.ids))
        for where, ids in cells:
            status = await call(client, operation, ids, headers)
            if where == "other" and role not in ALL_CENTRES:
                # Outside the caller's centre: not found, whatever the role may do, so
                # that no answer tells another centre's records exist.
                assert status == 404, (role, where, status)
            elif role not in allowed:
                assert status == 403, (role, where, status)
            else:
                assert status not in (401, 403, 404), (role, where, status)
