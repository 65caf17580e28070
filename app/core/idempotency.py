"""`Idempotency-Key` for every creating or acting `POST`: a retried request gets the first
answer back instead of a second effect.

How a keyed request runs (keys are scoped to the calling user and the request path):

1. Before the route's work, `begin` looks the key up. A stored answer with the same body
   fingerprint is replayed (original status, body, `Location` and `ETag`, plus
   `Idempotent-Replayed: true`); another body is 409. Otherwise it inserts the key's row,
   still without an answer, in the request's own transaction.
2. The route runs as usual. `IdempotentRoute` takes the finished response and writes it into
   that row, still inside the request's transaction, which then commits the effect and the
   stored answer together: a crash leaves both or neither.
3. A refused request (any 4xx, or an error) rolls its transaction back, the row with it, so
   the same key can be retried once the request is corrected.

A duplicate sent while the first is still running (a client that gave up waiting and
retried) is 409: on PostgreSQL the unique constraint on (user, path, key) makes the second
insert wait for the first transaction and then fail; SQLite runs write transactions one
at a time, so there the duplicate simply sees the stored answer and replays it.

Rows are kept `IDEMPOTENCY_TTL_HOURS`; every tenth new row deletes up to a hundred expired
ones (an indexed delete, skipping rows other transactions hold), so no background job is
needed.
"""

import hashlib
import json
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute
from pydantic import StringConstraints, TypeAdapter, ValidationError
from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, SessionDep, UTCDateTime, utcnow
from app.core.deps import CurrentUser
from app.core.errors import Conflict
from app.core.text import NoNul

REPLAYED_HEADER = "Idempotent-Replayed"
STORED_HEADERS = ("content-type", "location", "etag")
PURGE_EVERY = 10
PURGE_BATCH = 100
"""Every `PURGE_EVERY`th new row deletes up to `PURGE_BATCH` expired ones: more than are
created in between, so the table stays bounded, for one statement per ten keyed requests."""

IdempotencyKeyHeader = Annotated[
    Annotated[str, StringConstraints(min_length=1, max_length=200), NoNul] | None,
    Header(
        alias="Idempotency-Key",
        description="Makes a retried request safe: the same key with the same body returns "
        "the first answer (status, body, `Location`, `ETag`) with `Idempotent-Replayed: "
        "true` and does nothing again; the same key with another body is 409, and so is a "
        "duplicate that arrives while the first is still being processed. Keys are scoped "
        "to the calling user and the path and kept `IDEMPOTENCY_TTL_HOURS` (24 h by "
        "default). A refused request stores nothing, so its key can be reused.",
        examples=["3f1c2a9e-7d4b-4c1e-9a55-0b8e2d6f4a11"],
    ),
]


