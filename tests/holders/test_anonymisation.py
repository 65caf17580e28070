import json
import logging

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.coaching.models import SessionParticipant
from app.core.audit import AuditEvent
from app.core.config import Settings
from app.enterprises.models import EnterpriseOwner
from app.holders.models import Holder
from app.loans.models import Loan
from tests.centres.factories import make_centre
from tests.coaching.factories import make_coaching_session
from tests.enterprises.factories import make_enterprise
from tests.helpers import auth
from tests.holders.factories import holder_payload
from tests.loans.factories import make_lender, make_loan, make_product
from tests.users.factories import make_user

PERSONAL = {
    "first_name": "Khadija",
    "last_name": "Ouazzanito",
    "national_id": "qk482913",
    "birth_date": "2001-03-09",
    "phone": "06 61 23 45 98",
    "email": "khadija.ouazzanito@example.ma",
    "address": "Derb Sidi Bouloukat 17, Marrakech",
    "project_summary": "Coopérative de tapis berbères à Tahanaout",
}
# Every form in which a value could have been written down.
ERASED_VALUES = [
    "Khadija",
    "Ouazzanito",
    "QK482913",
    "qk482913",
    "2001-03-09",
    "+212661234598",
    "0661234598",
    "661234598",
    "06 61 23 45 98",
    "khadija.ouazzanito",
    "Sidi Bouloukat",
    "tapis berbères",
    "0677889900",
    "+212677889900",
    "Rahmouni",
]


def leaked(text: str) -> list[str]:
    return [value for value in ERASED_VALUES if value.casefold() in text.casefold()]


