"""The public transparency page of a centre: served, median wait, no-shows and booking places, day by
day, without signing in and without anything about a person."""

from __future__ import annotations

from starlette.testclient import TestClient

from config.db import Database
from tests.conftest import VirtualClock, take_ticket
from tests.test_booking import booking, otp

COUNTER = "/api/v1/centres/DAM-01/counters/1"


def serve_next(agent: TestClient) -> None:
    assert agent.post(f"{COUNTER}/next").status_code == 200
    assert agent.post(f"{COUNTER}/start").status_code == 200
    assert agent.post(f"{COUNTER}/finish").status_code == 200


def test_todays_figures_are_public_and_count_what_happened(
    client: TestClient, agent: TestClient, database: Database, clock: VirtualClock
) -> None:
    for _ in range(4):
        take_ticket(client, phone="0944 123 456")
    assert agent.post(f"{COUNTER}/open").status_code == 200
    clock.advance(120)
    serve_next(agent)  # waited 2 min
    clock.advance(240)
    serve_next(agent)  # 6 min
    clock.advance(240)
    serve_next(agent)  # 10 min
    assert agent.post(f"{COUNTER}/next").status_code == 200  # 10 min, and then absent
    clock.advance(70)
    assert agent.post(f"{COUNTER}/recall").status_code == 200
    assert agent.post(f"{COUNTER}/no-show").status_code == 200
    booked = client.post(
        "/api/v1/appointments", json=booking(otp(client, database), "2026-11-29T13:00:00+03:00")
    )
    assert booked.status_code == 201, booked.text

    response = client.get("/api/v1/centres/DAM-01/transparency?days=3")
    assert response.status_code == 200
    days = response.json()["days"]
    assert [d["day"] for d in days] == ["2026-11-27", "2026-11-28", "2026-11-29"]
    today = days[-1]
    # Called after 2, 6, 10 and 10 minutes; the last did not come.
    assert (today["served"], today["median_wait_s"], today["no_show_share"]) == (3, 480, 0.25)
    assert today["booking_places_taken"] == 1 and today["booking_places"] > 1
    assert days[0]["served"] == 0 and days[0]["median_wait_s"] is None  # Friday: closed
    assert "0944" not in response.text and "+963" not in response.text

    page = client.get("/transparency/DAM-01")
    assert page.status_code == 200 and 'dir="rtl"' in page.text
    assert "٣" in page.text and "٨ دقيقة" in page.text  # served, the median wait, in Arabic digits
    english = client.get("/transparency/DAM-01?lang=en")
    assert "Median wait" in english.text and "8 min" in english.text and "25%" in english.text


def test_bad_requests_are_named(client: TestClient) -> None:
    assert client.get("/api/v1/centres/NOPE-01/transparency").status_code == 404
    assert client.get("/transparency/NOPE-01").status_code == 404
    too_many = client.get("/api/v1/centres/DAM-01/transparency?days=400")
    assert too_many.status_code == 422 and "days" in too_many.json()["error"]["message"]
    assert client.get("/api/v1/centres/DAM-01/transparency?days=0").status_code == 422
