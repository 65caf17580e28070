"""ASGI guards that run before any route: response headers and the request id, the
database schema check, body size and content type."""

import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import PROBLEM_JSON, RETRY_AFTER_SECONDS
from app.core.health import SchemaCheck
from app.core.logging import request_id_var

BODY_METHODS = {"POST", "PUT", "PATCH"}
FORM_PATHS = {"/api/v1/auth/token"}


async def send_problem(
    send: Send,
    status: int,
    title: str,
    detail: str,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"connection", b"close")]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": headers + (extra_headers or []),
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class ResponseHeaders:
    """Every response carries `X-Content-Type-Options: nosniff`, `Referrer-Policy:
    no-referrer` and its request id; API responses (which carry national ids and phones)
    are never stored by a cache. A client's `X-Request-ID` is echoed when it is a plain
    token of at most 128 characters, else a new one is generated, so that log lines cannot
    be forged through it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"x-request-id"),
            "",
        )
        request_id = given if SAFE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        is_api = scope["path"].startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                headers["X-Request-ID"] = request_id
                if is_api:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        token = request_id_var.set(request_id)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            request_id_var.reset(token)


UNGUARDED_PREFIXES = ("/health", "/metrics", "/docs", "/redoc", "/openapi.json", "/static-docs")


class SchemaGuard:
    """Every route but the probes, metrics and docs answers 503 (with `Retry-After`) while
    the database is unreachable or on a schema other than the code's migration head, rather
    than failing later on a missing table or column."""

    def __init__(self, app: ASGIApp, check: SchemaCheck) -> None:
        self.app = app
        self.check = check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(UNGUARDED_PREFIXES):
            problem = await self.check.problem(scope["app"].state.sessionmaker)
            if problem is not None:
                await send_problem(
                    send,
                    503,
                    "Service unavailable",
                    f"The {problem}; retry later.",
                    [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())],
                )
                return
        await self.app(scope, receive, send)


async def refused_nul(scope: Scope, send: Send) -> bool:
    """A NUL character in the path or a query parameter is refused (422) before any route
    runs: PostgreSQL cannot compare or store text containing one."""
    query = scope.get("query_string", b"").decode("latin-1")
    fields = [
        name for name, value in parse_qsl(query, keep_blank_values=True) if "\x00" in name + value
    ]
    if "\x00" in scope["path"]:
        fields.append("path")
    if not fields:
        return False
    message = "must not contain NUL characters (\\u0000)"
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Validation failed",
            "status": 422,
            "detail": f"{fields[0]}: {message}",
            "errors": [{"field": field, "message": message} for field in fields],
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [(b"content-type", PROBLEM_JSON.encode())],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})
    return True


class BodyGuard:
    """Refuses bodies over the limit (413) and non-JSON bodies on JSON endpoints (415).
    Paths under an `uploads` prefix take multipart files up to that prefix's limit."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, uploads: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.uploads = uploads or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and await refused_nul(scope, send):
            return
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        length = headers.get("content-length")
        upload_limit = next(
            (limit for prefix, limit in self.uploads.items() if scope["path"].startswith(prefix)),
            None,
        )
        max_body_bytes = self.max_body_bytes if upload_limit is None else upload_limit
        if length is not None and (not length.isdigit() or int(length) > max_body_bytes):
            await send_problem(
                send,
                413,
                "Request body too large",
                f"Bodies are limited to {max_body_bytes} bytes.",
            )
            return
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        has_body = length not in (None, "0") or "transfer-encoding" in headers
        expects_json = (
            scope["path"].startswith("/api/")
            and scope["path"] not in FORM_PATHS
            and upload_limit is None
        )
        if (
            expects_json
            and has_body
            and not (content_type == "application/json" or content_type.endswith("+json"))
        ):
            await send_problem(
                send, 415, "Unsupported media type", "Send the body as application/json."
            )
            return

        if length is not None:
            await self.app(scope, receive, send)
            return
        # No Content-Length (chunked): read the body here, at most the limit, so that an
        # over-long one is a 413 before the route parses anything (the framework would turn
        # an error raised while it reads into a 400).
        chunks: list[bytes] = []
        received = 0
        while True:
            message: dict[str, Any] = dict(await receive())
            if message["type"] != "http.request":
                break  # the client went away
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > max_body_bytes:
                await send_problem(
                    send,
                    413,
                    "Request body too large",
                    f"Bodies are limited to {max_body_bytes} bytes.",
                )
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
