"""/metrics (Prometheus text, route templates only) and JSON log lines that carry the
request id and never a national id, a phone number, a token or a password."""

import io
import json
import logging

from httpx import ASGITransport, AsyncClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.logging import json_handler, request_id_var
from app.main import create_app
from tests.helpers import auth
from tests.users.factories import make_user


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text, name).get(tuple(sorted(labels.items())), 0.0)


async def test_metrics_count_requests_by_route_template_without_ids(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await make_user(session, role="admin")
    await session.commit()
    before = (await client.get("/metrics")).text
    template = "/api/v1/centres/{centre_id}"
    for centre_id in (987654, 987655):
        missing = await client.get(f"/api/v1/centres/{centre_id}", headers=auth(admin, settings))
        assert missing.status_code == 404
    wrong = await client.post(
        "/api/v1/auth/token", data={"username": admin.email, "password": "not-the-password"}
    )
    assert wrong.status_code == 401
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    counted = "tracker_http_requests_total"
    labels = {"method": "GET", "route": template, "status": "404"}
    assert value(after, counted, **labels) - value(before, counted, **labels) == 2
    assert value(after, "tracker_http_request_duration_seconds_count", **labels) >= 2
    failures = "tracker_login_failures_total"
    assert (
        value(after, failures, reason="credentials") - value(before, failures, reason="credentials")
        == 1
    )
    assert "987654" not in after and admin.email not in after
    assert samples(after, "tracker_db_pool_connections")
    assert "tracker_repayments_recorded_total" in after


async def test_metrics_can_be_turned_off(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"metrics_enabled": False}))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
        assert (await http.get("/metrics")).status_code == 404


def test_log_lines_are_json_with_the_request_id_and_no_personal_data() -> None:
    stream = io.StringIO()
    handler = json_handler()
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    logger = logging.getLogger("tests.observability")
    logger.addHandler(handler)
    logger.propagate = False
    token = request_id_var.set("req-123")
    try:
        logger.warning(
            "holder %s phone %s token %s body %s",
            "BE123456",
            "+212 6 12 34 56 78",
            "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc",
            'password="hunter2-secret"',
        )
        logger.warning("call 0612345678 about K98765")
    finally:
        request_id_var.reset(token)
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["request_id"] for line in lines] == ["req-123", "req-123"]
    assert lines[0]["level"] == "WARNING"
    text = stream.getvalue()
    for secret in ("BE123456", "12 34 56 78", "eyJhbGci", "hunter2", "0612345678", "K98765"):
        assert secret not in text, secret
