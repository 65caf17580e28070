"""Every bad input of the issue's table gets a clear answer and changes nothing."""

import io
import zipfile
from typing import Any

import xlsxwriter
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.holders.models import Holder
from app.imports import reading
from tests.helpers import auth
from tests.holders.factories import make_holder
from tests.imports.factories import (
    HOLDER_COLUMNS,
    ImportWorld,
    as_text_dates,
    csv_file,
    holder_rows,
    upload,
    xlsx_file,
)


async def holder_count(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(Holder))).scalar_one()


def fields(body: dict[str, Any]) -> list[str]:
    return [error["field"] for error in body["errors"]]


async def test_empty_header_only_and_binary_files_are_422(
    client: AsyncClient, world: ImportWorld, settings: Settings, session: AsyncSession
) -> None:
    headers = auth(world.adviser, settings)
    header_only = csv_file(HOLDER_COLUMNS, [])
    binary = bytes(range(256)) * 10
    bad_zip = b"PK\x03\x04" + b"\x00" * 100
    for content in (b"", b"\xef\xbb\xbf", header_only, binary, bad_zip, "é".encode("latin-1")):
        response = await upload(client, headers, "holders", content)
        assert response.status_code == 422, content[:20]
        assert response.headers["content-type"] == "application/problem+json"
        assert "file" in response.json()["detail"] or response.json()["errors"]
    assert await holder_count(session) == 0


async def test_a_file_over_10_mib_is_413(
    client: AsyncClient, world: ImportWorld, settings: Settings
) -> None:
    header = ";".join(HOLDER_COLUMNS).encode() + b"\r\n"
    content = header + b"x" * (reading.MAX_FILE_BYTES + 1 - len(header))
    response = await upload(client, auth(world.adviser, settings), "holders", content)
    assert response.status_code == 413
    far_too_big = b"x" * (reading.MAX_FILE_BYTES * 2)
    response = await upload(client, auth(world.adviser, settings), "holders", far_too_big)
    assert response.status_code == 413


async def test_a_file_over_50000_rows_is_413_and_writes_nothing(
    client: AsyncClient, world: ImportWorld, settings: Settings, session: AsyncSession
) -> None:
    row = "CASA01;Amina;Alaoui;AA{n};2000-01-01;female;;urban;false;2025-01-01;\r\n"
    lines = [";".join(HOLDER_COLUMNS) + "\r\n"]
    lines += [row.format(n=n % 999_999) for n in range(reading.MAX_ROWS + 1)]
    response = await upload(
        client, auth(world.adviser, settings), "holders", "".join(lines).encode()
    )
    assert response.status_code == 413
    assert await holder_count(session) == 0


async def test_a_workbook_over_50000_rows_is_413(
    client: AsyncClient, world: ImportWorld, settings: Settings
) -> None:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "constant_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, HOLDER_COLUMNS)
    for line in range(1, reading.MAX_ROWS + 2):
        sheet.write_string(line, 0, "CASA01")
    workbook.close()
    response = await upload(
        client, auth(world.adviser, settings), "holders", buffer.getvalue(), filename="a.xlsx"
    )
    assert response.status_code == 413


async def test_unknown_and_missing_columns_are_422_naming_them(
    client: AsyncClient, world: ImportWorld, settings: Settings
) -> None:
    headers = auth(world.adviser, settings)
    columns = [*HOLDER_COLUMNS, "shoe_size"]
    columns.remove("birth_date")
    rows = [{**row, "shoe_size": "42"} for row in as_text_dates(holder_rows(2), False)]
    response = await upload(client, headers, "holders", csv_file(columns, rows))
    assert response.status_code == 422
    body = response.json()
    assert {"shoe_size", "birth_date"} <= set(fields(body))
    assert "shoe_size" in body["detail"] and "birth_date" in body["detail"]


async def test_duplicate_national_ids_in_the_file_or_the_database_are_row_errors(
    client: AsyncClient, world: ImportWorld, settings: Settings, session: AsyncSession
) -> None:
    await make_holder(session, world.centre, national_id="GH000001")
    await session.commit()
    rows = as_text_dates(holder_rows(5), False)
    rows[4]["national_id"] = rows[2]["national_id"].lower()
    response = await upload(
        client, auth(world.adviser, settings), "holders", csv_file(HOLDER_COLUMNS, rows)
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(3, "national_id"), (6, "national_id")]
    assert "line 4" in errors[1]["message"]
    assert await holder_count(session) == 1


