from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.main import create_app


async def test_live_and_ready_need_no_token(client: AsyncClient) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok"}


async def test_ready_is_503_when_not_migrated_to_head(
    client: AsyncClient, session: AsyncSession
) -> None:
    await session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    await session.commit()
    response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["detail"] == "database not migrated to head"


async def test_ready_is_503_when_database_unreachable(settings: Settings) -> None:
    from httpx import ASGITransport

    unreachable = settings.model_copy(
        update={"database_url": "postgresql://nobody@127.0.0.1:1/none"}
    )
    app = create_app(unreachable)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
        response = await http.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
