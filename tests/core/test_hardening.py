"""Response hardening and input normalisation shared by every domain: security headers,
request ids, offline docs, 413 for over-long chunked bodies, strict integers and dates,
unsigned zero amounts, invisible-only names, and CSV cells that cannot run as formulas."""

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.schemas import EXAMPLE as CENTRE
from app.core.config import Settings
from app.loans.schemas import PRODUCT_EXAMPLE
from app.main import create_app
from app.reports.render import Column, Kind, ReportFile, Table, iter_csv
from tests.helpers import auth
from tests.loans.factories import make_lender
from tests.users.factories import make_user


async def test_every_response_carries_the_security_headers(client: AsyncClient) -> None:
    for path, is_api in [
        ("/api/v1/auth/me", True),
        ("/api/v1/no-such-route", True),
        ("/health/live", False),
        ("/openapi.json", False),
    ]:
        response = await client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "no-referrer", path
        assert len(response.headers["x-request-id"]) >= 16, path
        assert (response.headers.get("cache-control") == "no-store") is is_api, path


async def test_request_ids_are_echoed_when_plain_and_replaced_when_not(
    client: AsyncClient,
) -> None:
    echoed = await client.get("/health/live", headers={"X-Request-ID": "centre-7.abc:42"})
    assert echoed.headers["x-request-id"] == "centre-7.abc:42"
    forged = await client.get("/health/live", headers={"X-Request-ID": 'x" level=ERROR' * 20})
    assert forged.headers["x-request-id"] != 'x" level=ERROR' * 20
    first, second = await client.get("/health/live"), await client.get("/health/live")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_docs_are_served_from_files_the_service_ships(client: AsyncClient) -> None:
    for page, assets in [
        ("/docs", ["swagger-ui-bundle.js", "swagger-ui.css"]),
        ("/redoc", ["redoc.standalone.js"]),
    ]:
        html = (await client.get(page)).text
        assert "cdn" not in html.lower() and "https://" not in html, page
        for asset in assets:
            assert f"/static-docs/{asset}" in html
            served = await client.get(f"/static-docs/{asset}")
            assert served.status_code == 200
            assert len(served.content) > 10_000


async def test_docs_can_be_turned_off(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"docs_enabled": False}))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
        for path in ("/docs", "/redoc", "/openapi.json", "/static-docs/swagger-ui.css"):
            assert (await http.get(path)).status_code == 404, path


async def test_an_over_long_chunked_body_is_413(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await make_user(session, role="admin")
    await session.commit()
    limit = settings.max_body_bytes

    async def chunks(total: int) -> AsyncIterator[bytes]:
        yield b'{"code": "'
        for _ in range(total // 1024):
            yield b"x" * 1024
        yield b'"}'

    headers = {**auth(admin, settings), "Content-Type": "application/json"}
    response = await client.post("/api/v1/centres", content=chunks(limit + 4096), headers=headers)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"

    async def small() -> AsyncIterator[bytes]:
        body = b'{"code": "CH-1", "name": "Chunked", "kind": "other", '
        yield body
        yield b'"region": "oriental", "city": "Oujda"}'

    created = await client.post("/api/v1/centres", content=small(), headers=headers)
    assert created.status_code == 201, created.text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"opened_on": "2024-01-01T10:00:00"}, "opened_on"),
        ({"opened_on": "2024-01-01T00:00:00Z"}, "opened_on"),
        ({"opened_on": 1704067200}, "opened_on"),
        ({"name": "\u200b\u200c\u200d"}, "name"),
        ({"name": "\u202e\u2066\u2069 \ufeff"}, "name"),
        ({"city": "\u200f"}, "city"),
    ],
)
async def test_dates_are_dates_and_names_are_visible(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    change: dict[str, Any],
    field: str,
) -> None:
    admin = await make_user(session, role="admin")
    await session.commit()
    response = await client.post(
        "/api/v1/centres", json={**CENTRE, **change}, headers=auth(admin, settings)
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


async def test_integers_are_never_booleans_and_zero_has_no_sign(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await make_user(session, role="admin")
    lender = await make_lender(session)
    await session.commit()
    headers = auth(admin, settings)
    product = {**PRODUCT_EXAMPLE, "lender_id": lender.id}
    for change in ({"min_term": True}, {"max_term": False}, {"lender_id": True}):
        refused = await client.post(
            "/api/v1/loan-products", json={**product, **change}, headers=headers
        )
        assert refused.status_code == 422, change
        assert refused.json()["errors"][0]["field"] == next(iter(change))
    created = await client.post(
        "/api/v1/loan-products", json={**product, "annual_rate": "-0.00"}, headers=headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["annual_rate"] == "0.00"


def test_csv_text_cells_cannot_run_as_formulas() -> None:
    layout = ReportFile(
        "test",
        "Test",
        [
            Column("label", "Label", Kind.text, ("label",)),
            Column("amount", "Amount", Kind.money, ("amount",)),
        ],
    )
    labels = ['=HYPERLINK("http://x","y")', "+33", "-2+3", "@SUM(A1)", "\tx", "\rx", "Safi"]
    table = Table(
        layout,
        [],
        [{"label": label, "amount": "-12.50"} for label in labels],
        {"label": None, "amount": "0.00"},
    )
    text = b"".join(iter_csv(table)).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))[1:-1]
    assert [row[0] for row in rows] == [
        '\'=HYPERLINK("http://x","y")',
        "'+33",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "Safi",
    ]
    assert {row[1] for row in rows} == {"-12.50"}  # numbers stay numbers
