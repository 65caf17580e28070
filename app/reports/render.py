"""CSV and Excel files of a report: the same rows as the JSON, header first, total last.

Columns are flat: nested figures get compound names (`aging_1_30_loans`,
`aging_1_30_outstanding`). CSV cells hold the JSON strings as they are (money with two
decimals, ratios with four, empty for null). Excel cells hold numbers with formats (MAD
amounts `#,##0.00`, ratios `0.00%`, dates `yyyy-mm-dd`), a frozen header, columns as
wide as their content, the parameters on a second sheet and, for the portfolio, a native
column chart of PAR30 by group. The workbook is written in XlsxWriter's constant-memory
mode to a temporary file that is streamed and then deleted; rendering is blocking work,
so the router runs it in a worker thread.
"""

import csv
import io
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import xlsxwriter

from app.loans.ledger import AgingBucket
from app.reports.labels import TOTAL_LABEL

CSV_MEDIA_TYPE = "text/csv"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UTF8_BOM = "\ufeff"  # lets spreadsheet programs read Arabic and French names as UTF-8


class Kind(StrEnum):
    text = "text"
    key = "key"
    integer = "integer"
    money = "money"
    ratio = "ratio"
    hours = "hours"
    date = "date"


NUMBER_FORMATS = {
    Kind.integer: "0",
    Kind.money: "#,##0.00",
    Kind.ratio: "0.00%",
    Kind.hours: "0.00",
    Kind.date: "yyyy-mm-dd",
}


@dataclass(frozen=True)
class Column:
    name: str  # CSV header
    title: str  # Excel header
    kind: Kind
    path: tuple[str, ...]  # where the value sits in the JSON row

    def value(self, row: dict[str, Any]) -> Any:
        value: Any = row
        for part in self.path:
            value = value[part]
        return value


def _column(name: str, title: str, kind: Kind) -> Column:
    return Column(name, title, kind, (name,))


def _aging_columns() -> list[Column]:
    columns = []
    for bucket in AgingBucket:
        slug = bucket.value.replace("-", "_").replace("+", "_plus")
        title = "current" if bucket is AgingBucket.CURRENT else f"{bucket.value} days"
        columns.append(
            Column(
                f"aging_{slug}_loans",
                f"Loans {title}",
                Kind.integer,
                ("aging", bucket.value, "loans"),
            )
        )
        columns.append(
            Column(
                f"aging_{slug}_outstanding",
                f"Outstanding {title}",
                Kind.money,
                ("aging", bucket.value, "outstanding_principal"),
            )
        )
    return columns


GROUP_COLUMNS = [_column("key", "Key", Kind.key), _column("label", "Group", Kind.text)]

PORTFOLIO_COLUMNS = [
    *GROUP_COLUMNS,
    _column("active_loans", "Active loans", Kind.integer),
    _column("active_borrowers", "Active borrowers", Kind.integer),
    _column("outstanding_principal", "Outstanding principal (MAD)", Kind.money),
    _column("arrears_amount", "Arrears (MAD)", Kind.money),
    _column("par1_amount", "PAR1 (MAD)", Kind.money),
    _column("par30_amount", "PAR30 (MAD)", Kind.money),
    _column("par90_amount", "PAR90 (MAD)", Kind.money),
    _column("par1_ratio", "PAR1 ratio", Kind.ratio),
    _column("par30_ratio", "PAR30 ratio", Kind.ratio),
    _column("par90_ratio", "PAR90 ratio", Kind.ratio),
    *_aging_columns(),
]

FLOWS_COLUMNS = [
    _column("period_start", "Period start", Kind.date),
    _column("disbursed_count", "Loans disbursed", Kind.integer),
    _column("disbursed_amount", "Disbursed (MAD)", Kind.money),
    _column("collected_principal", "Principal collected (MAD)", Kind.money),
    _column("collected_interest", "Interest collected (MAD)", Kind.money),
    _column("written_off_amount", "Written off (MAD)", Kind.money),
    _column("loans_closed", "Loans repaid", Kind.integer),
    _column("amount_due", "Amount due (MAD)", Kind.money),
    _column("collected_on_time", "Collected on time (MAD)", Kind.money),
    _column("on_time_repayment_rate", "On-time repayment rate", Kind.ratio),
]