async def test_anonymisation_erases_personal_data_everywhere_and_keeps_the_rest(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The service's own loggers at DEBUG, libraries at the default LOG_LEVEL (INFO).
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="app")
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    admin = await make_user(session, role="admin")
    product = await make_product(session, await make_lender(session))
    await session.commit()
    headers = auth(adviser, settings)

    created = await client.post("/api/v1/holders", headers=headers, json=holder_payload(**PERSONAL))
    assert created.status_code == 201
    holder_id = created.json()["id"]
    # Writes whose audit events carry personal values, a refused one among them.
    for change in (
        {"phone": "0677889900"},
        {"last_name": "Rahmouni"},
        {"last_name": "Ouazzanito", "status": "enterprise_created"},
    ):
        response = await client.patch(f"/api/v1/holders/{holder_id}", headers=headers, json=change)
        assert response.status_code == 200
    refused = await client.post(
        "/api/v1/holders", headers=headers, json=holder_payload(national_id="QK482913")
    )
    assert refused.status_code == 409
    bad_phone = await client.patch(
        f"/api/v1/holders/{holder_id}", headers=headers, json={"phone": "06612345"}
    )
    assert bad_phone.status_code == 422
    holder = await session.get(Holder, holder_id)
    assert holder is not None
    enterprise = await make_enterprise(session, centre, [holder])
    await make_coaching_session(session, adviser, [holder])
    await make_loan(session, holder, product)
    await session.commit()

    response = await client.post(
        f"/api/v1/holders/{holder_id}/anonymise", headers=auth(admin, settings)
    )

    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in (*PERSONAL, "status", "gender", "area", "version")} == {
        "first_name": "Anonymised",
        "last_name": f"#{holder_id}",
        "national_id": None,
        "birth_date": "2001-07-01",
        "phone": None,
        "email": None,
        "address": None,
        "project_summary": None,
        "status": "enterprise_created",
        "gender": "female",
        "area": "urban",
        "version": 5,
    }
    assert body["anonymised_at"] is not None
    assert response.headers["etag"] == '"5"'
    assert leaked(response.text) == []
    stored = await session.get(Holder, holder_id, populate_existing=True)
    assert stored is not None
    assert stored.search_text == ""

    events = (await session.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars().all()
    assert leaked(json.dumps([e.changes for e in events], ensure_ascii=False)) == []
    holder_events = [(e.action, e.changes) for e in events if e.entity == "holder"]
    assert [action for action, _ in holder_events] == [
        "create",
        "update",
        "update",
        "update",
        "status_change",
        "anonymise",
    ]
    assert holder_events[1][1] == {"phone": "[erased]"}
    assert holder_events[4][1] == {"status": {"from": "applicant", "to": "enterprise_created"}}
    assert holder_events[5][1] == {
        "erased": [
            "first_name",
            "last_name",
            "national_id",
            "birth_date",
            "phone",
            "email",
            "address",
            "project_summary",
        ]
    }
    assert holder_events[0][1]["gender"] == "female"

    # Loans, coaching and ownership stay attached to the (now anonymous) holder.
    assert (await session.execute(select(Loan.holder_id))).scalars().all() == [holder_id]
    participants = select(SessionParticipant.holder_id)
    assert (await session.execute(participants)).scalars().all() == [holder_id]
    owners = select(EnterpriseOwner.holder_id).where(EnterpriseOwner.enterprise_id == enterprise.id)
    assert (await session.execute(owners)).scalars().all() == [holder_id]

    search = await client.get("/api/v1/holders?q=khadija", headers=headers)
    assert search.json()["total"] == 0

    logging.getLogger("app.holders").debug("log capture works")
    # httpx is the test's own client (it logs the URLs it calls), not the service.
    service_lines = [
        caplog.handler.format(r) for r in caplog.records if not r.name.startswith("httpx")
    ]
    assert any("log capture works" in line for line in service_lines)
    assert leaked("\n".join(service_lines)) == []


async def test_anonymised_holder_personal_fields_cannot_be_set_again(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    admin = await make_user(session, role="admin")
    await session.commit()
    headers = auth(adviser, settings)
    created = await client.post("/api/v1/holders", headers=headers, json=holder_payload())
    holder_id = created.json()["id"]
    done = await client.post(
        f"/api/v1/holders/{holder_id}/anonymise", headers=auth(admin, settings)
    )
    assert done.status_code == 200

    for field, value in (
        ("first_name", "Hajar"),
        ("last_name", "Bennani"),
        ("national_id", "HB1"),
        ("birth_date", "2000-05-17"),
        ("phone", "0612345678"),
        ("email", "h@example.ma"),
        ("address", "Rue 1"),
        ("project_summary", "Atelier"),
    ):
        response = await client.patch(
            f"/api/v1/holders/{holder_id}", headers=headers, json={field: value}
        )
        assert response.status_code == 409, field
        assert [e["field"] for e in response.json()["errors"]] == [field]
    allowed = await client.patch(
        f"/api/v1/holders/{holder_id}", headers=headers, json={"status": "graduated"}
    )
    assert allowed.status_code == 200
    assert allowed.json()["status"] == "graduated"

    again = await client.post(
        f"/api/v1/holders/{holder_id}/anonymise", headers=auth(admin, settings)
    )
    assert again.status_code == 409


async def test_only_admins_anonymise(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    other = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    manager = await make_user(session, role="manager", centre=centre)
    foreign = await make_user(session, role="manager", centre=other)
    admin = await make_user(session, role="admin")
    await session.commit()
    holder = await make_holder_via_api(client, auth(adviser, settings))

    for caller, expected in ((adviser, 403), (manager, 403), (foreign, 404)):
        response = await client.post(
            f"/api/v1/holders/{holder}/anonymise", headers=auth(caller, settings)
        )
        assert response.status_code == expected
    missing = await client.post("/api/v1/holders/999999/anonymise", headers=auth(admin, settings))
    assert missing.status_code == 404
    stored = await session.get(Holder, holder)
    assert stored is not None
    assert stored.anonymised_at is None


async def make_holder_via_api(client: AsyncClient, headers: dict[str, str]) -> int:
    response = await client.post("/api/v1/holders", headers=headers, json=holder_payload())
    assert response.status_code == 201
    return int(response.json()["id"])
