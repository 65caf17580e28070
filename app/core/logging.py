"""Logging as JSON lines that carry the request id and never carry personal data: access
logs lose their query strings (where searches by name, national id or phone number would
otherwise be written), and anything shaped like a token, a national id (CIN) or a phone
number is masked in every message."""

import logging
import re
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
"""The id of the request being served (set by the ResponseHeaders middleware)."""

REDACTIONS = [
    # Bearer tokens (JWTs) and Authorization headers.
    (re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer [redacted]"),
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*"), "[redacted-token]"),
    # password=... in forms or query strings, "password": "..." in JSON.
    (re.compile(r"(?i)(password[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+"), r"\1[redacted]"),
    # Moroccan phone numbers: +212 6..., 00212 6..., 06 12 34 56 78.
    (re.compile(r"(?<!\d)(?:\+212|00212|0)[\s.-]?[5-7](?:[\s.-]?\d){8}(?!\d)"), "[redacted-phone]"),
    # CIN: one or two letters then five or six digits (BE123456, A12345).
    (re.compile(r"\b[A-Za-z]{1,2}\d{5,6}\b"), "[redacted-id]"),
]


def redact(text: str) -> str:
    for pattern, replacement in REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class DropQueryString(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path = args[2].split("?", 1)[0]
            record.args = (*args[:2], path, *args[3:])
        return True


class RequestContext(logging.Filter):
    """Adds `request_id` to every record and masks personal data in the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonLines(JsonFormatter):
    def formatException(self, ei: object) -> str:
        return redact(super().formatException(ei))  # type: ignore[arg-type]


def json_handler() -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonLines(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(RequestContext())
    return handler


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    root.setLevel(level)
    if not any(isinstance(f, RequestContext) for h in root.handlers for f in h.filters):
        for handler in list(root.handlers):
            if isinstance(handler, logging.StreamHandler) and handler.stream in (
                sys.stderr,
                sys.stdout,
            ):
                root.removeHandler(handler)
        root.addHandler(json_handler())
    # Driver debug logs print statements with their parameters (CINs, phone numbers).
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, DropQueryString) for f in access.filters):
        access.addFilter(DropQueryString())
    # uvicorn's own loggers write through their handlers at levels of their own (INFO for
    # the access log); route them to the JSON one at `level`, so that LOG_LEVEL=WARNING
    # writes no line per request (nor pays for formatting and masking one).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        named = logging.getLogger(name)
        named.handlers = []
        named.propagate = True
        named.setLevel(logging.NOTSET)
