"""Running a batch of queued operations through the application itself.

Each operation is sent to the application as an internal HTTP request with the caller's
own `Authorization`, `Idempotency-Key` and `If-Match`: the same routes, dependencies,
services and audit as the single call, in a transaction of its own, and no second copy of
any rule. Only the batch's shape is checked here (`plan`): a malformed batch runs nothing.
"""

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Scope

from app.core.errors import DomainError, FieldError
from app.sync.schemas import SyncOperation, SyncResult

REF = re.compile(r"^\$ref:(?P<ref>.+)\.id$")
PATH_REF = re.compile(r"\$ref:(?P<ref>[^/]+)\.id")


class MalformedBatch(DomainError):
    status = 422
    title = "Validation failed"

    def __init__(self, errors: Sequence[tuple[str, str]]) -> None:
        detail = "; ".join(f"{field}: {message}" for field, message in errors[:5])
        super().__init__(detail, errors=errors)


@dataclass(frozen=True)
class Outcome:
    status: int
    headers: dict[str, str]
    body: Any


def refs_in(value: Any) -> set[str]:
    """The operations a body value names with `"$ref:R.id"`."""
    if isinstance(value, str):
        match = REF.match(value)
        return {match["ref"]} if match else set()
    if isinstance(value, list):
        return set().union(*(refs_in(item) for item in value))
    if isinstance(value, dict):
        return set().union(*(refs_in(item) for item in value.values()))
    return set()


def substitute(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str):
        match = REF.match(value)
        return ids[match["ref"]] if match else value
    if isinstance(value, list):
        return [substitute(item, ids) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, ids) for key, item in value.items()}
    return value


def operation_paths(document: dict[str, Any]) -> list[tuple[str, re.Pattern[str]]]:
    """(method, path pattern) pairs a batch may call, read from the OpenAPI document: the
    `POST`s that take `Idempotency-Key` (the creating and acting ones) and every `PATCH`."""
    allowed: list[tuple[str, re.Pattern[str]]] = []
    for path, item in document.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[0-9]+", re.escape(path)) + "$")
        post = item.get("post", {})
        if any(
            parameter.get("in") == "header" and parameter.get("name") == "Idempotency-Key"
            for parameter in post.get("parameters", [])
        ):
            allowed.append(("POST", pattern))
        if "patch" in item:
            allowed.append(("PATCH", pattern))
    return allowed


def plan(
    operations: Sequence[SyncOperation], allowed: Sequence[tuple[str, re.Pattern[str]]]
) -> list[set[str]]:
    """Checks every operation's ref, path and `$ref`s before anything runs (422 naming each
    wrong one) and returns the refs each operation depends on."""
    problems: list[tuple[str, str]] = []
    earlier: set[str] = set()
    depends: list[set[str]] = []
    for index, operation in enumerate(operations):
        if operation.ref in earlier:
            problems.append((f"operations.{index}.ref", f"{operation.ref!r} is used twice"))
        named = refs_in(operation.body) | set(PATH_REF.findall(operation.path))
        unknown = sorted(named - earlier)
        if unknown:
            problems.append(
                (
                    f"operations.{index}",
                    f"$ref names {unknown[0]!r}, which is not an earlier operation's ref",
                )
            )
        probe = PATH_REF.sub("1", operation.path)
        if not any(
            method == operation.method and pattern.match(probe) for method, pattern in allowed
        ):
            problems.append(
                (
                    f"operations.{index}.path",
                    f"{operation.method} {operation.path} is not a creating or acting POST "
                    "or a PATCHable record of /api/v1",
                )
            )
        depends.append(named)
        earlier.add(operation.ref)
    if problems:
        raise MalformedBatch(problems)
    return depends


def failed_dependency(ref: str, status: int) -> SyncResult:
    body = {
        "type": "about:blank",
        "title": "Failed dependency",
        "status": 424,
        "detail": f"Operation {ref!r}, whose id this one uses, failed with status {status}.",
        "errors": [FieldError(field="$ref", message=f"operation {ref!r} failed").model_dump()],
    }
    return SyncResult(ref="", status=424, body=body)


async def call(
    app: ASGIApp, outer: Scope, method: str, path: str, headers: dict[str, str], body: Any
) -> Outcome:
    """One request through the whole application (middleware, routes, error handlers)."""
    content = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
    raw_headers = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    if body is not None:
        raw_headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(content)).encode()),
        ]
    scope: Scope = {
        "type": "http",
        "asgi": outer.get("asgi", {"version": "3.0"}),
        "http_version": outer.get("http_version", "1.1"),
        "method": method,
        "scheme": outer.get("scheme", "http"),
        "path": path,
        "raw_path": path.encode(),
        "root_path": outer.get("root_path", ""),
        "query_string": b"",
        "headers": raw_headers,
        "client": outer.get("client"),
        "server": outer.get("server"),
        "state": dict(outer.get("state", {})),
    }
    body_sent = False
    finished = asyncio.Event()
    status = 500
    response_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": content, "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            for name, value in message.get("headers", []):
                response_headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                finished.set()

    try:
        await app(scope, receive, send)
    except Exception:
        # The error middleware has already sent its 500 problem before re-raising.
        if not chunks:
            raise
    finished.set()
    raw = b"".join(chunks)
    try:
        parsed: Any = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode("utf-8", errors="replace")
    return Outcome(status, response_headers, parsed)


async def run_batch(
    app: ASGIApp,
    outer: Scope,
    authorization: str,
    operations: Sequence[SyncOperation],
    depends: Sequence[set[str]],
) -> list[SyncResult]:
    """Each operation in order, each as its single call; a failed one does not stop the
    next, but an operation naming it by `$ref` is 424 and does not run."""
    ids: dict[str, int] = {}
    statuses: dict[str, int] = {}
    results: list[SyncResult] = []
    batch_id = outer.get("state", {}).get("request_id")
    for index, (operation, named) in enumerate(zip(operations, depends, strict=True)):
        failed = sorted(ref for ref in named if ref not in ids)
        if failed:
            result = failed_dependency(failed[0], statuses[failed[0]])
            results.append(result.model_copy(update={"ref": operation.ref}))
            statuses[operation.ref] = 424
            continue
        path = PATH_REF.sub(lambda match: str(ids[match["ref"]]), operation.path)
        headers = {"authorization": authorization, "idempotency-key": operation.idempotency_key}
        if operation.if_match is not None:
            headers["if-match"] = operation.if_match
        if batch_id:
            # The batch's request id with the operation's position, so logs correlate.
            headers["x-request-id"] = f"{batch_id}.{index}"
        body = substitute(operation.body, ids)
        outcome = await call(app, outer, operation.method, path, headers, body)
        etag = outcome.headers.get("etag")
        if outcome.status == 412:
            # The record's current version, so the client can reconcile.
            current = await call(app, outer, "GET", path, {"authorization": authorization}, None)
            etag = current.headers.get("etag") if current.status == 200 else None
        statuses[operation.ref] = outcome.status
        if 200 <= outcome.status < 300 and isinstance(outcome.body, dict):
            record_id = outcome.body.get("id")
            if isinstance(record_id, int):
                ids[operation.ref] = record_id
        results.append(
            SyncResult(
                ref=operation.ref,
                status=outcome.status,
                body=outcome.body,
                etag=etag,
                location=outcome.headers.get("location"),
            )
        )
    return results
