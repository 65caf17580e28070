"""Liveness and readiness probes (no token needed), and the schema check every request
relies on: a database behind (or ahead of) the code's migrations answers 503."""

import asyncio
import logging
import time
from functools import lru_cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import RETRY_AFTER_SECONDS

router = APIRouter(tags=["operations"])
logger = logging.getLogger("app.health")

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Health(BaseModel):
    status: str
    detail: str | None = None


@lru_cache
def migration_heads() -> frozenset[str]:
    """The head revisions of the migrations shipped with this code (read once)."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


async def schema_problem(sessionmaker: async_sessionmaker[AsyncSession]) -> str | None:
    """None when the database answers and is at the code's migration head, else why not."""
    try:
        async with sessionmaker() as session:
            rows = await session.execute(text("SELECT version_num FROM alembic_version"))
            current = {row[0] for row in rows}
    except Exception:
        return "database unreachable"
    if current != migration_heads():
        return "database not migrated to head"
    return None


class SchemaCheck:
    """Remembers a successful schema check for `ttl` seconds, so that requests cost one
    extra query per period, not one each; a failed check is redone on the next request
    (an operator running `tracker db upgrade` is noticed without a restart)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.good_until = float("-inf")
        self._lock = asyncio.Lock()

    async def problem(self, sessionmaker: async_sessionmaker[AsyncSession]) -> str | None:
        if time.monotonic() < self.good_until:
            return None
        async with self._lock:
            if time.monotonic() < self.good_until:
                return None
            problem = await schema_problem(sessionmaker)
            if problem is None:
                self.good_until = time.monotonic() + self.ttl
            return problem

    async def log_at_startup(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        problem = await self.problem(sessionmaker)
        if problem is not None:
            logger.error("%s: requests will be answered 503 until it is fixed", problem)


@router.get(
    "/health/live",
    response_model=Health,
    response_model_exclude_none=True,
    summary="The process is up",
    description="Liveness for a load balancer or orchestrator: answers 200 while the process serves "
    "requests; touches no database. No token needed.",
)
async def live() -> Health:
    return Health(status="ok")


@router.get(
    "/health/ready",
    response_model=Health,
    summary="The database is reachable and migrated to head",
    description="Readiness: 200 when the database answers and its schema is at the migrations' head; "
    "503 (with the reason) otherwise, so that traffic goes elsewhere. No token needed.",
    responses={503: {"model": Health, "description": "Database unreachable or not migrated."}},
)
async def ready(request: Request) -> JSONResponse:
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    problem = await schema_problem(sessionmaker)
    if problem is not None:
        return JSONResponse(
            {"status": "unavailable", "detail": problem},
            503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return JSONResponse({"status": "ok"})
