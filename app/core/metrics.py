"""Prometheus metrics (prometheus-client): request counts and latency by route template and
status, database pool use, repayments recorded and login failures. Labels never carry ids
or personal data: a path is reported by its template (`/api/v1/loans/{loan_id}`), and a
request that matched no route is reported as `unmatched`.

With several uvicorn workers, `PROMETHEUS_MULTIPROC_DIR` must name an empty directory
before the workers start (`tracker serve` does this); each worker then writes its samples
there and `/metrics` sums them across workers."""

import os
import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REPAYMENT_ROUTE = ("POST", "/api/v1/loans/{loan_id}/repayments")

REQUESTS = Counter(
    "tracker_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "tracker_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
POOL_CONNECTIONS = Gauge(
    "tracker_db_pool_connections",
    "Database connections of the pool, by state (in_use, idle).",
    ["state"],
    multiprocess_mode="livesum",
)
REPAYMENTS = Counter("tracker_repayments_recorded_total", "Repayments recorded (201 answers).")
LOGIN_FAILURES = Counter(
    "tracker_login_failures_total",
    "Refused logins, by reason (credentials, throttled, invalid_input).",
    ["reason"],
)


def record_login_failure(reason: str) -> None:
    LOGIN_FAILURES.labels(reason=reason).inc()


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


def observe_pool(engine: Any) -> None:
    pool = engine.sync_engine.pool
    checked_out = getattr(pool, "checkedout", None)
    checked_in = getattr(pool, "checkedin", None)
    if callable(checked_out) and callable(checked_in):
        POOL_CONNECTIONS.labels(state="in_use").set(checked_out())
        POOL_CONNECTIONS.labels(state="idle").set(checked_in())


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/metrics":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            method, route = scope["method"], route_template(scope)
            labels = {"method": method, "route": route, "status": str(status)}
            REQUESTS.labels(**labels).inc()
            LATENCY.labels(**labels).observe(time.perf_counter() - started)
            if (method, route) == REPAYMENT_ROUTE and status == 201:
                REPAYMENTS.inc()
            engine = getattr(scope["app"].state, "engine", None)
            if engine is not None:
                observe_pool(engine)


async def metrics_endpoint(_request: Request) -> Response:
    """The Prometheus text exposition of every metric (summed across workers)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest()
    return Response(body, media_type=CONTENT_TYPE_LATEST)