class IdempotentRequest(Base):
    """A keyed request and, once it succeeded, the answer it got."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (
        UniqueConstraint("user_id", "path", "key"),
        Index("ix_idempotent_requests_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(300))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    response_headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Replay(Exception):
    """Raised by `begin` to answer with a stored response; `IdempotentRoute` sends it."""

    def __init__(self, response: Response) -> None:
        super().__init__("replayed")
        self.response = response


def fingerprint(document: Any) -> str:
    """SHA-256 of a JSON document with its keys sorted."""
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def replay_response(record: IdempotentRequest) -> Response:
    assert record.status_code is not None and record.response_body is not None
    headers = {**record.response_headers, REPLAYED_HEADER: "true"}
    return Response(record.response_body, status_code=record.status_code, headers=headers)


async def purge_expired(session: AsyncSession, cutoff: datetime) -> None:
    stale = (
        select(IdempotentRequest.id)
        .where(IdempotentRequest.created_at < cutoff)
        .order_by(IdempotentRequest.created_at)
        .limit(PURGE_BATCH)
    )
    if session.get_bind().dialect.name == "postgresql":
        stale = stale.with_for_update(skip_locked=True)
    await session.execute(
        delete(IdempotentRequest)
        .where(IdempotentRequest.id.in_(stale.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )


async def claim_key(
    session: AsyncSession,
    *,
    user_id: int,
    path: str,
    key: str,
    request_hash: str,
    ttl: timedelta,
) -> IdempotentRequest:
    """The new row for this key; `Replay` with the stored answer when the key was used with
    the same body, 409 when with another body or while the first request is still running."""
    cutoff = utcnow() - ttl
    stmt = select(IdempotentRequest).where(
        IdempotentRequest.user_id == user_id,
        IdempotentRequest.path == path,
        IdempotentRequest.key == key,
    )
    earlier = (await session.execute(stmt)).scalar_one_or_none()
    if earlier is not None:
        if earlier.created_at < cutoff:
            await session.delete(earlier)
            await session.flush()
        elif earlier.request_hash != request_hash:
            raise Conflict("This Idempotency-Key was already used with a different request body.")
        elif earlier.status_code is None:
            raise in_flight()
        else:
            raise Replay(replay_response(earlier))
    record = IdempotentRequest(user_id=user_id, path=path, key=key, request_hash=request_hash)
    session.add(record)
    try:
        await session.flush()
    except IntegrityError as exc:
        # Another transaction inserted the same key after the look-up: this insert waited
        # for that one to commit, so it was in flight when this request arrived: 409.
        raise in_flight() from exc
    if record.id % PURGE_EVERY == 0:
        await purge_expired(session, cutoff)
    return record


def in_flight() -> Conflict:
    return Conflict(
        "A request with this Idempotency-Key was being processed at the same time; "
        "retry to receive its result."
    )


class IdempotentRoute(APIRoute):
    """The route class of every router with idempotent operations: stores the response of a
    keyed request in the request's transaction, and sends the answer of a replay."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        annotation = self.body_field.field_info.annotation if self.body_field else None
        self.body_adapter: TypeAdapter[Any] | None = (
            TypeAdapter(annotation) if annotation is not None else None
        )

    def request_fingerprint(self, raw: bytes) -> str:
        """The body's meaning: normalised by the route's own body model when it validates
        (so `945.6` and `"945.60"`, or key order, make no difference), else the raw JSON."""
        try:
            document: Any = json.loads(raw) if raw else None
        except ValueError:
            return hashlib.sha256(raw).hexdigest()
        if self.body_adapter is not None:
            try:
                model = self.body_adapter.validate_python({} if document is None else document)
                document = self.body_adapter.dump_python(model, mode="json")
            except ValidationError:
                pass
        return fingerprint(document)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def idempotent_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except Replay as replay:
                return replay.response
            pending: tuple[AsyncSession, IdempotentRequest] | None = getattr(
                request.state, "idempotent_request", None
            )
            if pending is not None:
                session, record = pending
                if 200 <= response.status_code < 300:
                    record.status_code = response.status_code
                    record.response_body = bytes(response.body).decode()
                    record.response_headers = {
                        name: response.headers[name]
                        for name in STORED_HEADERS
                        if name in response.headers
                    }
                else:
                    await session.delete(record)
                await session.flush()
            return response

        return idempotent_handler


async def begin(request: Request, session: AsyncSession, user_id: int, key: str | None) -> None:
    """Step 1 of a keyed request (see the module docstring); nothing without a key."""
    if key is None:
        return
    route = request.scope.get("route")
    if not isinstance(route, IdempotentRoute):
        raise TypeError(f"{request.url.path}: idempotent routes need IdempotentRoute")
    request_hash = route.request_fingerprint(await request.body())
    ttl = timedelta(hours=request.app.state.settings.idempotency_ttl_hours)
    record = await claim_key(
        session,
        user_id=user_id,
        path=request.url.path,
        key=key,
        request_hash=request_hash,
        ttl=ttl,
    )
    request.state.idempotent_request = (session, record)


async def idempotency_key(
    request: Request,
    session: SessionDep,
    actor: CurrentUser,
    key: IdempotencyKeyHeader = None,
) -> None:
    """The dependency behind `IDEMPOTENT`: the caller is authenticated first, so a key is
    only ever looked up for an active user."""
    await begin(request, session, actor.id, key)


IDEMPOTENT: DependsParam = Depends(idempotency_key)
"""`dependencies=[IDEMPOTENT]` on a route of an `IdempotentRoute` router makes it honour
`Idempotency-Key`."""
