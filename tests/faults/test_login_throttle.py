"""The login throttle holds under concurrency: 16 simultaneous wrong passwords for one
account give at most 5 answers of 401 (the limit) and 429 for all the others."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.security import hash_password
from app.main import create_app
from app.users.models import User
from tests.faults.databases import (
    PG_URL,
    create_postgres_database,
    drop_postgres_database,
    migrate,
)

BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


@pytest.fixture(params=BACKENDS)
def committed_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tracker.db'}"
        migrate(url)
        yield url
        return
    assert PG_URL is not None
    url = create_postgres_database(PG_URL)
    migrate(url)
    yield url
    drop_postgres_database(PG_URL, url)


async def test_sixteen_concurrent_wrong_passwords_give_at_most_five_401(
    committed_database: str,
) -> None:
    settings = Settings(
        database_url=committed_database, secret_key="throttle-secret-key-long-enough-for-hs256"
    )
    app = create_app(settings)
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    async with maker() as session:
        session.add(
            User(
                email="target@centre.ma",
                full_name="Target",
                password_hash=await hash_password("the-right-passphrase"),
                role="viewer",
                is_active=True,
                version=1,
            )
        )
        await session.commit()

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:

        async def wrong(n: int) -> int:
            response = await http.post(
                "/api/v1/auth/token",
                data={"username": "target@centre.ma", "password": f"wrong-password-{n}"},
            )
            return response.status_code

        statuses = await asyncio.gather(*(wrong(n) for n in range(16)))
        right = await http.post(
            "/api/v1/auth/token",
            data={"username": "target@centre.ma", "password": "the-right-passphrase"},
        )
    await app.state.engine.dispose()
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= settings.login_max_failures, statuses
    assert statuses.count(429) >= 16 - settings.login_max_failures
    assert right.status_code == 429  # the account stays throttled for the window
