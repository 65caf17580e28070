"""`/api/v1/reports/*`: JSON by default, `format=csv` or `format=xlsx` for the same rows."""

import os
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from app.core.db import ReportsSessionDep
from app.core.deps import CurrentUser, SettingsDep
from app.core.openapi import errors, roles_doc
from app.core.roles import READERS
from app.reports import activity, coaching, flows, impact, portfolio, service, trend
from app.reports.activity_file import iter_activity_csv, render_activity_xlsx
from app.reports.dates import Interval
from app.reports.labels import humanise
from app.reports.render import (
    COACHING_FILE,
    CSV_MEDIA_TYPE,
    FLOWS_FILE,
    IMPACT_FILE,
    PORTFOLIO_FILE,
    XLSX_MEDIA_TYPE,
    ReportFile,
    Table,
    content_disposition,
    iter_csv,
    render_xlsx,
)
from app.reports.schemas import (
    ActivityReport,
    CoachingGroup,
    CoachingReport,
    FlowsReport,
    ImpactGroup,
    ImpactReport,
    PortfolioGroup,
    PortfolioReport,
    PortfolioTrend,
    ReportFormat,
)

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report as JSON; with `format=csv` a CSV file (header first, the "
        "total last with `Total` in its first cell); with `format=xlsx` an Excel workbook "
        "(rows with number formats, frozen header, parameters on a second sheet).",
        "content": {
            CSV_MEDIA_TYPE: {"schema": {"type": "string"}},
            XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    },
    **errors(401, 404, 422),
}

# Dates far outside any portfolio's life would only overflow calendar arithmetic.
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)
AsOf = Annotated[
    date | None,
    Query(
        ge=EARLIEST,
        le=LATEST,
        description="The date the figures are computed at (default: today, in TIMEZONE).",
    ),
]
CentreId = Annotated[
    int | None,
    Query(
        ge=1,
        le=2**31 - 1,
        description="One centre (404 outside the caller's scope); default: all in scope.",
    ),
]
Format = Annotated[ReportFormat, Query(description="`json` (default), `csv` or `xlsx`.")]
From = Annotated[
    date,
    Query(alias="from", ge=EARLIEST, le=LATEST, description="First day of the range (included)."),
]
To = Annotated[date, Query(ge=EARLIEST, le=LATEST, description="Last day of the range (included).")]


async def _respond(
    session: AsyncSession,
    report: BaseModel,
    report_format: ReportFormat,
    layout: ReportFile,
    *,
    dated: str,
    parameters: list[tuple[str, str]],
) -> Any:
    """The report as JSON, or its rows as a CSV or Excel file named `{name}-{dated}`."""
    if report_format is ReportFormat.json:
        return report
    body = report.model_dump(mode="json", by_alias=True)
    centre = await service.centre_label(session, body["centre_id"])
    table = Table(
        layout=layout,
        parameters=[*parameters, ("Centre", centre)],
        rows=body["rows"],
        total=body["total"],
    )
    if report_format is ReportFormat.csv:
        return StreamingResponse(
            iter_csv(table),
            media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
            headers=content_disposition(f"{layout.name}-{dated}.csv"),
        )
    path = await run_in_threadpool(render_xlsx, table)
    return FileResponse(
        path,
        media_type=XLSX_MEDIA_TYPE,
        headers=content_disposition(f"{layout.name}-{dated}.xlsx"),
        background=BackgroundTask(os.remove, path),
    )


async def _respond_as_of(
    session: AsyncSession,
    report: BaseModel,
    report_format: ReportFormat,
    layout: ReportFile,
    *,
    as_of: date,
    group_by: StrEnum,
) -> Any:
    """A report as of a date, grouped: its file is dated by `as_of`."""
    parameters = [("As of", as_of.isoformat()), ("Grouped by", humanise(group_by.value))]
    return await _respond(
        session, report, report_format, layout, dated=as_of.isoformat(), parameters=parameters
    )


