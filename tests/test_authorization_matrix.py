"""The authorization matrix, generated from the application's own route table (its
OpenAPI document): every operation under /api/v1 x every role x {own centre, other
centre} plus no token and an expired token.

Expectations come from the route where possible: an operation that does not document a
403 is open to every authenticated role. An operation that documents a 403 must appear in
ROLE_TABLE (the roles of API.md's "Roles and scope"), or the coverage test fails and names
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
from app.core.security import create_access_token
from app.main import create_app
from app.users.models import User
from app.users.service import actor_of
from tests.coaching.factories import make_session
from tests.factories import (
    auth,
    make_centre,
    make_enterprise,
    make_holder,
    make_lender,
    make_product,
    make_user,
)
from tests.followups.factories import make_follow_up
from tests.loans.factories import make_active_loan, make_application, repay

ROLES = ("admin", "manager", "adviser", "viewer")
ADMIN = frozenset({"admin"})
LOAN_DECIDERS = frozenset({"admin", "manager"})
FIELD_WORKERS = frozenset({"admin", "adviser"})
# Holders, enterprises, coaching and follow-ups: a centre's manager may do its advisers'
# field work too (the services' rule; API.md lists what each role may at least do).
CENTRE_STAFF = frozenset({"admin", "manager", "adviser"})

# Operations that document a 403: who may call them (API.md, "Roles and scope").
ROLE_TABLE: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/users"): ADMIN,
    ("POST", "/api/v1/users"): ADMIN,
    ("GET", "/api/v1/users/{user_id}"): ADMIN,
    ("PATCH", "/api/v1/users/{user_id}"): ADMIN,
    ("POST", "/api/v1/centres"): ADMIN,
    ("PATCH", "/api/v1/centres/{centre_id}"): ADMIN,
    ("GET", "/api/v1/audit-events"): LOAN_DECIDERS,
    ("POST", "/api/v1/holders"): CENTRE_STAFF,
    ("PATCH", "/api/v1/holders/{holder_id}"): CENTRE_STAFF,
    ("POST", "/api/v1/holders/{holder_id}/anonymise"): ADMIN,
    ("POST", "/api/v1/enterprises"): CENTRE_STAFF,
    ("PATCH", "/api/v1/enterprises/{enterprise_id}"): CENTRE_STAFF,
    ("POST", "/api/v1/lenders"): ADMIN,
    ("PATCH", "/api/v1/lenders/{lender_id}"): ADMIN,
    ("POST", "/api/v1/loan-products"): ADMIN,
    ("PATCH", "/api/v1/loan-products/{product_id}"): ADMIN,
    ("POST", "/api/v1/loans"): FIELD_WORKERS,
    ("POST", "/api/v1/loans/{loan_id}/approve"): LOAN_DECIDERS,
    ("POST", "/api/v1/loans/{loan_id}/reject"): LOAN_DECIDERS,
    ("POST", "/api/v1/loans/{loan_id}/disburse"): CENTRE_STAFF,
    ("POST", "/api/v1/loans/{loan_id}/write-off"): LOAN_DECIDERS,
    ("POST", "/api/v1/loans/{loan_id}/repayments"): FIELD_WORKERS,
    ("POST", "/api/v1/loans/{loan_id}/transactions/{transaction_id}/reverse"): LOAN_DECIDERS,
    ("POST", "/api/v1/coaching-sessions"): CENTRE_STAFF,
    ("PATCH", "/api/v1/coaching-sessions/{session_id}"): CENTRE_STAFF,
    ("POST", "/api/v1/follow-ups"): CENTRE_STAFF,
    ("PATCH", "/api/v1/follow-ups/{follow_up_id}"): CENTRE_STAFF,
}
# Operations that need no token at all.
PUBLIC = {("POST", "/api/v1/auth/token")}
# Roles that see every centre (the world's manager and viewer belong to one centre).
ALL_CENTRES = ADMIN


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    documents_403: bool
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
    if operation.documents_403:
        return ROLE_TABLE[operation.key]
    return frozenset(ROLES)


def test_every_route_has_a_declared_expectation() -> None:
    known = {operation.key for operation in operations()}
    missing = sorted(
        f"{op.method} {op.path}"
        for op in operations()
        if op.documents_403 and op.key not in ROLE_TABLE
    )
    assert not missing, (
        "These operations document a 403 but have no entry in ROLE_TABLE "
        f"(tests/test_authorization_matrix.py); say which roles may call them: {missing}"
    )
    stale = sorted(f"{m} {p}" for m, p in set(ROLE_TABLE) - known)
    assert not stale, f"ROLE_TABLE names operations the application no longer has: {stale}"
    undocumented = sorted(
        f"{m} {p}"
        for (m, p) in ROLE_TABLE
        if (m, p) in known
        and ROLE_TABLE[(m, p)] != set(ROLES)
        and not next(op for op in operations() if op.key == (m, p)).documents_403
    )
    assert not undocumented, f"restricted operations that do not document 403: {undocumented}"


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
    coaching = await make_session(session, users["adviser"], [holder], held_on=date(2025, 3, 1))
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
