"""The ASGI application: `uvicorn app.main:app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from app.audit.router import router as audit_router
from app.centres.deps import known_centre_param
from app.centres.router import router as centres_router
from app.coaching.router import router as coaching_router
from app.core.config import Settings, get_settings
from app.core.db import create_engine, create_sessionmaker
from app.core.errors import install_error_handlers
from app.core.health import SchemaCheck
from app.core.health import router as health_router
from app.core.logging import configure_logging
from app.core.metrics import MetricsMiddleware, metrics_endpoint
from app.core.middleware import BodyGuard, ResponseHeaders, SchemaGuard
from app.core.openapi import add_examples, state_roles
from app.enterprises.router import router as enterprises_router
from app.followups.router import me_router as worklist_router
from app.followups.router import router as follow_ups_router
from app.holders.router import router as holders_router
from app.imports.router import UPLOAD_BODY_BYTES, handle_import_rejected
from app.imports.router import router as imports_router
from app.imports.rows import ImportRejected
from app.loans.router import router as loans_router
from app.pages.router import router as pages_router
from app.pages.static import mount_static
from app.reports.router import router as reports_router
from app.sync.router import router as sync_router
from app.timeline.router import router as timeline_router
from app.users.router import auth_router, describe_throttling, users_router
from app.users.service import load_actor

API_VERSION = "1.0.0"

DESCRIPTION = """
The system of record of a solidarity enterprise centre: the young project holders it
supports, the very small enterprises they create, their microloans from partner
microcredit associations, the advisers' coaching and the enterprises' follow-up visits,
and the reports managers decide from.

* Authenticate with `POST /api/v1/auth/token` (the **Authorize** button), then send
  `Authorization: Bearer <token>`.
* Amounts are MAD as strings with two decimals (`"12500.00"`); dates are `YYYY-MM-DD`.
* Errors are `application/problem+json`; validation errors list `{field, message}`.
* Lists return `{items, total, limit, offset}`; `limit` is 1 to 500.
* Mutable resources carry `version` and an `ETag`; send `If-Match` on `PATCH`.
"""

TAGS = [
    {"name": "auth", "description": "Log in and identify the caller."},
    {"name": "users", "description": "Accounts and roles (admin only)."},
    {"name": "centres", "description": "The centres that coach holders and follow loans."},
    {"name": "holders", "description": "Young project holders supported by a centre."},
    {"name": "enterprises", "description": "Very small enterprises (TPE) created by holders."},
    {"name": "lenders", "description": "Partner microcredit associations and their products."},
    {"name": "loans", "description": "Applications, schedules, repayments and arrears."},
    {
        "name": "coaching",
        "description": "Advice, follow-up, evaluation, training, business relations.",
    },
    {
        "name": "follow-ups",
        "description": "Periodic visits of each enterprise; the adviser's worklist.",
    },
    {
        "name": "reports",
        "description": "Portfolio at risk, flows, coaching and impact (JSON, CSV, Excel).",
    },
    {
        "name": "imports",
        "description": "Spreadsheets of holders, enterprises and loans, and lenders' "
        "repayment statements (CSV or XLSX), all or nothing.",
    },
    {"name": "audit", "description": "Who changed what and when."},
    {"name": "sync", "description": "A day's field work queued offline, sent in one batch."},
    {"name": "operations", "description": "Health probes."},
]

# Swagger UI and ReDoc come from the files that the fastapi-offline package ships, so the
# docs work on a centre's network with no internet access (no CDN).
DOCS_STATIC = Path(fastapi_offline.__file__).parent / "static"
DOCS_STATIC_URL = "/static-docs"


def add_offline_docs(app: FastAPI) -> None:
    app.mount(DOCS_STATIC_URL, StaticFiles(directory=DOCS_STATIC), name="static-docs")
    oauth2_redirect = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{oauth2_redirect}",
            swagger_js_url=f"{root}{DOCS_STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_STATIC_URL}/favicon.png",
        )

    @app.get(oauth2_redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}/openapi.json",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_STATIC_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_STATIC_URL}/favicon.png",
            with_google_fonts=False,
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    # No pre-ping: it costs a round trip per request (about a third of the throughput of
    # small reads, bench/api_bench.py); a connection lost to a database restart fails one
    # request with a 503, and SQLAlchemy then replaces the pool's stale connections.
    engine = create_engine(
        settings.database_url,
        connect_timeout=settings.db_connect_timeout,
        command_timeout=settings.db_command_timeout,
        pool_size=settings.db_pool_size,
    )
    schema_check = SchemaCheck(ttl=settings.schema_check_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await schema_check.log_at_startup(app.state.sessionmaker)
        yield
        await engine.dispose()
        if reports_engine is not None:
            await reports_engine.dispose()

    app = FastAPI(
        title="Microcredit and small-enterprise support tracker",
        version=API_VERSION,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
    )
    if settings.docs_enabled:
        add_offline_docs(app)
    if settings.metrics_enabled:
        app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.state.settings = settings
    app.state.load_actor = load_actor
    app.state.schema_check = schema_check
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    reports_engine = (
        create_engine(
            settings.reports_database_url,
            connect_timeout=settings.db_connect_timeout,
            command_timeout=settings.db_command_timeout,
            pool_size=settings.db_pool_size,
        )
        if settings.reports_database_url
        else None
    )
    app.state.reports_engine = reports_engine
    app.state.reports_sessionmaker = (
        create_sessionmaker(reports_engine) if reports_engine is not None else None
    )

    install_error_handlers(app)
    for router in (health_router, auth_router, users_router, centres_router, pages_router):
        app.include_router(router)
    mount_static(app)
    for router in (
        audit_router,
        holders_router,
        timeline_router,
        enterprises_router,
        loans_router,
        coaching_router,
        follow_ups_router,
        worklist_router,
        reports_router,
        imports_router,
    ):
        app.include_router(router, dependencies=[Depends(known_centre_param)])
    # No request-wide session on the batch route: its operations run as requests of their own.
    app.include_router(sync_router)
    app.add_exception_handler(ImportRejected, handle_import_rejected)
    build_openapi = app.openapi

    def openapi_with_examples() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = describe_throttling(state_roles(build_openapi()), settings)
            app.openapi_schema = add_examples(document)
        return app.openapi_schema

    app.openapi = openapi_with_examples  # type: ignore[method-assign]
    # Added innermost first: headers and the request id wrap everything, so that even a
    # 413 or a 503 from the guards carries them.
    app.add_middleware(
        BodyGuard,
        max_body_bytes=settings.max_body_bytes,
        uploads={imports_router.prefix + "/": UPLOAD_BODY_BYTES},
    )
    app.add_middleware(SchemaGuard, check=schema_check)
    if settings.metrics_enabled:
        app.add_middleware(MetricsMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=[
                "ETag",
                "Location",
                "Content-Disposition",
                "Idempotent-Replayed",
                "X-Request-ID",
                "Retry-After",
            ],
        )
    app.add_middleware(ResponseHeaders)
    return app


app = create_app()