async def _respond_over(
    session: AsyncSession,
    report: BaseModel,
    report_format: ReportFormat,
    layout: ReportFile,
    *,
    start: date,
    end: date,
    option: tuple[str, StrEnum],
) -> Any:
    """A report over [start, end]: its file is dated `start_end`."""
    name, value = option
    parameters = [("From", start.isoformat()), ("To", end.isoformat()), (name, humanise(value))]
    dated = f"{start.isoformat()}_{end.isoformat()}"
    return await _respond(
        session, report, report_format, layout, dated=dated, parameters=parameters
    )


@router.get(
    "/portfolio",
    response_model=PortfolioReport,
    summary="Portfolio at risk and aging as of a date",
    description=(
        "Loans outstanding at `as_of` (disbursed on or before it, neither repaid nor written "
        "off by then), computed from the dated repayment history for past dates: "
        "outstanding principal, arrears, PAR1/PAR30/PAR90 (whole outstanding principal of "
        "loans more than N days past due, and its ratio to all outstanding principal) and "
        "aging buckets, by `group_by`. Borrowers without the grouping attribute fall under "
        "`unspecified`. Age bands are ages at `as_of`; under 18 is `unspecified`."
    ),
    responses=FILE_RESPONSES,
    openapi_extra=roles_doc(READERS),
)
async def portfolio_report(
    session: ReportsSessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    as_of: AsOf = None,
    group_by: PortfolioGroup = PortfolioGroup.centre,
    centre_id: CentreId = None,
    format: Format = ReportFormat.json,
) -> Any:
    today = settings.today()
    day = as_of or today
    scope = await service.report_scope(session, actor, centre_id)
    report = await portfolio.portfolio_report(
        session, as_of=day, today=today, group_by=group_by, centre_id=scope
    )
    return await _respond_as_of(
        session, report, format, PORTFOLIO_FILE, as_of=day, group_by=group_by
    )


@router.get(
    "/flows",
    response_model=FlowsReport,
    summary="Disbursements, collections, write-offs and on-time repayment by period",
    description=(
        "One row per calendar month, quarter or year meeting [`from`, `to`] (both "
        "included; zeros included), each counting only dates inside both the period and "
        "the range; `period_start` is the calendar period's first day. `from` after `to`, "
        "or a range of more than 400 periods, is a 422."
    ),
    responses=FILE_RESPONSES,
    openapi_extra=roles_doc(READERS),
)
async def flows_report(
    session: ReportsSessionDep,
    actor: CurrentUser,
    start: From,
    to: To,
    interval: Interval = Interval.month,
    centre_id: CentreId = None,
    format: Format = ReportFormat.json,
) -> Any:
    scope = await service.report_scope(session, actor, centre_id)
    report = await flows.flows_report(
        session, start=start, end=to, interval=interval, centre_id=scope
    )
    return await _respond_over(
        session, report, format, FLOWS_FILE, start=start, end=to, option=("Interval", interval)
    )


@router.get(
    "/coaching",
    response_model=CoachingReport,
    summary="Coaching activity over a date range",
    description=(
        "Sessions held in [`from`, `to`] (both included): count, hours (sum of durations / "
        "60), distinct holders reached (present at a session; a holder marked absent is "
        "not reached) and the share of women among them, by adviser (default), kind, "
        "centre or month (key: the month's first day)."
    ),
    responses=FILE_RESPONSES,
    openapi_extra=roles_doc(READERS),
)
async def coaching_report(
    session: ReportsSessionDep,
    actor: CurrentUser,
    start: From,
    to: To,
    group_by: CoachingGroup = CoachingGroup.adviser,
    centre_id: CentreId = None,
    format: Format = ReportFormat.json,
) -> Any:
    scope = await service.report_scope(session, actor, centre_id)
    report = await coaching.coaching_report(
        session, start=start, end=to, group_by=group_by, centre_id=scope
    )
    return await _respond_over(
        session,
        report,
        format,
        COACHING_FILE,
        start=start,
        end=to,
        option=("Grouped by", group_by),
    )


