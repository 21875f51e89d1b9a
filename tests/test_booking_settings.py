"""A centre's own booking capacity settings: its walk-in share changes its slots' places and its
horizon how far ahead it is booked, null follows the national setting again, a slot already booked
keeps its places, bad values are refused naming the field, and every change is in the centre's chain
with who and why. Clock: Sunday 2026-11-29 09:00 in Damascus."""

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from config.settings import Settings
from eventlog.models import Event, Serial
from organisation.snapshot import VERSION_SERIAL
from tests.conftest import BACKENDS, sign_in
from tests.test_booking import available, booking, otp

SETTINGS = "/api/v1/centres/DAM-01/booking-settings"
NATIONAL = {"walk_in_share": None, "horizon_days": None, "target_load": None}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"otp_per_phone_hour": 100, "otp_per_phone_day": 100})


@pytest.fixture
def supervisor(app: Starlette) -> Iterator[TestClient]:
    with sign_in(app, "supervisor1") as signed_in:
        yield signed_in


def put(client: TestClient, reason: str = "قاعة مزدحمة", **values: Any) -> dict[str, Any]:
    response = client.put(SETTINGS, json={**NATIONAL, **values, "reason": reason})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def slot_days(client: TestClient, centre: str, first: str, days: int) -> set[str]:
    slots = client.get(f"/api/v1/centres/{centre}/services/CR/slots?from={first}&days={days}").json()
    return {s["start"][:10] for s in slots}


def test_a_centres_walk_in_share_changes_its_places_and_null_restores_the_national_one(
    client: TestClient, supervisor: TestClient
) -> None:
    midan = "/api/v1/centres/DAM-02/services/CR/slots?from=2026-11-30&days=1"
    before_midan = client.get(midan).json()
    assert available(client) == 5  # half of the counters' time kept for walk-ins (the national 0.5)

    put(supervisor, walk_in_share=0.8)
    assert available(client) == 2  # a fifth of the time for bookings: 2 of the 10 a half-hour holds
    assert client.get(midan).json() == before_midan  # another centre keeps the national setting

    put(supervisor, walk_in_share=None)
    assert available(client) == 5


def test_a_centres_horizon_bounds_the_days_listed_and_booked(
    client: TestClient, supervisor: TestClient, database: Database
) -> None:
    assert {"2026-12-02", "2026-12-03"} <= slot_days(client, "DAM-01", "2026-12-01", 3)
    put(supervisor, horizon_days=3)

    assert slot_days(client, "DAM-01", "2026-12-01", 3) == {"2026-12-01", "2026-12-02"}  # Thursday is day 4
    assert "2026-12-03" in slot_days(client, "DAM-02", "2026-12-01", 3)
    refused = client.post(
        "/api/v1/appointments", json=booking(otp(client, database), "2026-12-03T10:00:00+03:00")
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "slot_beyond_horizon")
    assert "3" in refused.json()["error"]["message"]
    centres = client.get("/api/v1/services/CR/availability").json()["centres"]
    assert {c["centre"]: c["horizon_days"] for c in centres}["DAM-01"] == 3
    assert {c["centre"]: c["horizon_days"] for c in centres}["DAM-02"] == 30

    put(supervisor, horizon_days=None)
    assert "2026-12-03" in slot_days(client, "DAM-01", "2026-12-01", 3)


def test_an_appointment_is_not_moved_beyond_its_centres_horizon(
    client: TestClient, supervisor: TestClient, database: Database
) -> None:
    made = client.post("/api/v1/appointments", json=booking(otp(client, database)))
    assert made.status_code == 201, made.text
    put(supervisor, horizon_days=3)
    moved = client.post(
        f"/api/v1/appointments/{made.json()['token']}/reschedule", json={"start": "2026-12-03T10:00:00+03:00"}
    )
    assert (moved.status_code, moved.json()["error"]["code"]) == (422, "slot_beyond_horizon")
    assert client.get(f"/api/v1/appointments/{made.json()['token']}").json()["status"] == "booked"


