"""Pages for managers: `/login`, `/logout`, `/dashboard`, `/reports/activity/{year}` and the
dashboard's downloads, rendered on the server with Jinja2.

Thin like every router: the figures come from the same report functions as the API
(`app.reports`), scoped by the same rule (`app.reports.service.report_scope`); the pages
only lay them out, in French. Authentication is the session cookie (`app.pages.session`);
without a valid one a page redirects to `/login`. Bad input and scope errors are the
API's statuses, shown as a readable page. Every page carries a Content-Security-Policy
that allows only the service's own scripts, styles and images.
"""

from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.core.config import Settings
from app.core.db import ReportsSessionDep, SessionDep
from app.core.errors import DomainError, RuleViolation, TooManyRequests
from app.core.params import DB_INT_MAX
from app.core.scope import Actor
from app.pages import charts, labels
from app.pages.session import (
    LOGIN_NONCE_COOKIE,
    SESSION_COOKIE,
    csrf_valid,
    end_session,
    logout_token,
    new_login_nonce,
    session_claims,
    set_login_nonce,
    start_session,
)
from app.reports import activity, flows, portfolio, service, trend
from app.reports import router as reports_api
from app.reports.dates import Interval, add_months
from app.reports.schemas import CoachingGroup, ImpactGroup, PortfolioGroup, ReportFormat
from app.users import service as users_service
from app.users.deps import SettingsDep

router = APIRouter(include_in_schema=False)

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.filters.update(
    money=labels.money,
    percent=labels.percent,
    integer=labels.integer,
    label=labels.label,
    hours=labels.hours,
)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
ALL_CENTRES = "Tous les centres"
EXPORTS = ("portfolio", "flows", "coaching", "impact", "activity")


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    # The navigation's logout form needs the session's token on every page, errors included.
    context.setdefault("logout_token", getattr(request.state, "logout_token", ""))
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)
    return secure(response)


R = TypeVar("R", bound=Response)


def secure(response: R) -> R:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(request: Request, actor: Actor | None, error: DomainError) -> HTMLResponse:
    messages = [f"{item.field} : {item.message}" for item in error.errors or []]
    return render(
        request,
        "error.html",
        {
            "actor": actor,
            "status": error.status,
            "title": error.title,
            "detail": error.detail,
            "messages": messages,
        },
        status_code=error.status,
    )


def to_login() -> Response:
    return secure(RedirectResponse("/login", status_code=303))


async def page_actor(request: Request, session: AsyncSession, settings: Settings) -> Actor | None:
    """The caller of a valid, unexpired session whose account is still active."""
    claims = session_claims(request, settings)
    if claims is None:
        return None
    actor = await users_service.load_actor(session, claims)
    if actor is None:
        return None
    request.state.logout_token = logout_token(request, settings)
    return actor


def parse_id(name: str, raw: str | None) -> int | None:
    """An optional id from the query string (422 naming it when it is not one)."""
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= DB_INT_MAX:
        raise RuleViolation(name, f"{name} must be a positive integer id.")
    return int(raw)


async def centre_name(session: AsyncSession, centre_id: int | None) -> str:
    if centre_id is None:
        return ALL_CENTRES
    name = await session.scalar(select(Centre.name).where(Centre.id == centre_id))
    return str(name)


# --- login and logout -------------------------------------------------------------------


def login_form(
    request: Request, settings: Settings, *, error: str | None, status_code: int, email: str = ""
) -> HTMLResponse:
    nonce, token = new_login_nonce(settings)
    response = render(
        request,
        "login.html",
        {"actor": None, "error": error, "email": email, "csrf_token": token},
        status_code=status_code,
    )
    set_login_nonce(response, settings, nonce)
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    if await page_actor(request, session, settings) is not None:
        return secure(RedirectResponse("/dashboard", status_code=303))
    return login_form(request, settings, error=None, status_code=200)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    nonce = request.cookies.get(LOGIN_NONCE_COOKIE)
    if not csrf_valid(settings, "login", nonce, csrf_token):
        return login_form(
            request,
            settings,
            error="Le formulaire a expiré ; veuillez vous reconnecter.",
            status_code=400,
            email=username,
        )
    address = request.client.host if request.client else "unknown"
    try:
        user = await users_service.authenticate(session, settings, username, password, address)
    except TooManyRequests:
        response = login_form(
            request,
            settings,
            error="Trop de tentatives échouées ; réessayez dans quelques minutes.",
            status_code=429,
            email=username,
        )
        response.headers["Retry-After"] = str(settings.login_window_minutes * 60)
        return response
    if user is None:
        return login_form(
            request,
            settings,
            error="Adresse e-mail ou mot de passe incorrect.",
            status_code=401,
            email=username,
        )
    redirect = RedirectResponse("/dashboard", status_code=303)
    start_session(redirect, settings, user.id, user.password_generation)
    return secure(redirect)