@router.get(
    "/impact",
    response_model=ImpactReport,
    summary="Holders, enterprises, survival, jobs and loan uptake as of a date",
    description=(
        "Holders are grouped by their own attributes, enterprises by theirs (by gender, "
        "under their owners' gender or `mixed`). Survival over 12 (24) months: among "
        "enterprises created at least that long before `as_of`, the share not closed before "
        "that anniversary. Jobs: the latest follow-up's employees count of each active "
        "enterprise (else its jobs at creation). Coached holders and loan uptake count the "
        "sessions a holder attended (not those they were marked absent from). Loan uptake: "
        "among holders first coached at least 6 months before `as_of`, the share with a "
        "loan disbursed within 6 months of that first session."
    ),
    responses=FILE_RESPONSES,
    openapi_extra=roles_doc(READERS),
)
async def impact_report(
    session: ReportsSessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    as_of: AsOf = None,
    group_by: ImpactGroup = ImpactGroup.centre,
    centre_id: CentreId = None,
    format: Format = ReportFormat.json,
) -> Any:
    day = as_of or settings.today()
    scope = await service.report_scope(session, actor, centre_id)
    report = await impact.impact_report(session, as_of=day, group_by=group_by, centre_id=scope)
    return await _respond_as_of(session, report, format, IMPACT_FILE, as_of=day, group_by=group_by)


Year = Annotated[
    int,
    Query(
        ge=1900,
        le=2999,
        description="The calendar year; from the year of the first record in scope to the "
        "current year (422 otherwise).",
    ),
]


@router.get(
    "/activity",
    response_model=ActivityReport,
    summary="The year's activity: beneficiaries by category and amounts",
    description=(
        "The year from 1 January to 31 December (to today for the current year): holders "
        "enrolled and supported (coached, present, in the year or with a loan outstanding "
        "on a day of it) by gender, area and age band at the last day; enterprises created "
        "by sector and area, and the jobs of those active at the last day; loans disbursed "
        "by borrower's sector and by lender, collections and the on-time repayment rate "
        "over the year (as the flows report), PAR30 at the last day (as the portfolio "
        "report); coaching sessions, hours and holders reached, by kind. Every category "
        "key is present, zeros included. CSV and Excel: one row per figure and category; "
        "Excel adds a native chart of each category table. A year after the current one "
        "or before the first record in scope is a 422."
    ),
    responses=FILE_RESPONSES,
    openapi_extra=roles_doc(READERS),
)
async def activity_report(
    session: ReportsSessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    year: Year,
    centre_id: CentreId = None,
    format: Format = ReportFormat.json,
) -> Any:
    scope = await service.report_scope(session, actor, centre_id)
    report = await activity.activity_report(
        session, year=year, today=settings.today(), centre_id=scope
    )
    if format is ReportFormat.json:
        return report
    body = report.model_dump(mode="json")
    name = f"activity-{year}"
    if format is ReportFormat.csv:
        return StreamingResponse(
            iter_activity_csv(body),
            media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
            headers=content_disposition(f"{name}.csv"),
        )
    parameters = [
        ("Year", str(year)),
        ("From", report.first_day.isoformat()),
        ("To", report.last_day.isoformat()),
        ("Centre", await service.centre_label(session, scope)),
    ]
    path = await run_in_threadpool(render_activity_xlsx, body, parameters)
    return FileResponse(
        path,
        media_type=XLSX_MEDIA_TYPE,
        headers=content_disposition(f"{name}.xlsx"),
        background=BackgroundTask(os.remove, path),
    )


@router.get(
    "/portfolio/trend",
    response_model=PortfolioTrend,
    summary="Portfolio total at each of the last month ends and today",
    description=(
        "The `total` row of `/reports/portfolio` (active loans, outstanding principal, "
        "PAR30 and PAR90 ratios) as of the last day of each of the `months` calendar months "
        "before the current one, then as of today, oldest first. `months` from 1 to 36."
    ),
    responses=errors(401, 404, 422),
    openapi_extra=roles_doc(READERS),
)
async def portfolio_trend(
    session: ReportsSessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    months: Annotated[
        int,
        Query(
            ge=trend.MIN_MONTHS,
            le=trend.MAX_MONTHS,
            description="How many month ends before today (1 to 36).",
        ),
    ] = trend.DEFAULT_MONTHS,
    centre_id: CentreId = None,
) -> PortfolioTrend:
    scope = await service.report_scope(session, actor, centre_id)
    return await trend.portfolio_trend(
        session, months=months, today=settings.today(), centre_id=scope
    )
