"""What spreadsheets write, turned into what the create bodies accept: dates as `YYYY-MM-DD`
or `DD/MM/YYYY` (French spreadsheets), amounts with a decimal comma and spaces between
thousands (`1 250,50`)."""

import re
from datetime import date

from app.imports.reading import Cell

ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
FRENCH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
THOUSANDS_SPACES = re.compile(r"[\s\u00a0\u202f']")
DATE_FORMATS = "YYYY-MM-DD or DD/MM/YYYY"


def parse_date(cell: Cell) -> date:
    """A date cell as is; text as `YYYY-MM-DD` or `DD/MM/YYYY`. ValueError otherwise."""
    if isinstance(cell, date):
        return cell
    assert cell is not None
    iso = ISO_DATE.fullmatch(cell)
    french = FRENCH_DATE.fullmatch(cell)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        if french:
            return date(int(french[3]), int(french[2]), int(french[1]))
    except ValueError:
        raise ValueError(f"{cell!r} is not a valid date") from None
    raise ValueError(f"{cell!r} is not a date: use {DATE_FORMATS}")


def parse_decimal(cell: Cell) -> str:
    """An amount or rate as plain decimal text: spaces (also non-breaking) and apostrophes
    between thousands are dropped; with both `.` and `,` present, the last one is the decimal
    separator and the other separates thousands; a lone `,` is a decimal comma. The create
    body then applies its own rules (at most two decimals, bounds)."""
    if isinstance(cell, date):
        raise ValueError("is a date, not an amount")
    assert cell is not None
    text = THOUSANDS_SPACES.sub("", cell)
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif text.count(",") == 1:
        text = text.replace(",", ".")
    return text
