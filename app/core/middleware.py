"""ASGI guards that run before any route: body size and content type."""

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import PROBLEM_JSON

BODY_METHODS = {"POST", "PUT", "PATCH"}
FORM_PATHS = {"/api/v1/auth/token"}


async def send_problem(send: Send, status: int, title: str, detail: str) -> None:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


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

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message: dict[str, Any] = dict(await receive())
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body_bytes:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge:
            await send_problem(
                send,
                413,
                "Request body too large",
                f"Bodies are limited to {max_body_bytes} bytes.",
            )


class BodyTooLarge(Exception):
    pass
