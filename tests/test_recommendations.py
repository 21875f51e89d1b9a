"""GET /api/v1/recommendations: centres offering a service, best first by travel time plus wait."""

import pytest
from starlette.testclient import TestClient

from scheduling.recommendations import Option, distance_km, rank
from tests.conftest import take_ticket

MEZZEH = (33.5031, 36.2497)  # DAM-01


def test_distances_are_great_circle_kilometres() -> None:
    assert distance_km(*MEZZEH, *MEZZEH) == 0
    assert distance_km(33.5138, 36.2765, 36.2021, 37.1343) == pytest.approx(310, abs=5)  # Damascus-Aleppo


def test_the_ranking_weighs_the_way_there_against_the_wait() -> None:
    near_but_full = Option("A", distance_km=1.0, estimated_wait_s=3600, open=True)
    farther_empty = Option("B", distance_km=8.0, estimated_wait_s=300, open=True)
    closed = Option("C", distance_km=0.5, estimated_wait_s=0, open=False)
    ranked = rank([near_but_full, closed, farther_empty], travel_s_per_km=180)
    assert [o.centre for o in ranked] == ["B", "A", "C"]  # 1,740 s < 3,780 s; closed last
    assert [o.centre for o in rank([near_but_full, farther_empty], travel_s_per_km=1000)] == ["A", "B"]


def test_a_centre_with_a_long_queue_yields_to_a_near_one_without(client: TestClient) -> None:
    for _ in range(10):
        take_ticket(client)  # DAM-01's CR queue: 10 waiting, 180 s each, no counter open
    near = client.get(f"/api/v1/recommendations?service=CR&lat={MEZZEH[0]}&lon={MEZZEH[1]}")
    assert near.status_code == 200
    ranked = near.json()
    assert ranked[0]["centre"] != "DAM-01"
    dam01 = next(r for r in ranked if r["centre"] == "DAM-01")
    assert (dam01["distance_km"], dam01["estimated_wait_s"], dam01["taking_tickets"]) == (0.0, 1800, True)
    assert ranked[0]["distance_km"] * 180 + ranked[0]["estimated_wait_s"] < 1800
    assert ranked[0]["name"]["ar"]
    anywhere = client.get("/api/v1/recommendations?service=CR").json()
    assert anywhere[-1]["centre"] == "DAM-01" and all(r["distance_km"] is None for r in anywhere)


def test_only_centres_offering_the_service_are_listed(client: TestClient) -> None:
    offering = {
        c["code"]
        for c in client.get("/api/v1/centres").json()
        if "VT" in [s["code"] for s in client.get(f"/api/v1/centres/{c['code']}/services").json()]
    }
    listed = {r["centre"] for r in client.get("/api/v1/recommendations?service=VT").json()}
    assert listed == offering and listed


def open_at(client: TestClient, service: str) -> dict[str, bool]:
    ranked = client.get(f"/api/v1/recommendations?service={service}&lat={MEZZEH[0]}&lon={MEZZEH[1]}").json()
    return {r["centre"]: r["open"] for r in ranked}


def test_open_means_a_counter_serves_the_service_now(client: TestClient, agent: TestClient) -> None:
    # Sunday 09:00: every centre is open and takes tickets, but no agent sits at a counter yet.
    ranked = client.get("/api/v1/recommendations?service=VT").json()
    assert {(r["open"], r["taking_tickets"]) for r in ranked} == {(False, True)}

    counter_6 = "/api/v1/centres/DAM-01/counters/6"  # VT and RE its own queues; CR only a backup
    assert agent.post(f"{counter_6}/open").status_code == 200
    assert open_at(client, "VT") == {"DAM-01": True, "RIF-01": False}
    assert not any(open_at(client, "CR").values())  # a backup queue is called only when the others are empty

    assert agent.post(f"{counter_6}/pause", json={"reason": "break"}).status_code == 200
    assert open_at(client, "VT") == {"DAM-01": False, "RIF-01": False}


def test_a_centre_without_an_open_counter_for_the_service_comes_after_those_with_one(
    client: TestClient, agent: TestClient
) -> None:
    # What the kiosk's "shorter wait nearby" takes: the best other centre that is `open`.
    for _ in range(10):
        take_ticket(client)  # DAM-01's CR queue is long ...
    assert agent.post("/api/v1/centres/DAM-01/counters/1/open").status_code == 200  # ... and served
    ranked = client.get(f"/api/v1/recommendations?service=CR&lat={MEZZEH[0]}&lon={MEZZEH[1]}").json()
    assert ranked[0]["centre"] == "DAM-01" and ranked[0]["open"]
    # DAM-02 is nearer and emptier, but no counter there serves CR now: it is not offered instead.
    assert next(r for r in ranked if r["centre"] == "DAM-02")["open"] is False
    assert [r for r in ranked if r["centre"] != "DAM-01" and r["open"]] == []


@pytest.mark.parametrize(
    ("backend", "query", "status"),
    [
        ("sqlite", "service=NOPE", 404),
        ("postgresql", "service=NOPE", 404),  # the catalogue is read for it
        # Refused before any query, the same on either database: SQLite only.
        ("sqlite", "service=CR&lat=33.5", 422),
        ("sqlite", "service=CR&lat=95&lon=36", 422),
        ("sqlite", "service=CR&lat=north&lon=36", 422),
        ("sqlite", "lat=33.5&lon=36.2", 422),
    ],
)
def test_bad_queries_are_refused(client: TestClient, query: str, status: int) -> None:
    response = client.get(f"/api/v1/recommendations?{query}")
    assert response.status_code == status
    assert response.json()["error"]["code"]