@router.post("/logout")
async def logout(
    request: Request,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    response = to_login()
    if session_claims(request, settings) is None:
        end_session(response, settings)
        return response
    if not csrf_valid(settings, "logout", request.cookies.get(SESSION_COOKIE), csrf_token):
        return render(
            request,
            "error.html",
            {
                "actor": None,
                "status": 400,
                "title": "Requête refusée",
                "detail": "Le jeton anti-CSRF du formulaire est absent ou invalide.",
                "messages": [],
            },
            status_code=400,
        )
    end_session(response, settings)
    return response


# --- dashboard --------------------------------------------------------------------------


async def visible_centres(session: AsyncSession, actor: Actor) -> list[tuple[int, str]]:
    if not actor.all_centres:
        return []
    rows = await session.execute(select(Centre.id, Centre.name).order_by(Centre.name, Centre.id))
    return [(row.id, row.name) for row in rows]


@router.get("/", include_in_schema=False)
async def home() -> Response:
    return secure(RedirectResponse("/dashboard", status_code=303))


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(
    request: Request,
    session: SessionDep,
    reports_session: ReportsSessionDep,
    settings: SettingsDep,
    centre_id: str | None = None,
) -> Response:
    actor = await page_actor(request, session, settings)
    if actor is None:
        return to_login()
    try:
        scope = await service.report_scope(reports_session, actor, parse_id("centre_id", centre_id))
        context = await dashboard_context(reports_session, settings.today(), scope)
    except DomainError as error:
        return error_page(request, actor, error)
    context.update(
        actor=actor,
        centres=await visible_centres(session, actor),
        centre_id=scope,
        centre_name=await centre_name(session, scope),
        query="" if scope is None else f"?centre_id={scope}",
    )
    return render(request, "dashboard.html", context)


async def dashboard_context(
    session: AsyncSession, today: date, scope: int | None
) -> dict[str, Any]:
    now = await portfolio.portfolio_report(
        session, as_of=today, today=today, group_by=PortfolioGroup.centre, centre_id=scope
    )
    par_trend = await trend.portfolio_trend(session, months=12, today=today, centre_id=scope)
    first_month = add_months(date(today.year, today.month, 1), -11)
    monthly = await flows.flows_report(
        session, start=first_month, end=today, interval=Interval.month, centre_id=scope
    )
    # This year's beneficiaries and coaching: the activity report's own sections (its loan
    # section, flows and PAR already shown above, is not needed here).
    first_day, last_day = activity.year_days(today.year, today)
    year_body: dict[str, Any] = {
        "year": today.year,
        "holders": (await activity.holders_figures(session, first_day, last_day, scope)).model_dump(
            mode="json"
        ),
        "enterprises": (
            await activity.enterprises_figures(session, first_day, last_day, scope)
        ).model_dump(mode="json"),
        "coaching": (
            await activity.coaching_figures(session, first_day, last_day, scope)
        ).model_dump(mode="json"),
    }

    total = now.total.model_dump(mode="json", by_alias=True)
    trend_points = par_trend.model_dump(mode="json")["points"]
    flow_rows = monthly.model_dump(mode="json", by_alias=True)["rows"]
    aging = total["aging"]
    month_labels = [charts.month_label(date.fromisoformat(r["period_start"])) for r in flow_rows]
    by_kind = year_body["coaching"]["by_kind"]
    return {
        "today": today,
        "total": total,
        "year": year_body,
        "trend_points": trend_points,
        "flow_rows": flow_rows,
        "month_labels": month_labels,
        "charts": {
            "par30": charts.line_chart(
                "PAR30 en fin de mois (%)",
                [
                    (
                        "PAR30",
                        [
                            (p.as_of, None if p.par30_ratio is None else p.par30_ratio * 100)
                            for p in par_trend.points
                        ],
                    )
                ],
                y_suffix=" %",
            ),
            "aging": charts.bar_chart(
                "Encours par ancienneté des impayés (MAD)",
                [(labels.label(key), row.outstanding_principal) for key, row in aging_rows(now)],
            ),
            "flows": charts.column_pairs(
                "Décaissé et principal remboursé par mois (MAD)",
                month_labels,
                [
                    ("Décaissé", [r.disbursed_amount for r in monthly.rows]),
                    ("Principal remboursé", [r.collected_principal for r in monthly.rows]),
                ],
            ),
            "coaching": charts.bar_chart(
                "Séances d'accompagnement par type",
                [(labels.label(key), value["sessions"]) for key, value in by_kind.items()],
                color=charts.ORANGE,
            ),
        },
        "aging": aging,
        "exports": EXPORTS,
    }


def aging_rows(report: Any) -> list[tuple[str, Any]]:
    aging = report.total.aging
    return [
        (name, getattr(aging, field))
        for name, field in (
            ("current", "current"),
            ("1-30", "days_1_30"),
            ("31-60", "days_31_60"),
            ("61-90", "days_61_90"),
            ("91-180", "days_91_180"),
            ("181-365", "days_181_365"),
            ("366+", "days_366_plus"),
        )
    ]


# --- yearly activity page ---------------------------------------------------------------

ACTIVITY_TABLES: tuple[tuple[str, str, str], ...] = (
    ("holders", "by_gender", "Porteurs accompagnés par sexe"),
    ("holders", "by_area", "Porteurs accompagnés par milieu"),
    ("holders", "by_age_band", "Porteurs accompagnés par tranche d'âge"),
    ("enterprises", "by_sector", "Entreprises créées par secteur"),
    ("enterprises", "by_area", "Entreprises créées par milieu"),
    ("loans", "by_sector", "Prêts décaissés par secteur de l'emprunteur"),
    ("loans", "by_lender", "Prêts décaissés par organisme prêteur"),
    ("coaching", "by_kind", "Séances d'accompagnement par type"),
)


def activity_tables(body: dict[str, Any]) -> list[dict[str, Any]]:
    tables = []
    for section, figure, title in ACTIVITY_TABLES:
        rows = []
        for key, value in body[section][figure].items():
            name = (
                body["loans"]["lender_names"][key] if figure == "by_lender" else labels.label(key)
            )
            rows.append({"key": key, "name": name, "value": value})
        if section == "loans":
            columns = [("count", "Nombre"), ("amount", "Montant (MAD)")]
            bars = [(row["name"], row["value"]["count"]) for row in rows]
        elif section == "coaching":
            columns = [("sessions", "Séances"), ("hours", "Heures")]
            bars = [(row["name"], row["value"]["sessions"]) for row in rows]
        else:
            columns = [("", "Nombre")]
            bars = [(row["name"], row["value"]) for row in rows]
        tables.append(
            {
                "id": f"{section}-{figure}",
                "section": section,
                "figure": figure,
                "title": title,
                "columns": columns,
                "rows": rows,
                "chart": charts.bar_chart(title, bars),
            }
        )
    return tables


@router.get("/reports/activity")
async def current_activity_page(settings: SettingsDep, centre_id: str | None = None) -> Response:
    """The current year's report."""
    query = "" if not centre_id or not centre_id.isdigit() else f"?centre_id={centre_id}"
    return secure(
        RedirectResponse(f"/reports/activity/{settings.today().year}{query}", status_code=303)
    )


@router.get("/reports/activity/{year}", response_class=HTMLResponse)
async def activity_page(
    request: Request,
    year: str,
    session: SessionDep,
    reports_session: ReportsSessionDep,
    settings: SettingsDep,
    centre_id: str | None = None,
) -> Response:
    actor = await page_actor(request, session, settings)
    if actor is None:
        return to_login()
    try:
        if not year.isdigit() or not 1900 <= int(year) <= 2999:
            raise RuleViolation("year", "year must be a calendar year (YYYY).")
        scope = await service.report_scope(reports_session, actor, parse_id("centre_id", centre_id))
        report = await activity.activity_report(
            reports_session, year=int(year), today=settings.today(), centre_id=scope
        )
    except DomainError as error:
        return error_page(request, actor, error)
    body = report.model_dump(mode="json")
    return render(
        request,
        "activity.html",
        {
            "actor": actor,
            "report": body,
            "tables": activity_tables(body),
            "centre_id": scope,
            "centre_name": await centre_name(session, scope),
            "query": "" if scope is None else f"&centre_id={scope}",
        },
    )


# --- downloads --------------------------------------------------------------------------


@router.get("/exports/{report}.{extension}")
async def export(
    request: Request,
    report: str,
    extension: str,
    session: SessionDep,
    reports_session: ReportsSessionDep,
    settings: SettingsDep,
    centre_id: str | None = None,
    year: str | None = None,
) -> Response:
    """The dashboard's downloads: the API's own CSV and Excel files of each report, for
    the session's caller, with the dashboard's parameters (today; the last 12 months for
    flows; this year for coaching and activity)."""
    actor = await page_actor(request, session, settings)
    if actor is None:
        return to_login()
    try:
        if report not in EXPORTS:
            raise RuleViolation("report", f"report must be one of {', '.join(EXPORTS)}.")
        if extension not in ("csv", "xlsx"):
            raise RuleViolation("format", "format must be csv or xlsx.")
        file_format = ReportFormat(extension)
        wanted = parse_id("centre_id", centre_id)
        today = settings.today()
        first_month = add_months(date(today.year, today.month, 1), -11)
        common: dict[str, Any] = {
            "session": reports_session,
            "actor": actor,
            "centre_id": wanted,
            "format": file_format,
        }
        match report:
            case "portfolio":
                response = await reports_api.portfolio_report(
                    settings=settings, as_of=today, group_by=PortfolioGroup.centre, **common
                )
            case "flows":
                response = await reports_api.flows_report(
                    start=first_month, to=today, interval=Interval.month, **common
                )
            case "coaching":
                response = await reports_api.coaching_report(
                    start=date(today.year, 1, 1), to=today, group_by=CoachingGroup.kind, **common
                )
            case "impact":
                response = await reports_api.impact_report(
                    settings=settings, as_of=today, group_by=ImpactGroup.centre, **common
                )
            case _:
                chosen = today.year if year is None else parse_id("year", year) or today.year
                response = await reports_api.activity_report(
                    settings=settings, year=chosen, **common
                )
    except DomainError as error:
        return error_page(request, actor, error)
    assert isinstance(response, Response)
    response.headers["Cache-Control"] = "no-store"
    return response
