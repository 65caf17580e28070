"""Each template imports as it is once the example's references exist: a dry run of the
workbook, then the CSV for real, kind after kind (holders, enterprises, loans, repayments)."""

import io

from httpx import AsyncClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.loans.models import Loan
from tests.helpers import auth
from tests.imports.factories import ImportWorld, upload


async def test_every_template_imports_as_it_is(
    client: AsyncClient, world: ImportWorld, settings: Settings, session: AsyncSession
) -> None:
    headers = auth(world.manager, settings)
    for kind in ("holders", "enterprises", "loans", "repayments"):
        workbook = await client.get(
            f"/api/v1/imports/{kind}/template", params={"format": "xlsx"}, headers=headers
        )
        assert workbook.status_code == 200
        assert "attachment" in workbook.headers["content-disposition"]
        dry = await upload(client, headers, kind, workbook.content, dry_run=True)
        assert dry.status_code == 200, (kind, dry.text)
        assert dry.json() == {
            "kind": kind,
            "dry_run": True,
            "rows": 1,
            "created": 1,
            "skipped": 0,
        }
        text = await client.get(f"/api/v1/imports/{kind}/template", headers=headers)
        assert text.status_code == 200
        assert text.headers["content-type"].startswith("text/csv")
        real = await upload(client, headers, kind, text.content)
        assert real.status_code == 201, (kind, real.text)
        assert real.json()["created"] == 1

    loan = (
        await session.execute(select(Loan).where(Loan.reference == "AMC-2025-000123"))
    ).scalar_one()
    assert loan.status == "active"
    assert str(loan.principal) == "15000.00"
    assert loan.paid_principal + loan.paid_interest == 1418.50


async def test_templates_say_which_date_formats_are_read(
    client: AsyncClient, world: ImportWorld, settings: Settings
) -> None:
    response = await client.get(
        "/api/v1/imports/holders/template",
        params={"format": "xlsx"},
        headers=auth(world.adviser, settings),
    )
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    notes = [str(cell) for row in workbook["notes"].iter_rows(values_only=True) for cell in row]
    assert any("YYYY-MM-DD or DD/MM/YYYY" in note for note in notes)
    first_sheet = list(workbook.worksheets[0].iter_rows(values_only=True))
    assert first_sheet[0][:3] == ("centre_code", "adviser_email", "first_name")
    assert len(first_sheet) == 2


async def test_unknown_kind_or_format_is_422(
    client: AsyncClient, world: ImportWorld, settings: Settings
) -> None:
    headers = auth(world.admin, settings)
    assert (
        await client.get("/api/v1/imports/centres/template", headers=headers)
    ).status_code == 422
    response = await client.get(
        "/api/v1/imports/holders/template", params={"format": "ods"}, headers=headers
    )
    assert response.status_code == 422