COACHING_COLUMNS = [
    *GROUP_COLUMNS,
    _column("sessions", "Sessions", Kind.integer),
    _column("hours", "Hours", Kind.hours),
    _column("holders_reached", "Holders reached", Kind.integer),
    _column("female_share", "Female share", Kind.ratio),
]

IMPACT_COLUMNS = [
    *GROUP_COLUMNS,
    _column("holders", "Holders", Kind.integer),
    _column("enterprises_created", "Enterprises created", Kind.integer),
    _column("active_enterprises", "Active enterprises", Kind.integer),
    _column("closed_enterprises", "Closed enterprises", Kind.integer),
    _column("survival_rate_12m", "12-month survival", Kind.ratio),
    _column("survival_rate_24m", "24-month survival", Kind.ratio),
    _column("jobs", "Jobs", Kind.integer),
    _column("coached_holders", "Coached holders", Kind.integer),
    _column("loan_uptake_6m", "Loan uptake within 6 months", Kind.ratio),
]


@dataclass(frozen=True)
class ReportFile:
    """How a report is laid out as a file."""

    name: str  # "portfolio", ...; the sheet title and the file name's start
    title: str
    columns: list[Column]
    chart_ratio: str | None = None  # the column charted by group, when any


PORTFOLIO_FILE = ReportFile(
    "portfolio", "Portfolio at risk and aging", PORTFOLIO_COLUMNS, chart_ratio="par30_ratio"
)
FLOWS_FILE = ReportFile("flows", "Portfolio flows", FLOWS_COLUMNS)
COACHING_FILE = ReportFile("coaching", "Coaching activity", COACHING_COLUMNS)
IMPACT_FILE = ReportFile("impact", "Impact", IMPACT_COLUMNS)


@dataclass(frozen=True)
class Table:
    """A report ready to render: its JSON rows and total, and how to lay them out."""

    layout: ReportFile
    parameters: list[tuple[str, str]]
    rows: list[dict[str, Any]]
    total: dict[str, Any]

    @property
    def columns(self) -> list[Column]:
        return self.layout.columns


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMERIC_KINDS = {Kind.integer, Kind.money, Kind.ratio, Kind.hours}


def neutralise_formula(text: str) -> str:
    """A text cell that a spreadsheet would run as a formula (`=HYPERLINK(...)`, `+1`,
    `-2+3`, `@SUM(...)`, or one starting with a tab or a carriage return) gets a leading
    apostrophe, so that it is shown as the text it is (OWASP's "CSV injection" advice).
    Numeric columns are written by the service itself and left as they are, so a negative
    figure stays a number."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_cells(table: Table, row: dict[str, Any], is_total: bool) -> list[str]:
    cells = []
    for index, column in enumerate(table.columns):
        value = column.value(row)
        if index == 0 and is_total:
            value = TOTAL_LABEL
        cell = "" if value is None else str(value)
        if column.kind not in NUMERIC_KINDS:
            cell = neutralise_formula(cell)
        cells.append(cell)
    return cells


def iter_csv(table: Table) -> Iterator[bytes]:
    """The header, one line per row and the total, encoded as they are produced."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: Sequence[str]) -> bytes:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue().encode("utf-8")

    yield UTF8_BOM.encode("utf-8") + line([column.name for column in table.columns])
    for row in table.rows:
        yield line(_csv_cells(table, row, is_total=False))
    yield line(_csv_cells(table, table.total, is_total=True))


def _excel_value(column: Column, value: Any) -> Any:
    if value is None:
        return None
    match column.kind:
        case Kind.money | Kind.ratio | Kind.hours:
            return float(Decimal(value))
        case Kind.integer:
            return int(value)
        case Kind.date:
            return datetime.combine(date.fromisoformat(value), datetime.min.time())
        case _:
            return value


