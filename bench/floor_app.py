"""The floor of the load tests: a bare ASGI app (no framework, no ORM, no validation layer)
serving the same calls as the service with the SQL written by hand through asyncpg,
served by the same uvicorn with the same number of workers.

- `GET /bare`: no database (the cost of HTTP and uvicorn alone);
- `GET /loans/{id}`: the caller's row and the loan's row (a one-row read);
- `GET /loans?limit=500&centre_id=C`: the caller's row, the count and one page of loans;
- `POST /loans/{id}/repayments` `{amount, paid_on}`: a forward allocation on the stored
  state in one transaction: the caller's row, the loan row locked, its unpaid
  installments, the transaction, its allocations (one INSERT), the installments (one
  UPDATE), the loan's summary columns and an audit event;
- `POST /coaching-sessions` `{...}`: the caller's row, the session, its participants
  and an audit event.

The caller is `X-User-Id` (the service checks a signed token; both read the user's row).
Not a product: it skips every rule the service enforces beyond what the SQL needs.

    DATABASE_URL=postgresql://postgres@127.0.0.1/bench_x \\
        .venv/bin/uvicorn bench.floor_app:app --port 8121 --workers 2
"""

import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import asyncpg

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

CENT = Decimal("0.01")
_pool: asyncpg.Pool | None = None


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(type(value).__name__)


async def _respond(send: Send, status: int, body: Any) -> None:
    payload = json.dumps(body, default=_json_default).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def _body(receive: Receive) -> Any:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return json.loads(b"".join(chunks) or b"{}")


