"""GET /api/v1/services/{service}/availability: each centre's first slot with a place left in the
booking horizon, so the booking page says "no places" before it asks for a day. Clock: Sunday
2026-11-29 09:00 in Damascus."""

from starlette.testclient import TestClient

from config.db import Database
from tests.test_booking import booking, otp


def first_slots(client: TestClient, service: str) -> dict[str, dict[str, object] | None]:
    response = client.get(f"/api/v1/services/{service}/availability")
    assert response.status_code == 200, response.text
    assert response.json()["horizon_days"] == 30
    return {c["centre"]: c["first_slot"] for c in response.json()["centres"]}


def test_vehicle_transfer_has_no_place_at_mezzeh_in_the_whole_horizon(client: TestClient) -> None:
    # The demo's own numbers: at DAM-01 only counter 6 calls VT, and shares its time with RE; a
    # 15-minute transaction in a 30-minute slot, half kept for walk-ins, is half a place: none.
    assert first_slots(client, "VT") == {
        "DAM-01": None,
        "RIF-01": {"start": "2026-11-29T11:00:00+03:00", "end": "2026-11-29T11:30:00+03:00", "available": 1},
    }
    days = client.get("/api/v1/centres/DAM-01/services/VT/slots?days=31").json()
    assert days and {s["available"] for s in days} == {0}  # every slot listed, none with a place
    assert days[-1]["start"].startswith("2026-12-29")  # the horizon's last day was looked at too


def test_the_first_free_slot_moves_on_once_it_is_booked(client: TestClient, database: Database) -> None:
    first = first_slots(client, "VT")["RIF-01"]
    assert first is not None
    made = client.post(
        "/api/v1/appointments",
        json=booking(otp(client, database), centre="RIF-01", service="VT", start=first["start"]),
    )
    assert made.status_code == 201, made.text
    assert first_slots(client, "VT")["RIF-01"] == {
        "start": "2026-11-29T11:30:00+03:00",
        "end": "2026-11-29T12:00:00+03:00",
        "available": 1,
    }


def test_every_centre_offering_the_service_is_listed_in_catalogue_order(client: TestClient) -> None:
    assert list(first_slots(client, "CR")) == ["DAM-01", "DAM-02", "RIF-01", "RIF-02"]


def test_an_unknown_or_unbookable_service_is_refused(client: TestClient) -> None:
    unknown = client.get("/api/v1/services/NOPE/availability")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    walk_in_only = client.get("/api/v1/services/BR/availability")
    assert (walk_in_only.status_code, walk_in_only.json()["error"]["code"]) == (422, "service_not_bookable")
