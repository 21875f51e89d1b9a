"""Admins change a service (names, documents, fee, mean time, how citizens come, picture): every page
shows it on its next request, the national audit log keeps who, why and each field before and after;
what cannot be is refused naming the field; nobody else may."""

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from eventlog.models import Event
from tests.conftest import sign_in
from tests.test_access_matrix import SERVICE_CHANGE

CR = "/api/v1/services/CR"


@pytest.fixture
def admin(app: Starlette) -> Iterator[TestClient]:
    with sign_in(app, "admin") as signed_in:
        yield signed_in


def changed(**fields: Any) -> dict[str, Any]:
    return {**SERVICE_CHANGE, **fields}


def service_events(database: Database) -> list[Event]:
    with database.read() as session:
        return list(session.exec(select(Event).where(col(Event.type) == "service_changed")).all())


def test_a_change_shows_at_once_and_is_logged_with_who_why_and_what(
    admin: TestClient, client: TestClient, database: Database
) -> None:
    assert client.get("/api/v1/centres/DAM-01/services").json()[1]["code"] == "CR"  # read and held in memory
    body = changed(
        name={"ar": "إخراج قيد فردي إلكتروني", "en": "Civil-registry extract"},
        fee=2500,
        documents=[
            {"ar": "البطاقة الشخصية", "en": "National ID card"},
            {"ar": "صورة شخصية", "en": "A photo"},
        ],
        icon="certificate",
        reason="new fee from 1 January",
    )
    saved = admin.put(CR, json=body)
    assert saved.status_code == 200, saved.text
    shown = next(s for s in client.get("/api/v1/centres/DAM-01/services").json() if s["code"] == "CR")
    assert shown["name"]["ar"] == "إخراج قيد فردي إلكتروني"
    assert (shown["fee"], shown["icon"]) == (2500, "certificate")
    assert shown["required_documents"][1] == {"ar": "صورة شخصية", "en": "A photo"}

    [event] = service_events(database)
    assert event.centre_id is None and event.actor == "staff:admin"
    assert event.data["reason"] == "new fee from 1 January"
    assert event.data["changes"]["fee"] == {"from": 2000, "to": 2500}
    assert set(event.data["changes"]) == {"name_ar", "fee", "required_documents", "icon"}
    assert admin.put(CR, json=body).status_code == 200  # the same again changes nothing, logs nothing
    assert len(service_events(database)) == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": {"ar": "", "en": "x"}}, "name.ar"),
        ({"fee": -1}, "fee"),
        ({"mean_service_s": 5}, "mean_service_s"),
        ({"icon": "rocket"}, "icon"),
        ({"reason": ""}, "reason"),
        ({"documents": [{"ar": "وثيقة"}]}, "documents.0.en"),
    ],
)
@pytest.mark.parametrize("backend", ["sqlite"])  # refused by the body's schema before any query
def test_what_cannot_be_is_refused_naming_the_field(
    admin: TestClient, database: Database, fields: dict[str, Any], field: str
) -> None:
    refused = admin.put(CR, json=changed(**fields))
    assert (refused.status_code, refused.json()["error"]["field"]) == (422, field), refused.text
    assert service_events(database) == []


def test_a_service_nobody_can_take_is_refused(admin: TestClient) -> None:
    refused = admin.put(CR, json=changed(bookable=False, walk_in=False), headers={"Accept-Language": "en"})
    assert refused.status_code == 422
    assert "booked, taken at the kiosk, or both" in refused.json()["error"]["message"]


def test_only_admins_change_services(app: Starlette, admin: TestClient) -> None:
    for username in ("supervisor1", "agent1"):
        with sign_in(app, username) as staff:
            assert staff.put(CR, json=SERVICE_CHANGE).status_code == 403
    assert admin.put("/api/v1/services/ZZ", json=SERVICE_CHANGE).status_code == 404
