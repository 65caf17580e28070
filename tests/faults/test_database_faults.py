"""A database that is gone, silent or cut off gives a prompt 503 problem+json with
Retry-After on every route, never a 500 or a hang, and the service recovers by itself."""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response

from app.core.config import Settings
from app.core.security import create_access_token
from app.main import create_app
from tests.faults.databases import (
    PG_URL,
    closed_port,
    create_postgres_database,
    drop_postgres_database,
    migrate,
    terminate_connections,
)

SECRET = "fault-test-secret-key-long-enough-for-hs256"
# Bounds that a hang (asyncpg waits 60 s to connect by default) cannot meet.
CONNECT_TIMEOUT = 1.0
PROMPT = 8.0


def app_for(url: str, *, schema_checked: bool) -> FastAPI:
    app = create_app(
        Settings(
            database_url=url,
            secret_key=SECRET,
            db_connect_timeout=CONNECT_TIMEOUT,
            db_command_timeout=2.0,
        )
    )
    if schema_checked:
        # As if the database went away after the last (cached) schema check: the route
        # itself meets the failure.
        app.state.schema_check.good_until = float("inf")
    return app


def bearer(user_id: int = 1) -> dict[str, str]:
    token, _ = create_access_token(user_id, SECRET, 60)
    return {"Authorization": f"Bearer {token}"}


async def calls(app: FastAPI) -> list[Response]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
        return [
            await http.post(
                "/api/v1/auth/token", data={"username": "a@centre.ma", "password": "x" * 12}
            ),
            await http.get("/api/v1/auth/me", headers=bearer()),
            await http.get("/api/v1/holders", headers=bearer()),
            await http.post("/api/v1/centres", json={"code": "X"}, headers=bearer()),
            await http.get("/health/ready"),
        ]


def assert_unavailable(responses: list[Response]) -> None:
    for response in responses:
        assert response.status_code == 503, (response.request.url, response.text)
        assert response.headers["retry-after"].isdigit()
        if response.request.url.path.startswith("/api/"):
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["status"] == 503


@pytest.mark.parametrize("schema_checked", [False, True], ids=["guard", "route"])
async def test_connection_refused_is_a_prompt_503(schema_checked: bool) -> None:
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/tracker"
    started = time.monotonic()
    assert_unavailable(await calls(app_for(url, schema_checked=schema_checked)))
    assert time.monotonic() - started < PROMPT


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A server that accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    yield port
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


@pytest.mark.parametrize("schema_checked", [False, True], ids=["guard", "route"])
async def test_a_server_that_never_answers_is_a_prompt_503(
    silent_server: int, schema_checked: bool
) -> None:
    url = f"postgresql://postgres@127.0.0.1:{silent_server}/tracker"
    started = time.monotonic()
    # Five calls, each bounded by the connect timeout.
    assert_unavailable(await calls(app_for(url, schema_checked=schema_checked)))
    assert time.monotonic() - started < 5 * CONNECT_TIMEOUT + PROMPT


async def test_sqlite_database_behind_the_code_is_503_everywhere(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    url = f"sqlite:///{tmp_path_factory.mktemp('behind') / 'tracker.db'}"
    migrate(url, "0003")
    app = app_for(url, schema_checked=False)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
        for method, path in [
            ("GET", "/api/v1/auth/me"),
            ("GET", "/api/v1/holders"),
            ("GET", "/api/v1/coaching-sessions"),
            ("GET", "/api/v1/reports/portfolio"),
            ("POST", "/api/v1/auth/token"),
        ]:
            response = await http.request(method, path, headers=bearer())
            assert response.status_code == 503, (path, response.text)
            assert "not migrated" in response.json()["detail"]
            assert response.headers["retry-after"].isdigit()
        assert (await http.get("/health/ready")).status_code == 503
        assert (await http.get("/health/live")).status_code == 200
        # Upgrading while the service runs is noticed without a restart.
        migrate(url)
        assert (await http.get("/health/ready")).status_code == 200
        response = await http.get("/api/v1/auth/me", headers=bearer())
        assert response.status_code == 401  # no such user: the request reached the route


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if PG_URL is None:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    url = create_postgres_database(PG_URL)
    migrate(url)
    yield url
    drop_postgres_database(PG_URL, url)


async def test_connections_killed_mid_burst_give_only_2xx_or_503_then_recover(
    postgres_url: str,
) -> None:
    assert PG_URL is not None
    app = create_app(Settings(database_url=postgres_url, secret_key=SECRET))
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http,
    ):
        admin = await admin_token(app)
        headers = {"Authorization": f"Bearer {admin}"}
        statuses: list[int] = []

        async def client(n: int) -> None:
            for i in range(15):
                if i % 3 == 0:
                    body = {
                        "code": f"K{n:02d}{i:02d}",
                        "name": f"Centre {n}-{i}",
                        "kind": "enterprise_centre",
                        "region": "oriental",
                        "city": "Oujda",
                        "opened_on": "2024-01-01",
                    }
                    response = await http.post("/api/v1/centres", json=body, headers=headers)
                else:
                    response = await http.get("/api/v1/centres", headers=headers)
                statuses.append(response.status_code)
                assert response.status_code in (200, 201, 503), response.text

        async def killer() -> int:
            killed = 0
            for _ in range(4):
                await asyncio.sleep(0.05)
                killed += await asyncio.to_thread(terminate_connections, PG_URL, postgres_url)
            return killed

        killing = asyncio.create_task(killer())
        await asyncio.gather(*(client(n) for n in range(8)))
        assert await killing > 0, "the test must cut live connections"
        # Recovery with no restart: the pool replaces its dead connections.
        for _ in range(5):
            assert (await http.get("/api/v1/centres", headers=headers)).status_code == 200
        assert (await http.get("/health/ready")).status_code == 200


async def admin_token(app: FastAPI) -> str:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from app.core.security import hash_password
    from app.users.models import User

    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    async with maker() as session:
        user = User(
            email="admin@centre.ma",
            full_name="Admin",
            password_hash=await hash_password("a-long-passphrase-2026"),
            role="admin",
            centre_id=None,
            is_active=True,
            version=1,
        )
        session.add(user)
        await session.commit()
        token, _ = create_access_token(user.id, SECRET, 60)
    return token
