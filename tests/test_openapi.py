"""The OpenAPI document is complete enough for a frontend developer to build on."""

from typing import Any

from app.core.config import Settings
from app.core.roles import WRITERS, ordered, roles_sentence
from app.core.scope import Role
from app.loans import rules as loan_rules
from app.main import create_app

PUBLIC = {("/api/v1/auth/token", "post"), ("/health/live", "get"), ("/health/ready", "get")}


def openapi() -> dict[str, Any]:
    app = create_app(Settings(secret_key="x" * 40))
    return app.openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def success_schema(operation: dict[str, Any]) -> dict[str, Any] | None:
    for status in ("200", "201"):
        response = operation["responses"].get(status)
        if response is None:
            continue
        for media in response.get("content", {}).values():
            if media.get("schema"):
                return dict(media["schema"])
    return None


def test_every_operation_is_documented() -> None:
    document = openapi()
    problems: list[str] = []
    for path, method, operation in operations(document):
        name = f"{method.upper()} {path}"
        if not operation.get("summary"):
            problems.append(f"{name}: no summary")
        if success_schema(operation) is None:
            problems.append(f"{name}: no response model")
        statuses = set(operation["responses"])
        if (path, method) not in PUBLIC and "401" not in statuses:
            problems.append(f"{name}: 401 not documented")
        has_input = bool(operation.get("parameters")) or "requestBody" in operation
        if has_input and "422" not in statuses:
            problems.append(f"{name}: 422 not documented")
        if "{" in path and (path, method) not in PUBLIC and "404" not in statuses:
            problems.append(f"{name}: 404 not documented")
        if method == "patch" and "412" not in statuses:
            problems.append(f"{name}: 412 not documented")
        for status, response in operation["responses"].items():
            # Health probes answer 503 with their own small status body, for load balancers.
            if path.startswith("/health"):
                continue
            if status.startswith(("4", "5")) and "application/problem+json" not in response.get(
                "content", {}
            ):
                problems.append(f"{name}: {status} is not documented as problem+json")
    assert problems == []


def test_every_json_request_body_has_an_example() -> None:
    document = openapi()
    schemas = document["components"]["schemas"]
    missing: list[str] = []
    for path, method, operation in operations(document):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is None:
            continue
        schema = body.get("schema", {})
        ref = schema.get("$ref", "")
        resolved = schemas.get(ref.rsplit("/", 1)[-1], {}) if ref else schema
        if not (body.get("example") or body.get("examples") or resolved.get("examples")):
            missing.append(f"{method.upper()} {path}")
    assert missing == []


async def test_every_response_shows_an_example_in_the_served_document() -> None:
    from httpx import ASGITransport, AsyncClient

    app = create_app(Settings(secret_key="x" * 40))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
        document = (await http.get("/openapi.json")).json()
    missing = [
        f"{method.upper()} {path} {status} {media_type}"
        for path, method, operation in operations(document)
        for status, response in operation["responses"].items()
        for media_type, media in response.get("content", {}).items()
        if media_type in ("application/json", "application/problem+json")
        and "example" not in media
        and "examples" not in media
    ]
    assert missing == []
    responses = document["paths"]["/api/v1/holders/{holder_id}"]["get"]["responses"]
    example = responses["200"]["content"]["application/json"]["example"]
    assert example["national_id"] == "BE123456"
    assert example["gender"] in ("female", "male")
    not_found = responses["404"]["content"]["application/problem+json"]["example"]
    assert not_found["status"] == 404


def test_bearer_security_scheme_and_tags() -> None:
    document = openapi()
    schemes = document["components"]["securitySchemes"]
    assert schemes["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
    declared = {tag["name"] for tag in document["tags"]}
    used = {tag for _, _, operation in operations(document) for tag in operation.get("tags", [])}
    assert used <= declared
    assert document["info"]["title"] and document["info"]["description"]


def test_every_operation_has_a_description() -> None:
    """Beyond the generated roles sentence: words a client developer can act on."""
    missing = []
    for path, method, operation in operations(openapi()):
        text = operation.get("description", "")
        if text.startswith("**Roles:**"):
            text = text.partition("\n\n")[2]
        if len(text.strip()) < 20:
            missing.append(f"{method.upper()} {path}")
    assert missing == []


def test_every_protected_operation_states_the_roles_its_service_checks() -> None:
    document = openapi()
    unstated = []
    for path, method, operation in operations(document):
        if (path, method) in PUBLIC:
            assert "x-roles" not in operation
            continue
        roles = operation.get("x-roles")
        if not roles:
            unstated.append(f"{method.upper()} {path}")
            continue
        expected = roles_sentence(Role(role) for role in roles)
        assert operation["description"].startswith(expected + "\n\n"), (path, method)
    assert unstated == []
    paths = document["paths"]
    # The role sets come from the very tuples the services pass to `actor.require`.
    repay = paths["/api/v1/loans/{loan_id}/repayments"]["post"]
    assert repay["x-roles"] == [role.value for role in ordered(loan_rules.REPAY_ROLES)]
    assert repay["description"].startswith("**Roles:** admins, advisers.\n\n")
    reverse = paths["/api/v1/loans/{loan_id}/transactions/{transaction_id}/reverse"]["post"]
    assert reverse["x-roles"] == ["admin", "manager"]
    assert paths["/api/v1/holders"]["post"]["x-roles"] == [r.value for r in WRITERS]
    assert paths["/api/v1/users"]["get"]["description"].startswith("**Roles:** admins.")
    assert paths["/api/v1/holders"]["get"]["description"].startswith("**Roles:** every role.")
    assert paths["/api/v1/audit-events"]["get"]["x-roles"] == ["admin", "manager"]


def test_summaries_name_no_roles_by_hand() -> None:
    for path, method, operation in operations(openapi()):
        assert "(admin" not in operation["summary"], (path, method)


def test_the_login_description_states_the_throttling_settings_in_force() -> None:
    settings = Settings(
        secret_key="x" * 40,
        login_max_failures=7,
        login_address_max_failures=33,
        login_window_minutes=9,
    )
    login = create_app(settings).openapi()["paths"]["/api/v1/auth/token"]["post"]
    assert (
        "After 7 failed attempts for one account, or 33 from one address, within 9 minutes"
        in (login["description"])
    )
    default = openapi()["paths"]["/api/v1/auth/token"]["post"]["description"]
    assert "After 5 failed attempts for one account, or 20 from one address, within 15" in default
