"""Template files: the header row and one example row, which imports as it is (dry run) once
the example's references (centre, adviser, holder, lender, product, loan) exist, plus, in
the workbook, a second sheet that explains each column (the import reads the first only)."""

import csv
import io

import xlsxwriter

from app.imports.cells import DATE_FORMATS
from app.imports.kinds import SPECS, ImportKind, KindSpec

KEYS = {
    "centre_code": "the centre's code; default: your own centre",
    "adviser_email": "the e-mail of an adviser or manager of the centre",
    "owner_national_ids": "the owners' national ids, separated by |",
    "holder_national_id": "the borrower's national id",
    "enterprise_name": "the name of an enterprise the borrower owns",
    "lender_code": "the lender's code",
    "product_name": "the name of one of the lender's loan products",
    "receipt": "the lender's identifier of the payment; a receipt already recorded for the "
    "loan is skipped",
}


def column_note(spec: KindSpec, kind: ImportKind, name: str) -> str:
    parts = ["required" if name in spec.required else "optional"]
    if name in spec.dates:
        parts.append(f"a date: {DATE_FORMATS}")
    if name in spec.decimals:
        parts.append("a number: 1250.50 or 1 250,50")
    if name == "reference":
        parts.append(
            "the lender's loan number"
            if kind == ImportKind.loans
            else "the lender's number of the loan repaid"
        )
    if name in KEYS:
        parts.append(KEYS[name])
    return "; ".join(parts)


def template_csv(kind: ImportKind) -> bytes:
    """UTF-8 with a BOM (so that spreadsheet programs read accents right), `;`-separated."""
    spec = SPECS[kind]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(spec.columns)
    writer.writerow([spec.example.get(name, "") for name in spec.columns])
    return buffer.getvalue().encode("utf-8-sig")


def template_xlsx(kind: ImportKind) -> bytes:
    """Every cell as text, so that national ids, phones and codes keep their leading zeros."""
    spec = SPECS[kind]
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    sheet = workbook.add_worksheet(kind.value)
    bold = workbook.add_format({"bold": True})
    for index, name in enumerate(spec.columns):
        sheet.write_string(0, index, name, bold)
        sheet.write_string(1, index, spec.example.get(name, ""))
        sheet.set_column(index, index, max(14, len(name) + 2))
    notes = workbook.add_worksheet("notes")
    notes.write_row(0, 0, ["column", "what it holds"], bold)
    for index, name in enumerate(spec.columns, start=1):
        notes.write_string(index, 0, name)
        notes.write_string(index, 1, column_note(spec, kind, name))
    notes.write_string(
        len(spec.columns) + 2,
        0,
        f"Only the first sheet is imported. Dates: {DATE_FORMATS}. Formulas are not "
        "evaluated: their last computed values are read.",
    )
    notes.set_column(0, 0, 22)
    notes.set_column(1, 1, 90)
    workbook.close()
    return buffer.getvalue()
