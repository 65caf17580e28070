"""Reading an uploaded table as a stream of rows: CSV (UTF-8 with or without BOM, `;` or `,`
detected by the standard `csv.Sniffer`) or the first sheet of an XLSX workbook (openpyxl in
read-only mode, cached values only: formulas are never evaluated).

Limits (README "Imports"): a file over `MAX_FILE_BYTES` or with more than `MAX_ROWS` data
rows is refused with 413; an XLSX whose parts unpack to more than `MAX_UNPACKED_BYTES` (a zip
bomb) is refused with 422, as is anything that is neither UTF-8 text nor a workbook.
"""

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import IO, Any

from app.core.errors import DomainError, RuleViolation

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
SNIFF_BYTES = 64 * 1024
ZIP_MAGIC = b"PK\x03\x04"

Cell = str | date | None
"""A cell as the importers see it: text (stripped, never empty), a date from a workbook's
date cell, or None for an empty cell."""


class TooLarge(DomainError):
    status = 413
    title = "File too large"


def unreadable(reason: str) -> RuleViolation:
    return RuleViolation("file", f"the file cannot be read: {reason}")


@dataclass
class Table:
    """A file's column names (as written, stripped and lower-cased) and its data rows, each
    with its line number as a spreadsheet shows it (header = 1)."""

    columns: list[str]
    rows: Iterator[tuple[int, list[Cell]]]
    total_rows: int | None
    """The number of data rows when known before reading them (for progress bars)."""


def file_size(stream: IO[bytes]) -> int:
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def open_table(stream: IO[bytes]) -> Table:
    """The table in `stream` (a seekable binary file). 413 or 422 as the module says."""
    if file_size(stream) > MAX_FILE_BYTES:
        raise TooLarge(f"Files are limited to {MAX_FILE_BYTES // (1024 * 1024)} MiB.")
    head = stream.read(len(ZIP_MAGIC))
    stream.seek(0)
    if head == ZIP_MAGIC:
        return open_workbook(stream)
    return open_csv(stream)


# --- CSV -----------------------------------------------------------------------------------


def text_cell(value: str) -> Cell:
    value = value.strip()
    return value or None


def check_text(stream: IO[bytes]) -> None:
    """Decode the whole file once (cheap: at most 10 MiB) so that a binary or non-UTF-8 file
    is refused before any row is used."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    try:
        while chunk := stream.read(1024 * 1024):
            if b"\x00" in chunk:
                raise unreadable("it is binary, not CSV text or an XLSX workbook")
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise unreadable("it is not UTF-8 text (save the CSV as UTF-8)") from None
    stream.seek(0)


def sniff_dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    """`;` or `,`, as the standard sniffer finds them; a file whose first lines give it no
    clue (one column) is read with `,`."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=";,")
    except csv.Error:
        first_line = sample.split("\n", 1)[0]
        dialect = csv.excel()
        dialect.delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
        return dialect


def open_csv(stream: IO[bytes]) -> Table:
    check_text(stream)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    sample = text.read(SNIFF_BYTES)
    if "\n" in sample and len(sample) == SNIFF_BYTES:
        sample = sample[: sample.rfind("\n")]
    text.seek(0)
    dialect = sniff_dialect(sample)
    try:
        total = sum(1 for _ in csv.reader(text, dialect)) - 1
    except csv.Error as exc:
        raise unreadable(f"it is not valid CSV ({exc})") from None
    text.seek(0)
    reader = csv.reader(text, dialect)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise unreadable("it is empty") from None
    if total > MAX_ROWS:
        raise TooLarge(f"Files are limited to {MAX_ROWS} rows; this one has {total}.")

    def rows() -> Iterator[tuple[int, list[Cell]]]:
        for number, record in enumerate(reader, start=2):
            if not any(value.strip() for value in record):
                continue
            yield number, [text_cell(value) for value in record]

    return Table([name.strip().lower() for name in header], rows(), max(total, 0))


# --- XLSX ----------------------------------------------------------------------------------


def check_zip(stream: IO[bytes]) -> None:
    """Refuse a workbook whose parts would unpack to more than MAX_UNPACKED_BYTES, reading
    only the zip directory (the sizes it declares; openpyxl's reader stops at them)."""
    try:
        with zipfile.ZipFile(stream) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise unreadable("it is neither CSV text nor a valid XLSX workbook") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise unreadable(
            f"the workbook unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MiB"
        )
    if "xl/workbook.xml" not in names:
        raise unreadable("it is a zip archive but not an XLSX workbook")
    stream.seek(0)


def workbook_cell(value: Any) -> Cell:
    """Text for numbers and text (a whole float such as 12.0 as `12`), a date for a date
    cell, None for an empty one. A formula's cached value is what openpyxl returns with
    `data_only`: the formula itself is never evaluated."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return text_cell(str(value))


def open_workbook(stream: IO[bytes]) -> Table:
    from openpyxl import load_workbook

    check_zip(stream)
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        values = sheet.iter_rows(values_only=True)
        header = next(values, None)
    except Exception:  # openpyxl raises many kinds of errors on a damaged workbook
        raise unreadable("it is not a valid XLSX workbook") from None
    if header is None or all(cell is None for cell in header):
        raise unreadable("it is empty")
    declared = sheet.max_row - 1 if isinstance(sheet.max_row, int) else None
    if declared is not None and declared > MAX_ROWS:
        raise TooLarge(f"Files are limited to {MAX_ROWS} rows; this one has {declared}.")
    columns = ["" if name is None else str(name).strip().lower() for name in header]
    while columns and columns[-1] == "":
        columns.pop()

    def rows() -> Iterator[tuple[int, list[Cell]]]:
        try:
            for number, record in enumerate(values, start=2):
                if number - 1 > MAX_ROWS:
                    raise TooLarge(f"Files are limited to {MAX_ROWS} rows.")
                cells = [workbook_cell(value) for value in record]
                if any(cell is not None for cell in cells):
                    yield number, cells
        except DomainError:
            raise
        except Exception:  # a sheet damaged after its first row
            raise unreadable("the workbook's first sheet is damaged") from None
        finally:
            workbook.close()

    return Table(columns, rows(), declared)
