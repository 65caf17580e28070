"""Liveness and readiness probes (no token needed)."""

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

router = APIRouter(tags=["operations"])

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Health(BaseModel):
    status: str
    detail: str | None = None


def migration_heads() -> set[str]:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return set(ScriptDirectory.from_config(config).get_heads())


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
    try:
        async with sessionmaker() as session:
            rows = await session.execute(text("SELECT version_num FROM alembic_version"))
            current = {row[0] for row in rows}
    except Exception:
        return JSONResponse({"status": "unavailable", "detail": "database unreachable"}, 503)
    if current != migration_heads():
        return JSONResponse(
            {"status": "unavailable", "detail": "database not migrated to head"}, 503
        )
    return JSONResponse({"status": "ok"})