def test_a_slot_already_booked_keeps_the_places_it_was_sold_with(
    client: TestClient, supervisor: TestClient, database: Database
) -> None:
    assert client.post("/api/v1/appointments", json=booking(otp(client, database))).status_code == 201
    assert available(client) == 4

    put(supervisor, walk_in_share=0.9)
    assert available(client) == 4  # sold with 5 places, it keeps them
    assert available(client, "2026-11-30T10:30:00+03:00") == 1  # nobody booked it yet: the new share


def test_the_settings_show_each_own_national_and_effective_value(supervisor: TestClient) -> None:
    assert supervisor.get(SETTINGS).json() == {
        "centre": "DAM-01",
        "walk_in_share": {"own": None, "national": 0.5, "effective": 0.5},
        "horizon_days": {"own": None, "national": 30, "effective": 30},
        "target_load": {"own": None, "national": 0.9, "effective": 0.9},
        "places": "demand",
    }
    saved = put(supervisor, walk_in_share=0.3, horizon_days=60)
    assert saved["walk_in_share"] == {"own": 0.3, "national": 0.5, "effective": 0.3}
    assert saved["horizon_days"] == {"own": 60, "national": 30, "effective": 60}
    assert supervisor.get(SETTINGS).json() == saved


def test_a_change_is_logged_with_who_why_and_each_value_and_bumps_the_organisation(
    supervisor: TestClient, database: Database
) -> None:
    def version() -> int:
        with database.read() as session:
            return session.exec(select(Serial.last).where(Serial.name == VERSION_SERIAL)).one()

    def logged() -> list[Event]:
        with database.read() as session:
            return list(session.exec(select(Event).where(Event.type == "booking_settings_changed")).all())

    first = version()
    put(supervisor, reason="ازدحام الصباح", walk_in_share=0.7, target_load=0.8)
    assert version() > first
    (event,) = logged()
    assert event.actor == "staff:supervisor1"
    assert event.data == {
        "reason": "ازدحام الصباح",
        "changes": {"walk_in_share": {"from": None, "to": 0.7}, "target_load": {"from": None, "to": 0.8}},
    }

    put(supervisor, reason="ازدحام الصباح", walk_in_share=0.7, target_load=0.8)
    assert len(logged()) == 1  # nothing changed: nothing logged
    put(supervisor, reason="عاد الهدوء", target_load=0.8)
    assert logged()[-1].data["changes"] == {"walk_in_share": {"from": 0.7, "to": None}}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"walk_in_share": 0.95}, "walk_in_share"),
        ({"walk_in_share": -0.1}, "walk_in_share"),
        ({"walk_in_share": "half"}, "walk_in_share"),
        ({"horizon_days": 0}, "horizon_days"),
        ({"horizon_days": 366}, "horizon_days"),
        ({"horizon_days": 7.5}, "horizon_days"),
        ({"target_load": 0.4}, "target_load"),
        ({"target_load": 1.2}, "target_load"),
        ({"reason": "x"}, "reason"),
    ],
)
@pytest.mark.parametrize("backend", ["sqlite"])  # refused by the body's schema before any query
def test_a_value_out_of_bounds_is_refused_naming_its_field(
    supervisor: TestClient, database: Database, values: dict[str, Any], field: str
) -> None:
    refused = supervisor.put(SETTINGS, json={**NATIONAL, "reason": "سبب كاف", **values})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == field
    with database.read() as session:
        assert session.exec(select(Event).where(Event.type == "booking_settings_changed")).first() is None


def test_a_refusal_is_worded_in_the_callers_language(supervisor: TestClient) -> None:
    body = {**NATIONAL, "walk_in_share": 0.95, "reason": "سبب كاف"}
    arabic = supervisor.put(SETTINGS, json=body, headers={"Accept-Language": "ar"}).json()["error"]
    english = supervisor.put(SETTINGS, json=body, headers={"Accept-Language": "en"}).json()["error"]
    assert english["message"] == "field 'walk_in_share': must be at most 0.9"
    assert arabic["message"].startswith("الحقل 'walk_in_share'") and "0.9" in arabic["message"]


