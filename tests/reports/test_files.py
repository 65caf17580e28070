"""CSV and Excel downloads hold exactly the JSON rows: parsed back (csv, openpyxl) and
compared cell by cell."""

import csv
import io
import zipfile
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from httpx import AsyncClient
from openpyxl import load_workbook

from app.reports.render import (
    COACHING_COLUMNS,
    FLOWS_COLUMNS,
    IMPACT_COLUMNS,
    PORTFOLIO_COLUMNS,
    XLSX_MEDIA_TYPE,
    Column,
    Kind,
)
from tests.reports.plan import TODAY

PAST = (TODAY - timedelta(days=45)).isoformat()
FROM, TO = (TODAY - timedelta(days=365)).isoformat(), TODAY.isoformat()
CASES: list[tuple[str, dict[str, str], list[Column], str]] = [
    ("portfolio", {"as_of": PAST, "group_by": "adviser"}, PORTFOLIO_COLUMNS, f"portfolio-{PAST}"),
    ("portfolio", {"as_of": TO, "group_by": "region"}, PORTFOLIO_COLUMNS, f"portfolio-{TO}"),
    ("flows", {"from": FROM, "to": TO, "interval": "quarter"}, FLOWS_COLUMNS, f"flows-{FROM}_{TO}"),
    (
        "coaching",
        {"from": FROM, "to": TO, "group_by": "month"},
        COACHING_COLUMNS,
        f"coaching-{FROM}_{TO}",
    ),
    ("impact", {"as_of": PAST, "group_by": "gender"}, IMPACT_COLUMNS, f"impact-{PAST}"),
]
IDS = [f"{report}-{next(iter(params.values()))}" for report, params, _, _ in CASES]


async def download(
    client: AsyncClient, report: str, headers: dict[str, str], **params: str
) -> tuple[dict[str, Any], Any]:
    json_response = await client.get(f"/api/v1/reports/{report}", params=params, headers=headers)
    assert json_response.status_code == 200
    file_response = await client.get(f"/api/v1/reports/{report}", params=params, headers=headers)
    return json_response.json(), file_response


def json_cell(column: Column, row: dict[str, Any]) -> Any:
    return column.value(row)


def expected_lines(body: dict[str, Any], columns: list[Column]) -> list[list[Any]]:
    lines = [[json_cell(column, row) for column in columns] for row in body["rows"]]
    total = [json_cell(column, body["total"]) for column in columns]
    total[0] = "Total"
    return [*lines, total]


@pytest.mark.parametrize(("report", "params", "columns", "stem"), CASES, ids=IDS)
async def test_csv_holds_the_json_rows(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    report: str,
    params: dict[str, str],
    columns: list[Column],
    stem: str,
) -> None:
    body = (
        await report_client.get(
            f"/api/v1/reports/{report}", params=params, headers=national_headers
        )
    ).json()
    response = await report_client.get(
        f"/api/v1/reports/{report}", params={**params, "format": "csv"}, headers=national_headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="{stem}.csv"'
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0] == [column.name for column in columns]
    expected = [
        ["" if value is None else str(value) for value in line]
        for line in expected_lines(body, columns)
    ]
    assert table[1:] == expected
    assert len(table) == len(body["rows"]) + 2


def excel_value(column: Column, value: Any) -> Any:
    """A JSON cell as openpyxl reads the workbook's cell back."""
    if value is None:
        return None
    if column.kind in (Kind.money, Kind.ratio, Kind.hours):
        return float(Decimal(value))
    if column.kind is Kind.date:
        return datetime.fromisoformat(value)
    return value


@pytest.mark.parametrize(("report", "params", "columns", "stem"), CASES, ids=IDS)
async def test_xlsx_holds_the_json_rows_with_formats(
    report_client: AsyncClient,
    national_headers: dict[str, str],
    report: str,
    params: dict[str, str],
    columns: list[Column],
    stem: str,
) -> None:
    body = (
        await report_client.get(
            f"/api/v1/reports/{report}", params=params, headers=national_headers
        )
    ).json()
    response = await report_client.get(
        f"/api/v1/reports/{report}", params={**params, "format": "xlsx"}, headers=national_headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX_MEDIA_TYPE
    assert response.headers["content-disposition"] == f'attachment; filename="{stem}.xlsx"'

    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == [report.capitalize(), "Parameters"]
    sheet = workbook[report.capitalize()]
    assert sheet.freeze_panes == "A2"
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert cells[0] == [column.title for column in columns]
    expected = [
        [
            "Total" if index == 0 and number == len(body["rows"]) else excel_value(column, value)
            for index, (column, value) in enumerate(zip(columns, line, strict=True))
        ]
        for number, line in enumerate(expected_lines(body, columns))
    ]
    assert cells[1:] == expected

    first_data_row = next(iter(sheet.iter_rows(min_row=2, max_row=2)))
    for column, cell in zip(columns, first_data_row, strict=True):
        if column.kind is Kind.money:
            assert cell.number_format == "#,##0.00"
        elif column.kind is Kind.ratio:
            assert cell.number_format == "0.00%"
    widths = {
        number: dimension.width
        for dimension in sheet.column_dimensions.values()
        for number in range(dimension.min, dimension.max + 1)
    }
    for index, column in enumerate(columns):
        width = widths[index + 1]
        longest = max(
            len(
                line[index].date().isoformat()
                if isinstance(line[index], datetime)
                else str(line[index])
            )
            for line in cells[1:]
            if line[index] is not None
        )
        assert width >= min(longest, 58), (column.name, width, longest)

    parameters = dict(workbook["Parameters"].iter_rows(min_row=2, values_only=True))
    if "as_of" in params:
        assert parameters["As of"] == params["as_of"]
    else:
        assert (parameters["From"], parameters["To"]) == (params["from"], params["to"])
    assert parameters["Centre"] == "All centres"

    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        charts = [name for name in archive.namelist() if name.startswith("xl/charts/chart")]
        if report == "portfolio":
            (chart,) = charts
            xml = archive.read(chart).decode()
            assert "<c:barChart>" in xml and "PAR30 ratio" in xml
            assert f"$B$2:$B${len(body['rows']) + 1}" in xml  # labels, total excluded
        else:
            assert charts == []
