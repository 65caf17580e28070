"""Shared OpenAPI documentation of error responses."""

from typing import Any

from app.core.errors import PROBLEM_JSON, Problem

ERROR_DESCRIPTIONS = {
    400: "Malformed request (e.g. invalid JSON).",
    401: "Missing, invalid or expired bearer token.",
    403: "The caller's role may not do this.",
    404: "Not found, or outside the caller's centre.",
    409: "Conflicts with the current state or an existing record.",
    412: "`If-Match` names a stale version.",
    413: "Request body over 1 MiB.",
    415: "The body is not application/json.",
    422: "Validation failed; `errors` names each field and rule.",
    429: "Too many failed login attempts; retry later.",
    503: "The database is unavailable.",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for the given error statuses, all problem+json."""
    return {
        status: {
            "model": Problem,
            "description": ERROR_DESCRIPTIONS[status],
            "content": {PROBLEM_JSON: {}},
        }
        for status in statuses
    }


READ = (401, 404, 422)
LIST = (401, 404, 422)
CREATE = (400, 401, 403, 409, 413, 415, 422)
UPDATE = (400, 401, 403, 404, 409, 412, 413, 415, 422)
ACTION = (400, 401, 403, 404, 409, 413, 415, 422)