def test_a_setting_left_out_is_refused_not_taken_for_national(supervisor: TestClient) -> None:
    refused = supervisor.put(SETTINGS, json={"walk_in_share": 0.6, "reason": "سبب كاف"})
    assert (refused.status_code, refused.json()["error"]["field"]) == (422, "horizon_days")


def test_only_the_centres_managers_see_and_change_its_settings(app: Starlette, client: TestClient) -> None:
    body = {**NATIONAL, "walk_in_share": 0.6, "reason": "سبب كاف"}
    assert client.get(SETTINGS).status_code == 401
    assert client.put(SETTINGS, json=body).status_code == 401
    with sign_in(app, "agent1") as agent:
        assert agent.put(SETTINGS, json=body).status_code == 403
    with sign_in(app, "supervisor2") as elsewhere:
        assert elsewhere.get(SETTINGS).status_code == 403
        assert elsewhere.put(SETTINGS, json=body).status_code == 403
    with sign_in(app, "admin") as admin:
        assert admin.put(SETTINGS, json=body).status_code == 200


def test_the_preview_gives_a_days_places_now_and_with_the_values_asked(supervisor: TestClient) -> None:
    put(supervisor, walk_in_share=0.8)
    preview = supervisor.get(f"{SETTINGS}/preview?walk_in_share=0.9&day=2026-11-30").json()
    assert (preview["day"], preview["open"], preview["bookable_now"], preview["bookable_proposed"]) == (
        "2026-11-30",
        True,
        True,
        True,
    )
    extracts = next(s for s in preview["services"] if s["code"] == "CR")
    assert (extracts["current"], extracts["proposed"]) == (2 * 14, 1 * 14)  # 14 half-hours that Monday
    assert extracts["name"]["en"]
    # Nothing asked: the national settings, and the next day the centre opens (Monday).
    national = supervisor.get(f"{SETTINGS}/preview").json()
    assert national["day"] == "2026-11-30"
    assert next(s for s in national["services"] if s["code"] == "CR")["proposed"] == 5 * 14


def test_the_preview_says_when_the_day_falls_beyond_a_horizon(supervisor: TestClient) -> None:
    preview = supervisor.get(f"{SETTINGS}/preview?day=2026-12-10&horizon_days=7").json()
    assert (preview["bookable_now"], preview["bookable_proposed"]) == (True, False)
    friday = supervisor.get(f"{SETTINGS}/preview?day=2026-12-04").json()
    assert not friday["open"] and all(s["current"] == 0 for s in friday["services"])


@pytest.mark.parametrize(
    ("backend", "query", "field"),
    [
        # The day is judged in the centre's time zone, read from the database.
        *((backend, query, "day") for backend in BACKENDS for query in ("day=2026-11-28", "day=2028-06-01")),
        # Refused by the query's schema before any query, the same on either database: SQLite only.
        ("sqlite", "walk_in_share=1.5", "walk_in_share"),
        ("sqlite", "horizon_days=abc", "horizon_days"),
    ],
)
def test_a_preview_out_of_bounds_is_refused_naming_its_parameter(
    supervisor: TestClient, query: str, field: str
) -> None:
    refused = supervisor.get(f"{SETTINGS}/preview?{query}")
    assert (refused.status_code, refused.json()["error"]["field"]) == (422, field)


def test_the_screen_is_for_the_centres_managers(app: Starlette, client: TestClient) -> None:
    with sign_in(app, "supervisor1") as supervisor:
        page = supervisor.get("/supervisor/booking?centre=DAM-01")
        assert page.status_code == 200 and 'data-centre="DAM-01"' in page.text
        assert 'href="/supervisor/booking?centre=DAM-01"' in supervisor.get("/supervisor?centre=DAM-01").text
    with sign_in(app, "agent1") as agent:
        assert agent.get("/supervisor/booking", follow_redirects=False).status_code == 303
