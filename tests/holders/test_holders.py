from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import AuditEvent
from app.core.config import Settings
from app.core.errors import Conflict
from app.holders import service
from app.holders.models import Holder
from app.holders.schemas import HolderCreate
from app.users.service import actor_of
from tests.centres.factories import make_centre
from tests.helpers import auth, error_fields
from tests.holders.factories import holder_payload, make_holder
from tests.users.factories import make_user


async def test_adviser_registers_holder_with_normalised_values_location_etag_and_audit(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    await session.commit()
    body = holder_payload(
        national_id="be123456",
        phone="06 12 34 56 78",
        email="hajar@example.ma",
        address="12 rue Zerktouni",
        region="casablanca_settat",
        province="Casablanca",
        education_level="vocational",
        household_vulnerable=True,
        sector="handicrafts",
        project_summary="Atelier de couture",
        adviser_id=adviser.id,
    )
    del body["enrolled_on"]

    response = await client.post("/api/v1/holders", headers=auth(adviser, settings), json=body)

    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"/api/v1/holders/{created['id']}"
    assert response.headers["etag"] == '"1"'
    assert {k: v for k, v in created.items() if k not in ("id", "created_at", "updated_at")} == {
        "centre_id": centre.id,
        "adviser_id": adviser.id,
        "first_name": "Hajar",
        "last_name": "Bennani",
        "national_id": "BE123456",
        "birth_date": "2000-05-17",
        "gender": "female",
        "phone": "+212612345678",
        "email": "hajar@example.ma",
        "address": "12 rue Zerktouni",
        "region": "casablanca_settat",
        "province": "Casablanca",
        "area": "urban",
        "education_level": "vocational",
        "household_vulnerable": True,
        "status": "applicant",
        "enrolled_on": settings.today().isoformat(),
        "sector": "handicrafts",
        "project_summary": "Atelier de couture",
        "anonymised_at": None,
        "version": 1,
    }
    stored = await session.get(Holder, created["id"])
    assert stored is not None
    assert stored.search_text == "hajar bennani be123456"
    event = (
        await session.execute(select(AuditEvent).where(AuditEvent.entity == "holder"))
    ).scalar_one()
    assert (event.action, event.entity_id, event.actor_id, event.centre_id) == (
        "create",
        created["id"],
        adviser.id,
        centre.id,
    )
    assert event.changes["national_id"] == "BE123456"


@pytest.mark.parametrize(
    ("first_name", "last_name"),
    [
        ("فاطمة الزهراء", "العلوي"),
        ("Hâjar", "Aït Ben Haddou"),
        ("Fatima Zahra", "بنعلي"),
        ("Loubna ل.", "El Ouafi-Çelik"),
    ],
)
async def test_names_in_arabic_french_or_mixed_script_round_trip(
    client: AsyncClient, session: AsyncSession, settings: Settings, first_name: str, last_name: str
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    await session.commit()
    headers = auth(adviser, settings)

    created = await client.post(
        "/api/v1/holders",
        headers=headers,
        json=holder_payload(first_name=first_name, last_name=last_name),
    )
    assert created.status_code == 201
    fetched = (await client.get(f"/api/v1/holders/{created.json()['id']}", headers=headers)).json()
    assert (fetched["first_name"], fetched["last_name"]) == (first_name, last_name)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("be123456", "BE123456"), ("A1", "A1"), ("j412345", "J412345"), (" x99 ", "X99")],
)
async def test_valid_cin_is_stored_upper_case(
    client: AsyncClient, session: AsyncSession, settings: Settings, typed: str, stored: str
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    await session.commit()
    response = await client.post(
        "/api/v1/holders", headers=auth(adviser, settings), json=holder_payload(national_id=typed)
    )
    assert response.status_code == 201
    assert response.json()["national_id"] == stored


@pytest.mark.parametrize(
    "typed", ["123456", "ABC123", "A1234567", "BE", "B-12345", "É12345", "BE 12345", ""]
)
async def test_malformed_cin_is_422_naming_national_id(
    client: AsyncClient, session: AsyncSession, settings: Settings, typed: str
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    await session.commit()
    response = await client.post(
        "/api/v1/holders", headers=auth(adviser, settings), json=holder_payload(national_id=typed)
    )
    assert response.status_code == 422
    assert error_fields(response) == ["national_id"]


async def test_duplicate_cin_whatever_its_case_is_409_naming_national_id(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    other_centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    await make_holder(session, other_centre, national_id="BE654321")
    own = await make_holder(session, centre, national_id="BE111111")
    await session.commit()
    headers = auth(adviser, settings)

    duplicate = await client.post(
        "/api/v1/holders", headers=headers, json=holder_payload(national_id="be654321")
    )
    assert duplicate.status_code == 409
    assert error_fields(duplicate) == ["national_id"]

    renamed = await client.patch(
        f"/api/v1/holders/{own.id}", headers=headers, json={"national_id": "Be654321"}
    )
    assert renamed.status_code == 409
    assert error_fields(renamed) == ["national_id"]

    unchanged = await client.patch(
        f"/api/v1/holders/{own.id}", headers=headers, json={"national_id": "be111111"}
    )
    assert unchanged.status_code == 200
    assert unchanged.json()["version"] == 1


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("06 12 34 56 78", "+212612345678"),
        ("0612345678", "+212612345678"),
        ("07.01.02.03.04", "+212701020304"),
        ("0522-12-34-56", "+212522123456"),
        ("+212 6 12 34 56 78", "+212612345678"),
        ("+212612345678", "+212612345678"),
        ("00212 712345678", "+212712345678"),
    ],
)
async def test_phone_is_normalised_to_plus_212(
    client: AsyncClient, session: AsyncSession, settings: Settings, typed: str, stored: str
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    await session.commit()
    response = await client.post(
        "/api/v1/holders", headers=auth(adviser, settings), json=holder_payload(phone=typed)
    )
    assert response.status_code == 201
    assert response.json()["phone"] == stored


@pytest.mark.parametrize(
    "typed",
    [
        "0812345678",
        "061234567",
        "06123456789",
        "612345678",
        "212612345678",
        "+33612345678",
        "+2120612345678",
        "06 12 34 56 7x",
        "",
    ],
)
async def test_other_phone_forms_are_422_naming_phone(
    client: AsyncClient, session: AsyncSession, settings: Settings, typed: str
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    holder = await make_holder(session, centre)
    await session.commit()
    headers = auth(adviser, settings)
    response = await client.post(
        "/api/v1/holders", headers=headers, json=holder_payload(phone=typed)
    )
    assert response.status_code == 422
    assert error_fields(response) == ["phone"]
    patched = await client.patch(
        f"/api/v1/holders/{holder.id}", headers=headers, json={"phone": typed}
    )
    assert patched.status_code == 422
    assert error_fields(patched) == ["phone"]


@pytest.mark.parametrize(
    ("birth_date", "expected"),
    [
        ("2007-06-15", 201),  # 18 on the day of enrolment
        ("2007-06-16", 422),  # 18 the day after
        ("1989-06-16", 201),  # 35, turns 36 the day after
        ("1989-06-15", 422),  # 36 on the day of enrolment
    ],
)
async def test_age_at_enrolment_must_be_within_youth_range_bounds_included(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    birth_date: str,
    expected: int,
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    await session.commit()
    response = await client.post(
        "/api/v1/holders",
        headers=auth(adviser, settings),
        json=holder_payload(birth_date=birth_date, enrolled_on="2025-06-15"),
    )
    assert response.status_code == expected
    if expected == 422:
        assert error_fields(response) == ["birth_date"]
        assert "18 to 35" in response.json()["errors"][0]["message"]


async def test_youth_range_comes_from_settings(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    app.state.settings = settings.model_copy(update={"youth_min_age": 20, "youth_max_age": 30})
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    await session.commit()
    headers = auth(adviser, settings)

    too_young = await client.post(
        "/api/v1/holders",
        headers=headers,
        json=holder_payload(birth_date="2005-06-16", enrolled_on="2025-06-15"),
    )
    assert too_young.status_code == 422
    assert too_young.json()["errors"] == [
        {
            "field": "birth_date",
            "message": "age at enrolment is 19; it must be within the youth range "
            "20 to 30 years, bounds included",
        }
    ]
    at_bound = await client.post(
        "/api/v1/holders",
        headers=headers,
        json=holder_payload(birth_date="2005-06-15", enrolled_on="2025-06-15"),
    )
    assert at_bound.status_code == 201


async def test_birth_date_in_the_future_is_422(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    holder = await make_holder(session, centre)
    await session.commit()
    headers = auth(adviser, settings)
    tomorrow = date.fromordinal(settings.today().toordinal() + 1).isoformat()

    created = await client.post(
        "/api/v1/holders", headers=headers, json=holder_payload(birth_date=tomorrow)
    )
    assert created.status_code == 422
    assert created.json()["errors"] == [
        {"field": "birth_date", "message": "must not be in the future"}
    ]
    patched = await client.patch(
        f"/api/v1/holders/{holder.id}", headers=headers, json={"birth_date": tomorrow}
    )
    assert patched.status_code == 422
    assert error_fields(patched) == ["birth_date"]


async def test_patch_rechecks_age_against_the_stored_dates(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    holder = await make_holder(
        session, centre, birth_date=date(2000, 5, 17), enrolled_on=date(2024, 1, 15)
    )
    await session.commit()
    headers = auth(adviser, settings)

    too_old = await client.patch(
        f"/api/v1/holders/{holder.id}", headers=headers, json={"enrolled_on": "2036-05-17"}
    )
    assert too_old.status_code == 422
    assert error_fields(too_old) == ["birth_date"]
    accepted = await client.patch(
        f"/api/v1/holders/{holder.id}", headers=headers, json={"enrolled_on": "2036-05-16"}
    )
    assert accepted.status_code == 200
    assert accepted.json()["enrolled_on"] == "2036-05-16"


async def test_required_fields_and_enums_are_422_naming_the_field(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    await session.commit()
    headers = auth(adviser, settings)
    for field in ("first_name", "last_name", "national_id", "birth_date", "gender", "area"):
        body = holder_payload()
        del body[field]
        response = await client.post("/api/v1/holders", headers=headers, json=body)
        assert response.status_code == 422
        assert error_fields(response) == [field]
    for field, value in (
        ("gender", "other"),
        ("area", "suburban"),
        ("status", "active"),
        ("education_level", "phd"),
        ("region", "paris"),
        ("sector", "mining"),
        ("first_name", "   "),
        ("email", "not-an-email"),
        ("centre_id", 2**40),
        ("unknown", 1),
    ):
        response = await client.post(
            "/api/v1/holders", headers=headers, json=holder_payload(**{field: value})
        )
        assert response.status_code == 422, field
        assert error_fields(response) == [field]


async def test_centre_defaults_to_callers_and_is_required_without_one(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    other = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    admin = await make_user(session, role="admin")
    national_manager = await make_user(session, role="manager")
    await session.commit()

    for caller in (admin, national_manager):
        missing = await client.post(
            "/api/v1/holders", headers=auth(caller, settings), json=holder_payload()
        )
        assert missing.status_code == 422
        assert error_fields(missing) == ["centre_id"]
    unknown = await client.post(
        "/api/v1/holders", headers=auth(admin, settings), json=holder_payload(centre_id=999_999)
    )
    assert unknown.status_code == 422
    assert error_fields(unknown) == ["centre_id"]
    elsewhere = await client.post(
        "/api/v1/holders", headers=auth(adviser, settings), json=holder_payload(centre_id=other.id)
    )
    assert elsewhere.status_code == 422
    assert error_fields(elsewhere) == ["centre_id"]
    by_admin = await client.post(
        "/api/v1/holders", headers=auth(admin, settings), json=holder_payload(centre_id=other.id)
    )
    assert by_admin.status_code == 201
    assert by_admin.json()["centre_id"] == other.id


async def test_adviser_id_must_be_an_active_adviser_or_manager_of_the_centre(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    other = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    manager = await make_user(session, role="manager", centre=centre)
    viewer = await make_user(session, role="viewer", centre=centre)
    inactive = await make_user(session, role="adviser", centre=centre, is_active=False)
    foreign = await make_user(session, role="adviser", centre=other)
    admin = await make_user(session, role="admin")
    holder = await make_holder(session, centre)
    await session.commit()
    headers = auth(adviser, settings)

    for wrong in (viewer.id, inactive.id, foreign.id, admin.id, 999_999):
        response = await client.post(
            "/api/v1/holders", headers=headers, json=holder_payload(adviser_id=wrong)
        )
        assert response.status_code == 422
        assert error_fields(response) == ["adviser_id"]
        patched = await client.patch(
            f"/api/v1/holders/{holder.id}", headers=headers, json={"adviser_id": wrong}
        )
        assert patched.status_code == 422
        assert error_fields(patched) == ["adviser_id"]
    for right in (adviser.id, manager.id):
        response = await client.post(
            "/api/v1/holders", headers=headers, json=holder_payload(adviser_id=right)
        )
        assert response.status_code == 201
        assert response.json()["adviser_id"] == right
    unassigned = await client.patch(
        f"/api/v1/holders/{holder.id}", headers=headers, json={"adviser_id": None}
    )
    assert unassigned.status_code == 200
    assert unassigned.json()["adviser_id"] is None


async def test_null_is_refused_for_required_fields_on_patch_and_centre_cannot_change(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    other = await make_centre(session)
    admin = await make_user(session, role="admin")
    holder = await make_holder(session, centre)
    await session.commit()
    headers = auth(admin, settings)
    for field in ("first_name", "national_id", "birth_date", "status", "gender", "area"):
        response = await client.patch(
            f"/api/v1/holders/{holder.id}", headers=headers, json={field: None}
        )
        assert response.status_code == 422
        assert error_fields(response) == [field]
    moved = await client.patch(
        f"/api/v1/holders/{holder.id}", headers=headers, json={"centre_id": other.id}
    )
    assert moved.status_code == 422
    assert error_fields(moved) == ["centre_id"]


async def test_status_change_is_audited_with_from_and_to(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    centre = await make_centre(session)
    manager = await make_user(session, role="manager", centre=centre)
    holder = await make_holder(session, centre, status="applicant")
    await session.commit()
    headers = auth(manager, settings)

    only_status = await client.patch(
        f"/api/v1/holders/{holder.id}", headers=headers, json={"status": "eligible"}
    )
    assert only_status.status_code == 200
    both = await client.patch(
        f"/api/v1/holders/{holder.id}",
        headers=headers,
        json={"status": "in_support", "sector": "commerce"},
    )
    assert both.status_code == 200
    assert both.json()["version"] == 3

    events = (
        await session.execute(
            select(AuditEvent.action, AuditEvent.changes)
            .where(AuditEvent.entity == "holder", AuditEvent.entity_id == holder.id)
            .order_by(AuditEvent.id)
        )
    ).all()
    assert [tuple(e) for e in events] == [
        ("status_change", {"status": {"from": "applicant", "to": "eligible"}}),
        ("update", {"sector": {"from": None, "to": "commerce"}}),
        ("status_change", {"status": {"from": "eligible", "to": "in_support"}}),
    ]


async def test_cin_registered_concurrently_is_the_same_409_from_the_unique_index(
    session: AsyncSession, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two registrations that both pass the lookup: the database's unique index decides."""
    centre = await make_centre(session)
    adviser = await make_user(session, role="adviser", centre=centre)
    await make_holder(session, centre, national_id="BE777777")
    await session.commit()

    async def lookup_missed_it(*_args: Any, **_kwargs: Any) -> None:
        return None

    monkeypatch.setattr(service, "ensure_national_id_free", lookup_missed_it)
    body = HolderCreate(**holder_payload(national_id="be777777"))
    with pytest.raises(Conflict) as raised:
        await service.create_holder(
            session,
            actor_of(adviser),
            body,
            today=settings.today(),
            youth=service.YouthRange(18, 35),
        )
    assert raised.value.errors is not None
    assert [e.field for e in raised.value.errors] == ["national_id"]
    await session.rollback()