async def test_dates_in_iso_or_french_form_are_read_and_others_are_row_errors(
    client: AsyncClient, world: ImportWorld, settings: Settings, session: AsyncSession
) -> None:
    headers = auth(world.adviser, settings)
    rows = as_text_dates(holder_rows(4), french=True)
    rows[1] = as_text_dates([holder_rows(4)[1]], french=False)[0]
    accepted = await upload(
        client, headers, "holders", csv_file(HOLDER_COLUMNS, rows), dry_run=True
    )
    assert accepted.status_code == 200, accepted.text

    rows[0]["birth_date"] = "1995.01.01"
    rows[2]["enrolled_on"] = "31/02/2024"
    rows[3]["birth_date"] = "01-01-1995"
    refused = await upload(client, headers, "holders", csv_file(HOLDER_COLUMNS, rows))
    assert refused.status_code == 422
    errors = refused.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [
        (2, "birth_date"),
        (4, "enrolled_on"),
        (5, "birth_date"),
    ]
    assert "DD/MM/YYYY" in errors[0]["message"]
    assert await holder_count(session) == 0


async def test_french_dates_really_mean_day_then_month(
    client: AsyncClient, world: ImportWorld, settings: Settings, session: AsyncSession
) -> None:
    rows = as_text_dates(holder_rows(1), False)
    rows[0]["birth_date"] = "03/04/2000"
    response = await upload(
        client, auth(world.adviser, settings), "holders", csv_file(HOLDER_COLUMNS, rows)
    )
    assert response.status_code == 201, response.text
    holder = (await session.execute(select(Holder))).scalar_one()
    assert holder.birth_date.isoformat() == "2000-04-03"


async def test_a_zip_bomb_workbook_is_refused(
    client: AsyncClient, world: ImportWorld, settings: Settings
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            chunk = b" " * (1024 * 1024)
            for _ in range(reading.MAX_UNPACKED_BYTES // len(chunk) + 1):
                part.write(chunk)
    content = buffer.getvalue()
    assert len(content) < reading.MAX_FILE_BYTES
    response = await upload(
        client, auth(world.adviser, settings), "holders", content, filename="bomb.xlsx"
    )
    assert response.status_code == 422
    assert "100 MiB" in response.json()["detail"]


async def test_formulas_are_read_as_their_cached_values_never_evaluated(
    client: AsyncClient, world: ImportWorld, settings: Settings, session: AsyncSession
) -> None:
    rows = holder_rows(1)
    content = xlsx_file(HOLDER_COLUMNS, rows)
    # The same workbook with a formula whose stored result is the CIN; openpyxl's read-only
    # reader returns the cached result and never runs the formula.
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, HOLDER_COLUMNS)
    for index, name in enumerate(HOLDER_COLUMNS):
        value = rows[0][name]
        if name == "national_id":
            sheet.write_formula(1, index, '=CONCATENATE("ZZ","999")', None, "GH000000")
        elif name == "last_name":
            sheet.write_formula(1, index, "=1+1", None, "Formula")
        elif hasattr(value, "isoformat"):
            sheet.write_string(1, index, value.isoformat())
        else:
            sheet.write_string(1, index, str(value))
    workbook.close()
    assert content
    response = await upload(
        client, auth(world.adviser, settings), "holders", buffer.getvalue(), filename="f.xlsx"
    )
    assert response.status_code == 201, response.text
    holder = (await session.execute(select(Holder))).scalar_one()
    assert (holder.national_id, holder.last_name) == ("GH000000", "Formula")


async def test_a_value_outside_the_named_columns_is_a_row_error(
    client: AsyncClient, world: ImportWorld, settings: Settings
) -> None:
    content = csv_file(HOLDER_COLUMNS, as_text_dates(holder_rows(1), False))
    content = content.rstrip(b"\r\n") + b";stray\r\n"
    response = await upload(client, auth(world.adviser, settings), "holders", content)
    assert response.status_code == 422
    assert response.json()["errors"][0]["row"] == 2


async def test_every_bad_row_is_listed_and_nothing_is_written(
    client: AsyncClient, world: ImportWorld, settings: Settings, session: AsyncSession
) -> None:
    rows = as_text_dates(holder_rows(6), False)
    rows[0]["national_id"] = "123"  # not a CIN
    rows[2]["phone"] = "12345"  # not a Moroccan number
    rows[3]["birth_date"] = "1960-01-01"  # outside the youth range
    rows[5]["gender"] = "other"
    response = await upload(
        client, auth(world.adviser, settings), "holders", csv_file(HOLDER_COLUMNS, rows)
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [
        (2, "national_id"),
        (4, "phone"),
        (5, "birth_date"),
        (7, "gender"),
    ]
    assert "youth range" in errors[2]["message"]
    assert await holder_count(session) == 0