def _display_width(column: Column, value: Any) -> int:
    if value is None:
        return 0
    match column.kind:
        case Kind.money:
            return len(f"{value:,.2f}")
        case Kind.ratio:
            return len(f"{value * 100:.2f}%")
        case Kind.date:
            return 10
        case _:
            return len(str(value))


def render_xlsx(table: Table) -> str:
    """Write the workbook to a temporary file and return its path (the caller deletes it)."""
    handle, path = tempfile.mkstemp(prefix=f"{table.layout.name}-", suffix=".xlsx")
    os.close(handle)
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True})
    try:
        _write_workbook(workbook, table)
    finally:
        workbook.close()
    return path


def _write_workbook(workbook: Any, table: Table) -> None:
    header = workbook.add_format(
        {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True}
    )
    formats = {
        kind: workbook.add_format({"num_format": fmt}) for kind, fmt in NUMBER_FORMATS.items()
    }
    total_formats = {
        kind: workbook.add_format({"num_format": fmt, "bold": True, "top": 1})
        for kind, fmt in NUMBER_FORMATS.items()
    }
    total_text = workbook.add_format({"bold": True, "top": 1})

    sheet = workbook.add_worksheet(table.layout.name.capitalize())
    lines = [(row, False) for row in table.rows] + [(table.total, True)]
    values = [
        [
            TOTAL_LABEL if is_total and index == 0 else _excel_value(column, column.value(row))
            for index, column in enumerate(table.columns)
        ]
        for row, is_total in lines
    ]
    for index, column in enumerate(table.columns):
        width = max(
            [min(len(column.title), 24)]
            + [_display_width(column, line[index]) for line in values if line[index] != TOTAL_LABEL]
            + [len(TOTAL_LABEL) if index == 0 else 0]
        )
        sheet.set_column(index, index, min(width + 2, 60))
    sheet.freeze_panes(1, 0)
    sheet.set_row(0, 30)
    for index, column in enumerate(table.columns):
        sheet.write_string(0, index, column.title, header)
    for row_number, (line, (_, is_total)) in enumerate(zip(values, lines, strict=True), start=1):
        for index, (column, value) in enumerate(zip(table.columns, line, strict=True)):
            number_formats = total_formats if is_total else formats
            if value is None:
                sheet.write_blank(row_number, index, None, number_formats.get(column.kind))
            elif isinstance(value, str):
                sheet.write_string(row_number, index, value, total_text if is_total else None)
            elif isinstance(value, datetime):
                sheet.write_datetime(row_number, index, value, number_formats[Kind.date])
            else:
                sheet.write_number(row_number, index, value, number_formats.get(column.kind))

    if table.layout.chart_ratio is not None and table.rows:
        ratio_index = next(
            i for i, c in enumerate(table.columns) if c.name == table.layout.chart_ratio
        )
        label_index = next(i for i, c in enumerate(table.columns) if c.name == "label")
        chart = workbook.add_chart({"type": "column"})
        sheet_name = sheet.get_name()
        last = len(table.rows)
        chart.add_series(
            {
                "name": table.columns[ratio_index].title,
                "categories": [sheet_name, 1, label_index, last, label_index],
                "values": [sheet_name, 1, ratio_index, last, ratio_index],
                "data_labels": {"value": True, "num_format": "0.0%"},
            }
        )
        chart.set_title({"name": f"{table.columns[ratio_index].title} by group"})
        chart.set_y_axis({"num_format": "0%", "min": 0})
        chart.set_legend({"none": True})
        sheet.insert_chart(last + 3, 1, chart, {"x_scale": 1.5, "y_scale": 1.2})

    parameters = workbook.add_worksheet("Parameters")
    parameters.set_column(0, 0, 16)
    parameters.set_column(1, 1, max([len(value) for _, value in table.parameters] + [24]) + 2)
    parameters.write_string(0, 0, "Report", header)
    parameters.write_string(0, 1, table.layout.title, header)
    for row_number, (name, value) in enumerate(table.parameters, start=1):
        parameters.write_string(row_number, 0, name)
        parameters.write_string(row_number, 1, value)


def content_disposition(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}
