"""Fixtures of the browser tests: a site (database + real server) per backend, its users,
and headless Chromium (Debian's package, driven by Playwright; never a downloaded build)."""

import os
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright

from tests.pages.server import database, serve
from tests.pages.site import Site, fill

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BACKENDS = ["sqlite", "postgresql"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]


@pytest.fixture(scope="module", params=BACKENDS)
async def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    backend: str = request.param
    directory = tmp_path_factory.mktemp(f"browser-{backend}")
    with database(backend, directory) as url:
        generated, admin, manager, viewer = await fill(url)
        with serve(url, directory / "server.log") as server:
            yield Site(backend, server, generated, admin, manager, viewer)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 (one stat before launching)
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()
