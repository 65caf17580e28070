"""Shared OpenAPI documentation: error responses, the roles of each operation, examples."""

from collections.abc import Iterable
from typing import Any

from app.core.errors import PROBLEM_JSON, Problem
from app.core.roles import ordered, roles_sentence
from app.core.scope import Role

ROLES_KEY = "x-roles"
"""The extension of an operation listing the roles that may call it."""

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


def roles_doc(roles: Iterable[Role]) -> dict[str, Any]:
    """`openapi_extra=` of a route: the role set its service checks (pass the same tuple the
    service gives `actor.require`). `state_roles` turns it into the description's first
    sentence."""
    return {ROLES_KEY: [role.value for role in ordered(roles)]}


def operations(document: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield operation


def state_roles(document: dict[str, Any]) -> dict[str, Any]:
    """Start each operation's description with the roles its `x-roles` names."""
    for operation in operations(document):
        roles = operation.get(ROLES_KEY)
        if roles is None:
            continue
        sentence = roles_sentence(Role(role) for role in roles)
        described = operation.get("description", "")
        operation["description"] = f"{sentence}\n\n{described}" if described else sentence
    return document


READ = (401, 404, 422)
LIST = (401, 404, 422)
CREATE = (400, 401, 403, 409, 413, 415, 422)
UPDATE = (400, 401, 403, 404, 409, 412, 413, 415, 422)
ACTION = (400, 401, 403, 404, 409, 413, 415, 422)


FIELD_SAMPLES: dict[str, Any] = {
    "birth_date": "2001-05-17",
    "first_name": "Fatima Zahra",
    "last_name": "El Amrani",
    "full_name": "Salma Bennani",
    "holder_name": "Fatima Zahra El Amrani",
    "national_id": "BE123456",
    "phone": "+212612345678",
    "email": "f.elamrani@example.ma",
    "address": "12 rue Ibn Battouta, Fès",
    "province": "Fès",
    "city": "Fès",
    "code": "FES-01",
    "name": "Atelier Zellige Fès",
    "activity": "Zellige tiles for riads",
    "ice": "001234567000089",
    "purpose": "A kiln and glazing tools",
    "topic": "Pricing and costing",
    "notes": "Sales up since the fair; needs a second kiln.",
    "next_steps": "Prepare a loan application for equipment.",
    "project_summary": "Traditional zellige workshop employing two apprentices.",
    "reference": "RCPT-2025-0042",
    "reason": "Cheque returned unpaid",
    "rejection_reason": "Debt ratio too high",
    "write_off_reason": "Enterprise closed, no recovery possible",
    "summary": "Repayment of 945.60 MAD",
    "label": "Centre d'entreprises solidaires de Fès",
    "entity": "holder",
    "action": "update",
    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...",
}
"""Plausible values for common field names, so the examples read like real records."""

SAMPLE_STRINGS = {
    "date": "2025-01-15",
    "date-time": "2025-01-15T09:30:00Z",
    "email": "salma.adviser@centre.ma",
}


def sample(
    schema: dict[str, Any], components: dict[str, Any], depth: int = 0, name: str = ""
) -> Any:
    """An example value built from a JSON schema: its own examples where it has some,
    else the first enum value, else a plausible value of its type."""
    if depth > 16:
        return None
    if "$ref" in schema:
        target = components[schema["$ref"].rsplit("/", 1)[-1]]
        return sample(target, components, depth + 1, name)
    if schema.get("examples"):
        return schema["examples"][0]
    if "example" in schema:
        return schema["example"]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        options = [s for s in schema.get(combinator, []) if s.get("type") != "null"]
        if options:
            return sample(options[0], components, depth + 1, name)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        if not properties and isinstance(schema.get("additionalProperties"), dict):
            return {"key": sample(schema["additionalProperties"], components, depth + 1)}
        return {key: sample(sub, components, depth + 1, key) for key, sub in properties.items()}
    if kind == "array":
        return [sample(schema.get("items", {}), components, depth + 1)]
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    if kind == "string":
        if name in FIELD_SAMPLES:
            return FIELD_SAMPLES[name]
        return SAMPLE_STRINGS.get(schema.get("format", ""), "text")
    return None


PROBLEM_EXAMPLE = {
    "type": "about:blank",
    "title": "Validation failed",
    "status": 422,
    "detail": "national_id: one or two letters then 1 to 6 digits",
    "errors": [{"field": "national_id", "message": "one or two letters then 1 to 6 digits"}],
}


def problem_example(status: int) -> dict[str, Any]:
    if status == 422:
        return PROBLEM_EXAMPLE
    description = ERROR_DESCRIPTIONS.get(status, "Error.")
    return {
        "type": "about:blank",
        "title": description.split(" (")[0].split(";")[0].rstrip("."),
        "status": status,
        "detail": description,
    }


def add_examples(document: dict[str, Any]) -> dict[str, Any]:
    """Give every JSON response of the document an example, so that `/docs` shows one for
    every operation: success bodies built from their schema, errors as a problem."""
    components = document.get("components", {}).get("schemas", {})
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                for media_type, media in response.get("content", {}).items():
                    if "example" in media or "examples" in media:
                        continue
                    code = int(status) if status.isdigit() else 0
                    if code >= 400:
                        media["example"] = problem_example(code)
                    elif media_type == "application/json" and media.get("schema"):
                        media["example"] = sample(media["schema"], components)
    return document
