"""Typed domain errors and their rendering as RFC 9457 problem+json."""

import errno
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("app.errors")

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = 5
"""What a 503 tells clients to wait before retrying (database unreachable or behind)."""


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """The body of every error response."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] | None = None


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = [FieldError(field=f, message=m) for f, m in errors] if errors else None
        self.headers = headers


class Unauthorized(DomainError):
    status = 401
    title = "Not authenticated"

    def __init__(self, detail: str = "A valid bearer token is required.") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class PreconditionFailed(DomainError):
    status = 412
    title = "Precondition failed"


class RuleViolation(DomainError):
    """Input that is well-formed but breaks a business rule; names the field."""

    status = 422
    title = "Validation failed"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, errors=[(field, message)])


class TooManyRequests(DomainError):
    status = 429
    title = "Too many requests"


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(title=title, status=status, detail=detail, errors=errors)
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def field_name(location: Sequence[Any]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        parts = parts[1:]
    return ".".join(parts) or "body"


async def handle_domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem_response(exc.status, exc.title, exc.detail, exc.errors, exc.headers)


async def handle_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = list(exc.errors())
    if any(item.get("type") == "json_invalid" for item in details):
        return problem_response(400, "Malformed JSON", "The request body is not valid JSON.")
    errors = []
    for item in details:
        message = str(item.get("msg", "invalid value"))
        errors.append(FieldError(field=field_name(item.get("loc", ())), message=message))
    summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
    return problem_response(422, "Validation failed", summary, errors)


async def handle_http_exception(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    title = {
        400: "Bad request",
        401: "Not authenticated",
        404: "Not found",
        405: "Method not allowed",
        413: "Request body too large",
        415: "Unsupported media type",
    }.get(exc.status_code, "Error")
    return problem_response(exc.status_code, title, str(exc.detail), headers=headers)


async def handle_integrity_error(_request: Request, exc: Exception) -> JSONResponse:
    logger.info("integrity conflict: %s", type(exc).__name__)
    return problem_response(409, "Conflict", "The change conflicts with existing records.")


async def handle_out_of_range(_request: Request, _exc: Exception) -> JSONResponse:
    # An id or number beyond what the database column holds (e.g. 2**63) names no record.
    return problem_response(
        422, "Validation failed", "A number in the request is out of the supported range."
    )


# Driver exception class names that mean "the database went away", whatever the driver
# (asyncpg raises its own classes, some of them outside the DB-API hierarchy).
UNAVAILABLE_NAMES = {
    "ConnectionDoesNotExistError",
    "ConnectionFailureError",
    "ConnectionRejectionError",
    "CannotConnectNowError",
    "AdminShutdownError",
    "CrashShutdownError",
    "TooManyConnectionsError",
    "QueryCanceledError",
    "InternalClientError",
    "ClientConnectionError",
}


NETWORK_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ETIMEDOUT,
    errno.EPIPE,
}


def is_database_unavailable(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) says the database is unreachable, timed out or
    dropped the connection: a condition to retry later (503), not a bug (500)."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(
            current,
            OperationalError | InterfaceError | PoolTimeoutError | TimeoutError | ConnectionError,
        ):
            return True
        if type(current).__name__ in UNAVAILABLE_NAMES:
            return True
        if isinstance(current, OSError) and (
            current.errno in NETWORK_ERRNOS or str(current).startswith("Multiple exceptions")
        ):
            return True  # refused, unreachable, reset: a socket error reaching the database
        pending.extend([current.__cause__, current.__context__])
        if isinstance(current, DBAPIError):
            orig = current.orig
            pending.append(orig if isinstance(orig, BaseException) else None)
    return False


async def handle_driver_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if is_database_unavailable(exc):
        return await handle_unavailable(request, exc)
    if "out of" in str(exc.orig) and "range" in str(exc.orig):
        return await handle_out_of_range(request, exc)
    return await handle_unexpected(request, exc)


async def handle_stale_data(_request: Request, _exc: Exception) -> JSONResponse:
    return problem_response(
        412, "Precondition failed", "The resource was changed by someone else; reload it."
    )


def unavailable_response(detail: str = "The database is unavailable; retry.") -> JSONResponse:
    return problem_response(
        503, "Service unavailable", detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


async def handle_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    logger.error("database unavailable: %s", type(exc).__name__)
    return unavailable_response()


async def handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    if is_database_unavailable(exc):
        return await handle_unavailable(request, exc)
    logger.exception("unexpected error", exc_info=exc)
    return problem_response(500, "Internal server error", "An unexpected error occurred.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, handle_domain_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_exception_handler(IntegrityError, handle_integrity_error)
    app.add_exception_handler(StaleDataError, handle_stale_data)
    app.add_exception_handler(DataError, handle_out_of_range)
    app.add_exception_handler(OverflowError, handle_out_of_range)
    app.add_exception_handler(DBAPIError, handle_driver_error)
    app.add_exception_handler(OperationalError, handle_unavailable)
    app.add_exception_handler(InterfaceError, handle_unavailable)
    app.add_exception_handler(TimeoutError, handle_unavailable)
    app.add_exception_handler(ConnectionError, handle_unavailable)
    app.add_exception_handler(PoolTimeoutError, handle_unavailable)
    app.add_exception_handler(Exception, handle_unexpected)