def _user_id(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"x-user-id":
            return int(value)
    return 0


USER_SQL = "SELECT id, role, centre_id, is_active FROM users WHERE id = $1"
LOAN_COLUMNS = (
    "id, holder_id, enterprise_id, product_id, lender_id, centre_id, principal, annual_rate, "
    "term, repayment_frequency, interest_method, amortization, grace_periods, purpose, status, "
    "applied_on, approved_on, disbursed_on, first_due_on, closed_on, written_off_on, "
    "written_off_amount, outstanding_principal, paid_principal, paid_interest, "
    "oldest_unpaid_due_on, version"
)


async def read_loan(connection: asyncpg.Connection, user_id: int, loan_id: int) -> Any:
    await connection.fetchrow(USER_SQL, user_id)
    row = await connection.fetchrow(f"SELECT {LOAN_COLUMNS} FROM loans WHERE id = $1", loan_id)
    return None if row is None else dict(row)


async def list_loans(
    connection: asyncpg.Connection, user_id: int, centre_id: int, limit: int
) -> Any:
    await connection.fetchrow(USER_SQL, user_id)
    total = await connection.fetchval("SELECT count(*) FROM loans WHERE centre_id = $1", centre_id)
    rows = await connection.fetch(
        f"SELECT {LOAN_COLUMNS} FROM loans WHERE centre_id = $1 ORDER BY id LIMIT $2",
        centre_id,
        limit,
    )
    return {"items": [dict(row) for row in rows], "total": total, "limit": limit, "offset": 0}


async def repay(
    connection: asyncpg.Connection, user_id: int, loan_id: int, amount: Decimal, paid_on: date
) -> tuple[int, Any]:
    async with connection.transaction():
        await connection.fetchrow(USER_SQL, user_id)
        loan = await connection.fetchrow(
            "SELECT id, status, centre_id, principal, paid_principal, paid_interest, "
            "overdue_through FROM loans WHERE id = $1 FOR UPDATE",
            loan_id,
        )
        if loan is None:
            return 404, {"detail": "no such loan"}
        if loan["status"] != "active":
            return 409, {"detail": "loan not active"}
        installments = await connection.fetch(
            "SELECT id, due_on, principal_due, interest_due, principal_paid, interest_paid "
            "FROM installments WHERE loan_id = $1 AND paid_off_on IS NULL ORDER BY seq",
            loan_id,
        )
        left = amount
        ids, principals, interests, paid_off, due_dates = [], [], [], [], []
        oldest_unpaid = None
        for item in installments:
            interest_owed = item["interest_due"] - item["interest_paid"]
            principal_owed = item["principal_due"] - item["principal_paid"]
            interest = min(left, interest_owed)
            principal = min(left - interest, principal_owed)
            left -= interest + principal
            if interest or principal:
                ids.append(item["id"])
                due_dates.append(item["due_on"])
                interests.append(interest)
                principals.append(principal)
                done = interest == interest_owed and principal == principal_owed
                paid_off.append(paid_on if done else None)
                if not done and oldest_unpaid is None:
                    oldest_unpaid = item["due_on"]
            elif oldest_unpaid is None:
                oldest_unpaid = item["due_on"]
        if left > 0:
            return 422, {"detail": "amount above what the loan owes"}
        paid_principal, paid_interest = sum(principals, Decimal(0)), sum(interests, Decimal(0))
        # The loan keeps what its installments due before `overdue_through` still owe
        # (docs/ARITHMETIC.md, "Arrears folded into the loan"): what this payment puts on
        # them comes off it, as the service's write does.
        through = loan["overdue_through"]
        folded_paid = sum(
            (
                principal + interest
                for principal, interest, due_on in zip(
                    principals, interests, due_dates, strict=True
                )
                if through is not None and due_on < through
            ),
            Decimal(0),
        )
        now = datetime.now(UTC)
        transaction_id = await connection.fetchval(
            "INSERT INTO loan_transactions (loan_id, kind, amount, effective_on, "
            "principal_portion, interest_portion, reversed, created_at, created_by) "
            "VALUES ($1, 'repayment', $2, $3, $4, $5, false, $6, $7) RETURNING id",
            loan_id,
            amount,
            paid_on,
            paid_principal,
            paid_interest,
            now,
            user_id,
        )
        await connection.execute(
            "INSERT INTO allocations (loan_id, transaction_id, installment_id, paid_on, "
            "due_on, principal, interest) SELECT $1, $2, i, $3, d, p, n "
            "FROM unnest($4::int[], $5::numeric[], $6::numeric[], $7::date[]) AS t(i, p, n, d)",
            loan_id,
            transaction_id,
            paid_on,
            ids,
            principals,
            interests,
            due_dates,
        )
        await connection.execute(
            "UPDATE installments SET principal_paid = principal_paid + t.p, "
            "interest_paid = interest_paid + t.n, paid_off_on = t.d "
            "FROM unnest($1::int[], $2::numeric[], $3::numeric[], $4::date[]) AS t(i, p, n, d) "
            "WHERE installments.id = t.i",
            ids,
            principals,
            interests,
            paid_off,
        )
        repaid = oldest_unpaid is None
        await connection.execute(
            "UPDATE loans SET paid_principal = paid_principal + $2, "
            "paid_interest = paid_interest + $3, "
            "outstanding_principal = outstanding_principal - $2, oldest_unpaid_due_on = $4, "
            "overdue_amount = overdue_amount - $8, "
            "status = CASE WHEN $5 THEN 'repaid' ELSE status END, "
            "closed_on = CASE WHEN $5 THEN $6::date ELSE closed_on END, "
            "version = version + 1, updated_at = $7 WHERE id = $1",
            loan_id,
            paid_principal,
            paid_interest,
            oldest_unpaid,
            repaid,
            paid_on,
            now,
            folded_paid,
        )
        await connection.execute(
            "INSERT INTO audit_events (occurred_at, actor_id, action, entity, entity_id, "
            "centre_id, changes) VALUES ($1, $2, 'repayment', 'loan', $3, $4, $5)",
            now,
            user_id,
            loan_id,
            loan["centre_id"],
            json.dumps({"amount": str(amount), "paid_on": paid_on.isoformat()}),
        )
    return 201, {
        "id": transaction_id,
        "loan_id": loan_id,
        "kind": "repayment",
        "amount": amount,
        "paid_on": paid_on,
        "principal_portion": paid_principal,
        "interest_portion": paid_interest,
        "reversed": False,
    }


async def log_session(connection: asyncpg.Connection, user_id: int, body: Any) -> Any:
    now = datetime.now(UTC)
    async with connection.transaction():
        user = await connection.fetchrow(USER_SQL, user_id)
        session_id = await connection.fetchval(
            "INSERT INTO coaching_sessions (centre_id, adviser_id, kind, format, mode, held_on, "
            "duration_minutes, topic, notes, next_steps, enterprise_id, version, created_at, "
            "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, NULL, 1, $9, $9) "
            "RETURNING id",
            user["centre_id"],
            user_id,
            body["kind"],
            body["format"],
            body["mode"],
            date.fromisoformat(body["held_on"]),
            body["duration_minutes"],
            body["topic"],
            now,
        )
        await connection.execute(
            "INSERT INTO session_participants (session_id, holder_id, attendance) "
            "SELECT $1, h, 'present' FROM unnest($2::int[]) AS h",
            session_id,
            body["holder_ids"],
        )
        await connection.execute(
            "INSERT INTO audit_events (occurred_at, actor_id, action, entity, entity_id, "
            "centre_id, changes) VALUES ($1, $2, 'create', 'coaching_session', $3, $4, $5)",
            now,
            user_id,
            session_id,
            user["centre_id"],
            json.dumps(body),
        )
    return {"id": session_id, **body}


async def _lifespan(receive: Receive, send: Send) -> None:
    global _pool
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            url = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
            _pool = await asyncpg.create_pool(
                url, min_size=2, max_size=10, server_settings={"jit": "off"}
            )
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if _pool is not None:
                await _pool.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    path: str = scope["path"]
    method: str = scope["method"]
    if path == "/bare":
        await _respond(send, 200, {"status": "ok"})
        return
    assert _pool is not None
    user_id = _user_id(scope)
    parts = path.strip("/").split("/")
    async with _pool.acquire() as connection:
        if method == "GET" and parts == ["loans"]:
            query = parse_qs(scope["query_string"].decode())
            limit = int(query.get("limit", ["50"])[0])
            centre_id = int(query["centre_id"][0])
            await _respond(send, 200, await list_loans(connection, user_id, centre_id, limit))
        elif method == "GET" and len(parts) == 2 and parts[0] == "loans":
            loan = await read_loan(connection, user_id, int(parts[1]))
            await _respond(send, 404 if loan is None else 200, loan)
        elif method == "POST" and len(parts) == 3 and parts[2] == "repayments":
            body = await _body(receive)
            status, answer = await repay(
                connection,
                user_id,
                int(parts[1]),
                Decimal(body["amount"]).quantize(CENT),
                date.fromisoformat(body["paid_on"]),
            )
            await _respond(send, status, answer)
        elif method == "POST" and parts == ["coaching-sessions"]:
            await _respond(send, 201, await log_session(connection, user_id, await _body(receive)))
        else:
            await _respond(send, 404, {"detail": "not found"})
