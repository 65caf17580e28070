"""The pages in headless Chromium against a real server: log in through the form, read the
dashboard as a centre's manager and as an admin (every chart drawn, every figure equal to
the API's), no console error and no request to another host, another centre's page is a
404, an expired session goes back to the login form, and the yearly report prints to an
A4 PDF that holds the year's figures."""

import io
import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page
from pypdf import PdfReader

from app.core.security import create_access_token
from app.pages import labels
from tests.pages.server import SECRET_KEY
from tests.pages.site import ARABIC_CENTRE, ARABIC_MANAGER, Account, Site

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"


class Watched:
    """A browser page whose console errors and requested hosts are recorded."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.hosts: set[str] = set()
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", lambda request: self.hosts.add(urlparse(request.url).netloc))


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    created = await browser.new_context(viewport={"width": 1360, "height": 900}, locale="fr-FR")
    yield created
    await created.close()


async def log_in(context: BrowserContext, site: Site, account: Account) -> Watched:
    watched = Watched(await context.new_page())
    page = watched.page
    await page.goto(f"{site.base_url}/dashboard")
    assert page.url == f"{site.base_url}/login", "without a session, the dashboard asks to log in"
    await page.fill("#username", account.email)
    await page.fill("#password", account.password)
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    assert page.url == f"{site.base_url}/dashboard"
    return watched


async def api(site: Site, account: Account, path: str, **params: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=site.base_url, timeout=60) as client:
        token = await client.post(
            "/api/v1/auth/token", data={"username": account.email, "password": account.password}
        )
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


async def shown(page: Page, selector: str) -> list[dict[str, str]]:
    """For each element matching `selector`: its data-* keys and the figures inside it."""
    found: list[dict[str, str]] = await page.eval_on_selector_all(
        selector,
        """elements => elements.map(element => {
            const row = {...element.dataset};
            for (const cell of element.querySelectorAll('[data-figure]')) {
                row[cell.dataset.figure] = cell.dataset.value;
                row[cell.dataset.figure + ':text'] = cell.textContent.trim();
            }
            return row;
        })""",
    )
    return found


def ratio_or_empty(value: str | None) -> str:
    return "" if value is None else value


async def check_charts(page: Page, expected: int) -> None:
    charts = await page.eval_on_selector_all(
        "figure.chart svg",
        """svgs => svgs.map(svg => ({
            width: svg.getBoundingClientRect().width,
            marks: svg.querySelectorAll('.series rect, .series path, .series circle').length,
        }))""",
    )
    assert len(charts) == expected
    for chart in charts:
        assert chart["width"] > 200 and chart["marks"] > 0, chart


async def check_dashboard(site: Site, account: Account, watched: Watched) -> None:
    page = watched.page
    centre = account.centre_id
    scope: dict[str, Any] = {} if centre is None else {"centre_id": centre}
    today = date.fromisoformat(
        (await api(site, account, "/api/v1/reports/portfolio/trend", months=1))["points"][-1][
            "as_of"
        ]
    )
    portfolio = await api(site, account, "/api/v1/reports/portfolio", **scope)
    trend = await api(site, account, "/api/v1/reports/portfolio/trend", **scope)
    activity = await api(site, account, "/api/v1/reports/activity", year=today.year, **scope)
    first_month = date(today.year - (1 if today.month < 12 else 0), (today.month % 12) + 1, 1)
    flows = await api(
        site,
        account,
        "/api/v1/reports/flows",
        **{"from": first_month.isoformat(), "to": today.isoformat(), "interval": "month"},
        **scope,
    )
    heading = (await page.text_content("#centre-name") or "").strip()
    assert heading == (ARABIC_CENTRE if centre is not None else "Tous les centres")
    assert await page.get_attribute("#centre-name bdi", "dir") == "auto"

    total = portfolio["total"]
    (headline,) = await shown(page, ".headline")
    assert headline["active_loans"] == str(total["active_loans"])
    assert headline["outstanding_principal"] == total["outstanding_principal"]
    assert headline["outstanding_principal:text"] == labels.money(total["outstanding_principal"])
    assert headline["par30_ratio"] == ratio_or_empty(total["par30_ratio"])
    assert headline["par30_ratio:text"] == labels.percent(total["par30_ratio"])
    assert headline["holders_supported"] == str(activity["holders"]["supported"])
    assert headline["enterprises_created"] == str(activity["enterprises"]["created"])
    assert total["active_loans"] > 0

    trend_rows = await shown(page, "#par30-trend tbody tr")
    assert len(trend_rows) == 13
    for row, point in zip(trend_rows, trend["points"], strict=True):
        assert row["asOf"] == point["as_of"]
        assert row["active_loans"] == str(point["active_loans"])
        assert row["outstanding_principal"] == point["outstanding_principal"]
        assert row["par30_ratio"] == ratio_or_empty(point["par30_ratio"])
        assert row["par90_ratio"] == ratio_or_empty(point["par90_ratio"])

    aging_rows = await shown(page, "#aging tbody tr")
    assert [row["bucket"] for row in aging_rows] == list(total["aging"])
    for row in aging_rows:
        cell = total["aging"][row["bucket"]]
        assert row["loans"] == str(cell["loans"])
        assert row["outstanding_principal"] == cell["outstanding_principal"]

    flow_rows = await shown(page, "#flows tbody tr")
    assert len(flow_rows) == 12
    for row, period in zip(flow_rows, flows["rows"], strict=True):
        assert row["period"] == period["period_start"]
        for name in ("disbursed_amount", "collected_principal", "collected_interest"):
            assert row[name] == period[name]
    assert any(period["disbursed_amount"] != "0.00" for period in flows["rows"])

    kind_rows = await shown(page, "#coaching tbody tr")
    assert {row["kind"] for row in kind_rows} == set(activity["coaching"]["by_kind"])
    for row in kind_rows:
        cell = activity["coaching"]["by_kind"][row["kind"]]
        assert (row["sessions"], row["hours"]) == (str(cell["sessions"]), cell["hours"])

    await check_charts(page, 4)
    links = await page.eval_on_selector_all(
        "a[data-export]", "links => links.map(a => a.getAttribute('href'))"
    )
    assert len(links) == 10
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    async with httpx.AsyncClient(base_url=site.base_url, cookies=cookies, timeout=60) as client:
        for link in links:
            download = await client.get(link)
            assert download.status_code == 200, link
            assert "attachment" in download.headers["content-disposition"]


def check_clean(site: Site, watched: Watched) -> None:
    assert watched.errors == []
    assert watched.hosts == {site.server.host}


async def test_manager_of_one_centre_reads_the_dashboard(
    site: Site, context: BrowserContext
) -> None:
    watched = await log_in(context, site, site.manager)
    response = await watched.page.goto(f"{site.base_url}/dashboard")
    assert response is not None and response.status == 200
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert ARABIC_MANAGER in (await watched.page.text_content("nav") or "")
    await check_dashboard(site, site.manager, watched)
    if site.backend == "sqlite":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        await watched.page.screenshot(path=str(SCREENSHOT), full_page=True)
    check_clean(site, watched)
    # Another centre is not this manager's: 404 page, not the figures.
    other = await watched.page.goto(
        f"{site.base_url}/dashboard?centre_id={site.portfolio.centre_ids[1]}"
    )
    assert other is not None and other.status == 404


async def test_admin_reads_every_centre_and_one(site: Site, context: BrowserContext) -> None:
    watched = await log_in(context, site, site.admin)
    await check_dashboard(site, site.admin, watched)
    await watched.page.select_option("#centre_id", str(site.portfolio.centre_ids[0]))
    async with watched.page.expect_navigation():
        await watched.page.click(".centre-picker button")
    assert watched.page.url.endswith(f"/dashboard?centre_id={site.portfolio.centre_ids[0]}")
    assert (await watched.page.text_content("#centre-name") or "").strip() == ARABIC_CENTRE
    check_clean(site, watched)


async def test_viewer_of_another_centre_gets_404(site: Site, context: BrowserContext) -> None:
    watched = await log_in(context, site, site.viewer)
    manager_centre = site.portfolio.centre_ids[0]
    year = date.today().year
    for path in (
        f"/dashboard?centre_id={manager_centre}",
        f"/reports/activity/{year}?centre_id={manager_centre}",
    ):
        response = await watched.page.goto(f"{site.base_url}{path}")
        assert response is not None and response.status == 404, path
        assert "Erreur 404" in (await watched.page.text_content("h1") or "")
        assert ARABIC_CENTRE not in await watched.page.content()
    # The only console messages are the browser's notes of those two 404 answers.
    assert len(watched.errors) == 2
    assert all("404" in error for error in watched.errors)
    watched.errors.clear()
    own = await watched.page.goto(f"{site.base_url}/dashboard")
    assert own is not None and own.status == 200
    check_clean(site, watched)


async def test_bad_input_is_a_readable_page(site: Site, context: BrowserContext) -> None:
    watched = await log_in(context, site, site.admin)
    for path, status in (
        ("/reports/activity/1990", 422),
        ("/reports/activity/2999", 422),
        ("/reports/activity/deux-mille", 422),
        ("/dashboard?centre_id=abc", 422),
        ("/dashboard?centre_id=999999", 404),
    ):
        response = await watched.page.goto(f"{site.base_url}{path}")
        assert response is not None and response.status == status, path
        assert response.headers["content-type"].startswith("text/html")
        assert f"Erreur {status}" in (await watched.page.text_content("h1") or "")
    # The error page keeps a working navigation: logging out from it.
    async with watched.page.expect_navigation():
        await watched.page.click(".logout button")
    assert watched.page.url == f"{site.base_url}/login"


async def test_wrong_password_shows_the_form_again(site: Site, context: BrowserContext) -> None:
    page = await context.new_page()
    await page.goto(f"{site.base_url}/login")
    await page.fill("#username", site.viewer.email)
    await page.fill("#password", "not-the-password")
    async with page.expect_response(f"{site.base_url}/login") as answer:
        await page.click("button[type=submit]")
    assert (await answer.value).status == 401
    assert "incorrect" in (await page.text_content(".error") or "")
    assert await page.input_value("#username") == site.viewer.email


async def test_expired_session_and_logout_go_back_to_login(
    site: Site, context: BrowserContext
) -> None:
    watched = await log_in(context, site, site.viewer)
    async with watched.page.expect_navigation():
        await watched.page.click(".logout button")
    assert watched.page.url == f"{site.base_url}/login"
    await watched.page.goto(f"{site.base_url}/dashboard")
    assert watched.page.url == f"{site.base_url}/login"

    viewer_id = await user_id(site, site.viewer)
    expired, _ = create_access_token(viewer_id, SECRET_KEY, -1)
    await context.add_cookies([{"name": "tracker_session", "value": expired, "url": site.base_url}])
    await watched.page.goto(f"{site.base_url}/reports/activity/{date.today().year}")
    assert watched.page.url == f"{site.base_url}/login"

    # A session from before a password change (an older password generation) has ended too.
    superseded, _ = create_access_token(viewer_id, SECRET_KEY, 30, generation=0)
    await context.add_cookies(
        [{"name": "tracker_session", "value": superseded, "url": site.base_url}]
    )
    await watched.page.goto(f"{site.base_url}/dashboard")
    assert watched.page.url == f"{site.base_url}/login"


async def user_id(site: Site, account: Account) -> int:
    me = await api(site, account, "/api/v1/auth/me")
    return int(me["id"])


async def test_session_cookie_and_csrf(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.base_url, timeout=60) as client:
        form = await client.get("/login")
        csp = form.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form.text)
        assert token is not None
        forged = await client.post(
            "/login",
            data={"username": site.admin.email, "password": site.admin.password},
        )
        assert forged.status_code == 400 and "tracker_session" not in forged.cookies
        wrong = await client.post(
            "/login",
            data={
                "username": site.admin.email,
                "password": site.admin.password,
                "csrf_token": "0" * 64,
            },
        )
        assert wrong.status_code == 400
        fresh = await client.get("/login")
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', fresh.text)
        assert token is not None
        accepted = await client.post(
            "/login",
            data={
                "username": site.admin.email,
                "password": site.admin.password,
                "csrf_token": token.group(1),
            },
        )
        assert accepted.status_code == 303 and accepted.headers["location"] == "/dashboard"
        cookie = accepted.headers["set-cookie"].lower()
        assert "tracker_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        assert "max-age=3600" in cookie
        # Logging out needs the form's token too.
        refused = await client.post("/logout", data={"csrf_token": "x"})
        assert refused.status_code == 400
        still = await client.get("/dashboard")
        assert still.status_code == 200


async def test_activity_report_prints_to_a4(site: Site, context: BrowserContext) -> None:
    watched = await log_in(context, site, site.manager)
    page = watched.page
    centre = site.manager.centre_id
    year = (date.today() - timedelta(days=1)).year
    report = await api(site, site.manager, "/api/v1/reports/activity", year=year)
    assert report["centre_id"] == centre
    response = await page.goto(f"{site.base_url}/reports/activity/{year}")
    assert response is not None and response.status == 200
    await check_charts(page, 8)
    headline = {row["figure"]: row["value"] for row in await shown(page, "#headline td")}
    for dotted, value in headline.items():
        section, figure = dotted.split(".")
        expected = report[section][figure]
        assert value == ("" if expected is None else str(expected)), dotted
    for table in await shown(page, "section.category"):
        assert table  # every category section is there
    by_sector = await shown(page, "#loans-by_sector tbody tr")
    for row in by_sector:
        cell = report["loans"]["by_sector"][row["key"]]
        assert (row["count"], row["amount"]) == (str(cell["count"]), cell["amount"])
    check_clean(site, watched)

    await page.emulate_media(media="print")
    assert not await page.is_visible("nav")
    pdf = await page.pdf(format="A4", print_background=True)
    reader = PdfReader(io.BytesIO(pdf))
    assert 2 <= len(reader.pages) <= 6
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    # A4 is 595.3 x 841.9 points; Chromium rounds the page box to whole CSS pixels.
    assert abs(float(width) - 595.3) < 1.5 and abs(float(height) - 841.9) < 1.5
    text = " ".join(page_text.extract_text() or "" for page_text in reader.pages)
    text = re.sub(r"\s+", " ", text.replace("\u202f", " ").replace("\xa0", " "))
    assert f"Rapport d'activité {year}" in text
    assert "Se déconnecter" not in text
    for shown_value in (
        labels.money(report["loans"]["disbursed_amount"]),
        labels.money(report["loans"]["collected_principal"]),
        labels.hours(report["coaching"]["hours"]),
        labels.percent(report["loans"]["on_time_repayment_rate"]),
    ):
        assert shown_value.replace("\u202f", " ").replace("\xa0", " ") in text, shown_value
    for title in ("Porteurs accompagnés par sexe", "Prêts décaissés par organisme prêteur"):
        assert title in text
    assert f"Porteurs accompagnés {report['holders']['supported']}" in text


async def test_login_form_is_throttled_like_the_api(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.base_url, timeout=60) as client:
        statuses = []
        for _ in range(6):
            form = await client.get("/login")
            token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form.text)
            assert token is not None
            answer = await client.post(
                "/login",
                data={
                    "username": "nobody.throttled@centre.ma",
                    "password": "wrong-password",
                    "csrf_token": token.group(1),
                },
            )
            statuses.append(answer.status_code)
        assert statuses == [401] * 5 + [429]
        assert "Trop de tentatives" in answer.text
        assert answer.headers["retry-after"].isdigit()
        # The API counts the same failures.
        api_answer = await client.post(
            "/api/v1/auth/token",
            data={"username": "nobody.throttled@centre.ma", "password": "wrong-password"},
        )
        assert api_answer.status_code == 429
