"""The supervisor's wallboard view: queues, counters, alerts, balancer moves and today's hours."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.conftest import VirtualClock, sign_in, take_ticket

BOARD = "/api/v1/centres/DAM-01/wallboard"
COUNTER = "/api/v1/centres/DAM-01/counters/1"


def test_the_board_shows_queues_counters_and_alerts(
    client: TestClient, agent: TestClient, app: Starlette, clock: VirtualClock
) -> None:
    first = take_ticket(client)
    take_ticket(client)
    for _ in range(5):
        take_ticket(client, "ID")  # counters 3 and 4 own ID; both are closed
    assert agent.post(f"{COUNTER}/open").status_code == 200
    clock.advance(300)
    assert agent.post(f"{COUNTER}/next").status_code == 200
    with sign_in(app, "supervisor1") as supervisor:
        board = supervisor.get(BOARD).json()
        queues = {q["service"]: q for q in board["queues"]}
        assert (queues["CR"]["waiting"], queues["CR"]["longest_wait_s"], queues["CR"]["within_target"]) == (
            1,
            300,
            1.0,
        )
        assert queues["ID"]["waiting"] == 5 and queues["ID"]["open_counters"] == 0
        assert board["services"]["CR"] == {"ar": "إخراج قيد فردي", "en": "Civil-registry extract"}
        counters = {c["number"]: c for c in board["counters"]}
        assert counters[1] | {"since_s": 0} == {
            "number": 1,
            "label": "شباك ١",
            "state": "called",
            "agent": "agent1",
            "agent_name": "لينا العمر",
            "ticket": first["number"],
            "since_s": 0,
            "reason": None,
        }
        assert counters[2]["state"] == "closed" and counters[2]["agent"] is None
        assert {(a["kind"], a["service"], a["counter"]) for a in board["alerts"]} == {
            ("queue_unserved", "ID", 3),
            ("queue_unserved", "ID", 4),
        }
        # Counter 1 ready for 300 s over today's mix (2 x 180 s, 5 x 600 s: 480 s a citizen).
        assert board["hours"] == [{"hour": 9, "arrivals": 7, "served": 0, "waiting": 6, "capacity": 0.6}]
        assert board["balance"]["centre"] == "DAM-01"

        assert agent.post(f"{COUNTER}/start").status_code == 200
        assert agent.post(f"{COUNTER}/finish").status_code == 200
        assert agent.post(f"{COUNTER}/pause", json={"reason": "prayer"}).status_code == 200
        clock.advance(21 * 60)
        board = supervisor.get(BOARD).json()
        counters = {c["number"]: c for c in board["counters"]}
        assert (counters[1]["state"], counters[1]["reason"], counters[1]["since_s"]) == (
            "paused",
            "prayer",
            1260,
        )
        kinds = {(a["kind"], a["service"], a["counter"]) for a in board["alerts"]}
        assert ("long_pause", None, 1) in kinds
        assert ("target_breached", "CR", None) in kinds  # the second extract has waited 26 minutes
        assert supervisor.get("/api/v1/centres/RIF-01/wallboard").status_code == 403
    assert agent.get(BOARD).status_code == 403


def test_the_hours_show_the_queue_and_the_capacity_quiet_hours_included(
    client: TestClient, app: Starlette, clock: VirtualClock
) -> None:
    for _ in range(3):
        take_ticket(client)  # 09:00
    clock.advance(2 * 3600 + 1800)  # 11:30: nobody came at 10
    with sign_in(app, "agent1") as agent:
        assert agent.post(f"{COUNTER}/open").status_code == 200
        assert agent.post(f"{COUNTER}/next").status_code == 200
    take_ticket(client)
    clock.advance(1800)  # 12:00: counter 1 was ready for half an hour, at 180 s an extract
    with sign_in(app, "supervisor1") as supervisor:
        hours = supervisor.get(BOARD).json()["hours"]
    assert [(h["hour"], h["arrivals"], h["waiting"], h["capacity"]) for h in hours] == [
        (9, 3, 3, 0.0),
        (10, 0, 3, 0.0),
        (11, 1, 3, 10.0),
        (12, 0, 3, 0.0),
    ]


def test_admins_see_every_centre_side_by_side(
    client: TestClient, app: Starlette, clock: VirtualClock
) -> None:
    for _ in range(3):
        take_ticket(client)
    clock.advance(600)
    with sign_in(app, "admin") as admin:
        rows = admin.get("/api/v1/national").json()
        centres = admin.get("/api/v1/centres").json()
        assert {r["centre"] for r in rows} == {c["code"] for c in centres}
        assert rows[0]["centre"] == "DAM-01"  # the most pressed first
        assert (rows[0]["waiting"], rows[0]["longest_wait_s"], rows[0]["open_counters"]) == (3, 600, 0)
        assert all(r["waiting"] == 0 for r in rows[1:])
        assert 'id="national"' in admin.get("/supervisor").text
    with sign_in(app, "supervisor1") as supervisor:
        assert supervisor.get("/api/v1/national").status_code == 403
        assert 'id="national"' not in supervisor.get("/supervisor").text
