"""`POST /api/v1/sync`: a day's queued field work, sent once (README, "Retries and a day's
queued work")."""

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.core.deps import SettingsDep, current_user, oauth2_scheme
from app.core.openapi import errors, roles_doc
from app.core.roles import READERS
from app.core.scope import Actor
from app.sync import dispatch
from app.sync.schemas import MAX_OPERATIONS, SyncRequest, SyncResponse

router = APIRouter(prefix="/api/v1/sync", tags=["sync"])


async def batch_caller(
    request: Request,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Actor:
    """The caller, checked in a short transaction of its own: the batch holds no database
    connection while its operations run (on SQLite it would hold the write lock they need)."""
    async with request.app.state.sessionmaker() as session:
        return await current_user(request, session, settings, token)


@router.post(
    "",
    response_model=SyncResponse,
    # Any role may send a batch; each operation is then held to its own route's roles.
    openapi_extra=roles_doc(READERS),
    summary="Send a batch of queued operations",
    description="Runs up to "
    f"{MAX_OPERATIONS} operations in order, each exactly as if the caller had sent it "
    "alone (its roles, scope, validation, `Idempotency-Key` and `If-Match`), in a "
    "transaction of its own, and answers 200 with one result per operation: the status, "
    "body, `ETag` and `Location` the single call gave. A failed operation does not stop the "
    'next; an operation whose body or path names a failed one with `"$ref:R.id"` is 424 '
    "and does not run. On a 412 the result's `etag` is the record's current one. `method` "
    "is `POST` (a creating or acting path: holders, enterprises, coaching sessions, "
    "follow-ups, loans and their actions, repayments, reversals) or `PATCH` (a record). "
    "Sent again whole, a batch has each effect once: every result is the first one, "
    "replayed. A malformed batch (not a list, over the limit, an unknown method or path, a "
    "duplicate `ref`, a `$ref` to no earlier operation) is 422 and runs nothing.",
    responses=errors(400, 401, 413, 415, 422),
)
async def sync(
    batch: SyncRequest,
    request: Request,
    _caller: Annotated[Actor, Depends(batch_caller)],
) -> Response:
    allowed = dispatch.operation_paths(request.app.openapi())
    depends = dispatch.plan(batch.operations, allowed)
    results = await dispatch.run_batch(
        request.app,
        request.scope,
        request.headers["authorization"],
        batch.operations,
        depends,
    )
    # The bodies are already JSON documents: encode them once, without a second validation.
    document = {"results": [result.model_dump() for result in results]}
    return Response(json.dumps(document, ensure_ascii=False), media_type="application/json")
