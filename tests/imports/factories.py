"""Import files built in memory, and the world the templates' examples refer to."""

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import xlsxwriter
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.centres.models import Centre
from app.loans.models import Lender, LoanProduct
from app.users.models import User
from tests.centres.factories import make_centre
from tests.loans.factories import make_lender, make_product
from tests.users.factories import make_user


@dataclass
class ImportWorld:
    """The centre, users, lender and product that the templates' example rows name."""

    centre: Centre
    other_centre: Centre
    admin: User
    manager: User
    adviser: User
    viewer: User
    other_adviser: User
    lender: Lender
    product: LoanProduct


async def make_import_world(session: AsyncSession) -> ImportWorld:
    centre = await make_centre(session, code="CASA01")
    other = await make_centre(session, code="FES01")
    lender = await make_lender(session, code="AMC-ATT")
    product = await make_product(
        session, lender, name="Crédit TPE mensuel", min_principal=1000, max_principal=50000
    )
    return ImportWorld(
        centre=centre,
        other_centre=other,
        admin=await make_user(session, "admin"),
        manager=await make_user(session, "manager", centre),
        adviser=await make_user(session, "adviser", centre, email="conseillere@centre.ma"),
        viewer=await make_user(session, "viewer", centre),
        other_adviser=await make_user(session, "adviser", other),
        lender=lender,
        product=product,
    )


def csv_file(
    columns: list[str], rows: list[dict[str, Any]], delimiter: str = ";", bom: bool = False
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else str(row[c]) for c in columns])
    return buffer.getvalue().encode("utf-8-sig" if bom else "utf-8")


def xlsx_file(columns: list[str], rows: list[dict[str, Any]]) -> bytes:
    """Dates as date cells, numbers as numbers where the row holds them, the rest as text."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("data")
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, columns)
    for line, row in enumerate(rows, start=1):
        for index, name in enumerate(columns):
            value = row.get(name)
            if value is None:
                continue
            if isinstance(value, date):
                sheet.write_datetime(line, index, value, date_format)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                sheet.write_number(line, index, value)
            else:
                sheet.write_string(line, index, str(value))
    workbook.close()
    return buffer.getvalue()


async def upload(
    client: AsyncClient,
    headers: dict[str, str],
    kind: str,
    content: bytes,
    *,
    filename: str = "import.csv",
    dry_run: bool = False,
    **params: str,
) -> Response:
    query = {"dry_run": "true"} if dry_run else {}
    query.update(params)
    return await client.post(
        f"/api/v1/imports/{kind}",
        params=query,
        files={"file": (filename, content, "application/octet-stream")},
        headers=headers,
    )


HOLDER_COLUMNS = [
    "centre_code",
    "first_name",
    "last_name",
    "national_id",
    "birth_date",
    "gender",
    "phone",
    "area",
    "household_vulnerable",
    "enrolled_on",
    "sector",
]


def holder_rows(
    count: int, prefix: str = "GH", centre_code: str = "CASA01"
) -> list[dict[str, Any]]:
    """`count` valid holders, dates as `date` values (each file format writes them its own
    way), with Arabic and French names."""
    names = [("Fatima Zahra", "El Amrani"), ("فاطمة الزهراء", "العمراني"), ("Hâjar", "Benkirane")]
    rows = []
    for n in range(count):
        first, last = names[n % len(names)]
        rows.append(
            {
                "centre_code": centre_code,
                "first_name": first,
                "last_name": f"{last} {n}",
                "national_id": f"{prefix}{n:06d}",
                "birth_date": date(1995, 1, 1) + timedelta(days=n % 3000),
                "gender": "female" if n % 2 else "male",
                "phone": f"06{n:08d}",
                "area": "rural" if n % 3 == 0 else "urban",
                "household_vulnerable": "true" if n % 4 == 0 else "false",
                "enrolled_on": date(2024, 1, 1) + timedelta(days=n % 500),
                "sector": "handicrafts",
            }
        )
    return rows


def as_text_dates(rows: list[dict[str, Any]], french: bool) -> list[dict[str, Any]]:
    """Dates written as text: `DD/MM/YYYY` or ISO."""
    return [
        {
            key: (value.strftime("%d/%m/%Y") if french else value.isoformat())
            if isinstance(value, date)
            else value
            for key, value in row.items()
        }
        for row in rows
    ]
