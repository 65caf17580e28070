"""The yearly activity report as CSV and Excel: one row per figure and category.

Columns: `section` (holders, enterprises, loans, coaching), `figure` (`enrolled`,
`by_gender`, ...), `category` (the category's key, empty for a headline figure), `label`,
then the values the figure has: `count`, `amount` (MAD), `hours`, `ratio`. CSV cells hold
the JSON strings as they are; Excel cells hold numbers with formats. The workbook has the
rows on a first sheet, each category table with a native column chart on a second, and
the parameters on a third.
"""

import csv
import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import xlsxwriter

from app.reports.labels import humanise
from app.reports.render import UTF8_BOM

COLUMNS = ("section", "figure", "category", "label", "count", "amount", "hours", "ratio")
TITLES = ("Section", "Figure", "Category", "Label", "Count", "Amount (MAD)", "Hours", "Ratio")
NUMBER_FORMATS = {"count": "0", "amount": "#,##0.00", "hours": "0.00", "ratio": "0.00%"}

# (section, figure, value names) of every category table, in report order.
CATEGORY_TABLES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("holders", "by_gender", ("count",)),
    ("holders", "by_area", ("count",)),
    ("holders", "by_age_band", ("count",)),
    ("enterprises", "by_sector", ("count",)),
    ("enterprises", "by_area", ("count",)),
    ("loans", "by_sector", ("count", "amount")),
    ("loans", "by_lender", ("count", "amount")),
    ("coaching", "by_kind", ("sessions", "hours")),
)

# Headline figures: (section, figure, the column its value goes in).
HEADLINES: tuple[tuple[str, str, str], ...] = (
    ("holders", "enrolled", "count"),
    ("holders", "supported", "count"),
    ("enterprises", "created", "count"),
    ("enterprises", "jobs", "count"),
    ("loans", "disbursed_count", "count"),
    ("loans", "disbursed_amount", "amount"),
    ("loans", "collected_principal", "amount"),
    ("loans", "collected_interest", "amount"),
    ("loans", "on_time_repayment_rate", "ratio"),
    ("loans", "par30_ratio_at_year_end", "ratio"),
    ("coaching", "sessions", "count"),
    ("coaching", "hours", "hours"),
    ("coaching", "holders_reached", "count"),
)


@dataclass(frozen=True)
class Line:
    section: str
    figure: str
    category: str
    label: str
    values: dict[str, Any]  # column name -> JSON value (None: empty)

    def cells(self) -> list[Any]:
        return [
            self.section,
            self.figure,
            self.category,
            self.label,
            *(self.values.get(name) for name in COLUMNS[4:]),
        ]


def _category_label(body: dict[str, Any], section: str, figure: str, key: str) -> str:
    if figure == "by_lender":
        return str(body["loans"]["lender_names"].get(key, key))
    return humanise(key)


def lines(body: dict[str, Any]) -> list[Line]:
    """The report's JSON body as one line per headline figure and per category."""
    result = [
        Line(section, figure, "", humanise(figure), {column: body[section][figure]})
        for section, figure, column in HEADLINES
    ]
    for section, figure, _ in CATEGORY_TABLES:
        for key, value in body[section][figure].items():
            if isinstance(value, dict):
                values = {
                    "count": value.get("count", value.get("sessions")),
                    "amount": value.get("amount"),
                    "hours": value.get("hours"),
                }
            else:
                values = {"count": value}
            label = _category_label(body, section, figure, key)
            result.append(Line(section, figure, key, label, values))
    return result


def iter_activity_csv(body: dict[str, Any]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for line in lines(body):
        writer.writerow(["" if cell is None else str(cell) for cell in line.cells()])
    yield (UTF8_BOM + buffer.getvalue()).encode("utf-8")


def render_activity_xlsx(body: dict[str, Any], parameters: list[tuple[str, str]]) -> str:
    """Write the workbook to a temporary file and return its path (the caller deletes it)."""
    handle, path = tempfile.mkstemp(prefix="activity-", suffix=".xlsx")
    os.close(handle)
    workbook = xlsxwriter.Workbook(path)
    try:
        _write(workbook, body, parameters)
    finally:
        workbook.close()
    return path


def _number(value: Any) -> float | None:
    return None if value is None else float(Decimal(str(value)))


def _write(workbook: Any, body: dict[str, Any], parameters: list[tuple[str, str]]) -> None:
    header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    bold = workbook.add_format({"bold": True})
    formats = {
        name: workbook.add_format({"num_format": fmt}) for name, fmt in NUMBER_FORMATS.items()
    }

    rows_sheet = workbook.add_worksheet("Activity")
    rows_sheet.freeze_panes(1, 0)
    for index, (title, width) in enumerate(
        zip(TITLES, (12, 24, 20, 28, 10, 16, 10, 10), strict=True)
    ):
        rows_sheet.set_column(index, index, width)
        rows_sheet.write_string(0, index, title, header)
    for row_number, line in enumerate(lines(body), start=1):
        for index, cell in enumerate(line.cells()):
            name = COLUMNS[index]
            if cell is None or cell == "":
                continue
            if name in NUMBER_FORMATS:
                rows_sheet.write_number(row_number, index, _number(cell), formats[name])
            else:
                rows_sheet.write_string(row_number, index, str(cell))

    charts_sheet = workbook.add_worksheet("Categories")
    charts_sheet.set_column(0, 0, 28)
    charts_sheet.set_column(1, 2, 14)
    sheet_name = charts_sheet.get_name()
    row = 0
    for section, figure, names in CATEGORY_TABLES:
        table = body[section][figure]
        title = f"{humanise(section)}: {humanise(figure).lower()}"
        charts_sheet.write_string(row, 0, title, bold)
        charts_sheet.write_string(row + 1, 0, "Category", header)
        for offset, name in enumerate(names, start=1):
            charts_sheet.write_string(row + 1, offset, humanise(name), header)
        first = row + 2
        for line_number, (key, value) in enumerate(table.items()):
            charts_sheet.write_string(
                first + line_number, 0, _category_label(body, section, figure, key)
            )
            for offset, name in enumerate(names, start=1):
                cell = value[name] if isinstance(value, dict) else value
                number_format = formats[
                    "amount" if name == "amount" else "hours" if name == "hours" else "count"
                ]
                charts_sheet.write_number(first + line_number, offset, _number(cell), number_format)
        last = first + len(table) - 1
        chart = workbook.add_chart({"type": "column"})
        chart.add_series(
            {
                "name": humanise(names[0]),
                "categories": [sheet_name, first, 0, last, 0],
                "values": [sheet_name, first, 1, last, 1],
                "data_labels": {"value": True},
            }
        )
        chart.set_title({"name": title})
        chart.set_legend({"none": True})
        chart.set_y_axis({"min": 0})
        charts_sheet.insert_chart(row, 4, chart, {"x_scale": 1.0, "y_scale": 0.9})
        row = max(last + 3, row + 16)

    parameters_sheet = workbook.add_worksheet("Parameters")
    parameters_sheet.set_column(0, 1, 24)
    parameters_sheet.write_string(0, 0, "Report", header)
    parameters_sheet.write_string(0, 1, "Yearly activity", header)
    for row_number, (name, value) in enumerate(parameters, start=1):
        parameters_sheet.write_string(row_number, 0, name)
        parameters_sheet.write_string(row_number, 1, value)
