"""Who may import what, dry runs, and the same records from every file format."""

from typing import Any

from httpx import AsyncClient
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import AuditEvent
from app.core.config import Settings
from app.enterprises.models import Enterprise, EnterpriseOwner
from app.holders.models import Holder
from tests.helpers import auth
from tests.imports.factories import (
    HOLDER_COLUMNS,
    ImportWorld,
    as_text_dates,
    csv_file,
    holder_rows,
    upload,
    xlsx_file,
)

ENTERPRISE_COLUMNS = [
    "centre_code",
    "name",
    "legal_form",
    "sector",
    "area",
    "created_on",
    "owner_national_ids",
]


async def holder_records(session: AsyncSession) -> list[dict[str, Any]]:
    holders = (
        await session.execute(
            select(Holder).order_by(Holder.national_id).execution_options(populate_existing=True)
        )
    ).scalars()
    ignored = {"id", "created_at", "updated_at"}
    return [
        {c.key: getattr(h, c.key) for c in Holder.__table__.columns if c.key not in ignored}
        for h in holders
    ]


async def test_thousands_of_rows_give_the_same_records_in_every_format(
    client: AsyncClient, world: ImportWorld, settings: Settings, session: AsyncSession
) -> None:
    rows = holder_rows(1500)
    files = {
        "semicolon.csv": csv_file(HOLDER_COLUMNS, as_text_dates(rows, french=True), ";", bom=True),
        "comma.csv": csv_file(HOLDER_COLUMNS, as_text_dates(rows, french=False), ","),
        "workbook.xlsx": xlsx_file(HOLDER_COLUMNS, rows),
    }
    headers = auth(world.adviser, settings)
    results = []
    for filename, content in files.items():
        response = await upload(client, headers, "holders", content, filename=filename)
        assert response.status_code == 201, (filename, response.text[:500])
        assert response.json()["created"] == 1500
        results.append(await holder_records(session))
        await session.execute(delete(Holder))
        await session.commit()
    assert len(results[0]) == 1500
    assert results[0] == results[1] == results[2]
    assert results[0][1]["first_name"] == "فاطمة الزهراء"
    assert results[0][0]["phone"] == "+212600000000"


async def test_a_dry_run_checks_everything_and_writes_nothing(
    client: AsyncClient, world: ImportWorld, settings: Settings, session: AsyncSession
) -> None:
    content = csv_file(HOLDER_COLUMNS, as_text_dates(holder_rows(20), False))
    response = await upload(client, auth(world.adviser, settings), "holders", content, dry_run=True)
    assert response.status_code == 200
    assert response.json() == {
        "kind": "holders",
        "dry_run": True,
        "rows": 20,
        "created": 20,
        "skipped": 0,
    }
    assert (await session.execute(select(Holder))).first() is None
    assert (await session.execute(select(AuditEvent))).first() is None


async def test_an_adviser_imports_holders_and_enterprises_of_its_centre_only(
    client: AsyncClient, world: ImportWorld, settings: Settings, session: AsyncSession
) -> None:
    headers = auth(world.adviser, settings)
    rows = as_text_dates(holder_rows(3), False)
    for row in rows:
        del row["centre_code"]  # the adviser's centre by default
    response = await upload(
        client,
        headers,
        "holders",
        csv_file([c for c in HOLDER_COLUMNS if c != "centre_code"], rows),
    )
    assert response.status_code == 201, response.text
    centres = set((await session.execute(select(Holder.centre_id))).scalars())
    assert centres == {world.centre.id}

    enterprise = {
        "centre_code": "CASA01",
        "name": "Coopérative Tifawin",
        "legal_form": "cooperative",
        "sector": "agri_food",
        "area": "rural",
        "created_on": "01/03/2025",
        "owner_national_ids": f"{rows[0]['national_id']} | {rows[1]['national_id'].lower()}",
    }
    response = await upload(
        client, headers, "enterprises", csv_file(ENTERPRISE_COLUMNS, [enterprise])
    )
    assert response.status_code == 201, response.text
    owners = (await session.execute(select(EnterpriseOwner.holder_id))).scalars().all()
    assert len(owners) == 2
    assert (await session.execute(select(Enterprise.status))).scalar_one() == "active"

    elsewhere = as_text_dates(holder_rows(2, prefix="EL", centre_code="FES01"), False)
    response = await upload(client, headers, "holders", csv_file(HOLDER_COLUMNS, elsewhere))
    assert response.status_code == 422
    assert {(e["row"], e["field"]) for e in response.json()["errors"]} == {
        (2, "centre_code"),
        (3, "centre_code"),
    }
    for kind in ("loans", "repayments"):
        response = await upload(client, headers, kind, b"anything")
        assert response.status_code == 403


async def test_viewers_may_not_import_and_a_manager_stays_in_its_centre(
    client: AsyncClient, world: ImportWorld, settings: Settings
) -> None:
    content = csv_file(HOLDER_COLUMNS, as_text_dates(holder_rows(1), False))
    response = await upload(client, auth(world.viewer, settings), "holders", content)
    assert response.status_code == 403
    other = csv_file(
        HOLDER_COLUMNS, as_text_dates(holder_rows(1, prefix="MX", centre_code="FES01"), False)
    )
    response = await upload(client, auth(world.manager, settings), "holders", other)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "centre_code"
    response = await upload(client, auth(world.admin, settings), "holders", other)
    assert response.status_code == 201


async def test_an_admin_without_a_centre_names_one_per_row_or_by_default(
    client: AsyncClient, world: ImportWorld, settings: Settings, session: AsyncSession
) -> None:
    rows = as_text_dates(holder_rows(2), False)
    for row in rows:
        del row["centre_code"]
    columns = [c for c in HOLDER_COLUMNS if c != "centre_code"]
    headers = auth(world.admin, settings)
    response = await upload(client, headers, "holders", csv_file(columns, rows))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "centre_code"
    response = await upload(
        client, headers, "holders", csv_file(columns, rows), centre_code="FES01"
    )
    assert response.status_code == 201, response.text
    centres = set((await session.execute(select(Holder.centre_id))).scalars())
    assert centres == {world.other_centre.id}
