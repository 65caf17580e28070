"""Imports over HTTP (README "Imports"): a multipart upload in, a report or every bad row out."""

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, Response, UploadFile, status
from fastapi.responses import JSONResponse
from pydantic import Field, StringConstraints

from app.core.db import SessionDep
from app.core.deps import CurrentUser, SettingsDep
from app.core.errors import PROBLEM_JSON, RuleViolation
from app.core.openapi import errors, roles_doc
from app.core.roles import READERS
from app.core.schemas import ResponseModel
from app.core.text import NoNul
from app.holders.router import youth_of
from app.imports import reading, rows, service, templates
from app.imports.kinds import EVERYONE_IN_A_CENTRE, ImportKind

router = APIRouter(prefix="/api/v1/imports", tags=["imports"])

UPLOAD_BODY_BYTES = reading.MAX_FILE_BYTES + 256 * 1024
"""The largest request body the upload endpoint accepts: a 10 MiB file and its multipart
envelope (the file's own size is then checked exactly)."""

CentreCode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20), NoNul
]


class TemplateFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


class ImportReportOut(ResponseModel):
    kind: ImportKind
    dry_run: bool
    rows: int = Field(description="Data rows read (blank lines are not counted).")
    created: int = Field(description="Records created (nothing on a dry run).")
    skipped: int = Field(description="Statement rows already recorded (loan, receipt).")


async def handle_import_rejected(_request: Request, exc: Exception) -> JSONResponse:
    """422 problem+json whose `errors` are `{row, field, message}`."""
    assert isinstance(exc, rows.ImportRejected)
    body = {
        "type": "about:blank",
        "title": exc.title,
        "status": exc.status,
        "detail": exc.detail,
        "errors": [
            {"row": error.row, "field": error.field, "message": error.message}
            for error in exc.row_errors
        ],
    }
    return JSONResponse(body, status_code=exc.status, media_type=PROBLEM_JSON)


@router.post(
    "/{kind}",
    response_model=ImportReportOut,
    status_code=status.HTTP_201_CREATED,
    summary="Import a CSV or XLSX file of holders, enterprises, loans or repayments",
    description="Multipart form with one field `file`: CSV (UTF-8 with or without BOM, `;` or "
    "`,` detected) or XLSX (first sheet; formulas are read as their cached values, never "
    "evaluated). The first row names the columns (see the template). Dates `YYYY-MM-DD` or "
    "`DD/MM/YYYY`; amounts `1250.50` or `1 250,50`. Every rule of the matching create "
    "endpoint applies to each row. All or nothing: any bad row writes nothing and the 422 "
    "lists every bad row as `{row, field, message}` (header = row 1). `dry_run=true` checks "
    "everything, writes nothing and answers 200. Roles: admins; managers and advisers in "
    "their centre (advisers: holders and enterprises only). A statement row whose (loan, "
    "receipt) is already recorded is skipped. Over 10 MiB or 50,000 rows: 413.",
    responses={
        200: {"model": ImportReportOut, "description": "Dry run: nothing was written."},
        **errors(400, 401, 403, 404, 413, 422),
    },
    openapi_extra=roles_doc(EVERYONE_IN_A_CENTRE),
)
async def import_file(
    kind: ImportKind,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    response: Response,
    # Optional in the signature so that the caller's role is checked before the body: a
    # role that may not import gets 403, whatever it sent.
    file: Annotated[UploadFile | None, File(description="The CSV or XLSX file.")] = None,
    dry_run: Annotated[bool, Query(description="Check everything, write nothing.")] = False,
    centre_code: Annotated[
        CentreCode | None,
        Query(description="The centre of rows without `centre_code` (default: yours)."),
    ] = None,
) -> ImportReportOut:
    service.require_import_role(actor, kind)
    if file is None:
        raise RuleViolation("file", "a CSV or XLSX file is required")
    table = reading.open_table(file.file)
    report = await service.run_import(
        session,
        actor,
        kind,
        table,
        rows.ImportSettings(
            today=settings.today(),
            youth=youth_of(settings),
            legal_ceiling=settings.max_loan_principal,
            default_centre_code=centre_code,
        ),
        dry_run=dry_run,
    )
    if dry_run:
        await session.rollback()
        response.status_code = status.HTTP_200_OK
    return ImportReportOut.model_validate(report, from_attributes=True)


@router.get(
    "/{kind}/template",
    summary="Download an import template",
    description="The header row and one example row (CSV `;`-separated, UTF-8 with BOM, or "
    "XLSX with a `notes` sheet describing each column). It imports as it is once the "
    "example's references exist.",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string", "format": "binary"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
            "description": "The template file.",
        },
        **errors(401, 404, 422),
    },
    openapi_extra=roles_doc(READERS),
)
async def template(
    kind: ImportKind,
    actor: CurrentUser,
    format: Annotated[TemplateFormat, Query()] = TemplateFormat.csv,
) -> Response:
    filename = f"{kind.value}-template.{format.value}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if format == TemplateFormat.xlsx:
        return Response(
            templates.template_xlsx(kind),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers=headers,
        )
    return Response(
        templates.template_csv(kind), media_type="text/csv; charset=utf-8", headers=headers
    )
