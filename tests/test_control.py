"""A supervisor steers a centre: a counter's queues and weights, the no-show policy, moving a waiting
ticket; each authorised, each logged with its author."""

from __future__ import annotations

from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from eventlog.models import Event
from tests.conftest import sign_in, take_ticket

BASE = "/api/v1/centres/DAM-01"


def logged(database: Database, kind: str) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    with database.read() as session:
        return [(e.actor, e.data) for e in session.exec(select(Event).where(Event.type == kind)).all()]


def test_a_counters_queues_and_weights_change_and_the_next_call_follows(
    client: TestClient, agent: TestClient, app: Starlette, database: Database
) -> None:
    take_ticket(client, "CR")
    passport = take_ticket(client, "ID")
    with sign_in(app, "supervisor1") as supervisor:
        changed = supervisor.put(
            f"{BASE}/counters/1/services", json={"services": {"ID": 1.0}, "backups": {"CR": 0.5}}
        )
        assert changed.status_code == 200, changed.text
        for body, code in (
            ({"services": {"XX": 1.0}}, "service_not_offered"),
            ({"services": {"CR": 1.0}, "backups": {"CR": 1.0}}, "invalid_input"),
            ({"services": {"CR": 0}}, "invalid_input"),
            ({"services": {}}, "invalid_input"),
        ):
            refused = supervisor.put(f"{BASE}/counters/1/services", json=body)
            assert (refused.status_code, refused.json()["error"]["code"]) == (422, code), body
        assert (
            supervisor.put(f"{BASE}/counters/99/services", json={"services": {"CR": 1.0}}).status_code == 404
        )
        assert (
            supervisor.put(
                "/api/v1/centres/RIF-01/counters/1/services", json={"services": {"CR": 1.0}}
            ).status_code
            == 403
        )
    assert agent.put(f"{BASE}/counters/1/services", json={"services": {"CR": 1.0}}).status_code == 403
    assert agent.post(f"{BASE}/counters/1/open").status_code == 200
    called = agent.post(f"{BASE}/counters/1/next").json()["ticket"]
    assert called["number"] == passport["number"]  # its own queue now, before the older extract
    assert logged(database, "counter_services_changed") == [
        ("staff:supervisor1", {"counter": 1, "services": {"ID": 1.0}, "backups": {"CR": 0.5}})
    ]


def test_the_no_show_policy_is_set_per_centre(
    client: TestClient, agent: TestClient, app: Starlette, database: Database
) -> None:
    take_ticket(client)
    assert agent.post(f"{BASE}/counters/1/open").status_code == 200
    assert agent.post(f"{BASE}/counters/1/next").status_code == 200
    assert agent.post(f"{BASE}/counters/1/no-show").status_code == 409  # 2 calls and a minute, by default
    with sign_in(app, "supervisor1") as supervisor:
        assert (
            supervisor.put(f"{BASE}/no-show-policy", json={"min_calls": 1, "min_wait_s": 0}).status_code
            == 200
        )
        assert (
            supervisor.put(f"{BASE}/no-show-policy", json={"min_calls": 0, "min_wait_s": 0}).status_code
            == 422
        )
        assert supervisor.put(f"{BASE}/no-show-policy", json={"min_calls": 2}).status_code == 422
    assert agent.post(f"{BASE}/counters/1/no-show").status_code == 200
    assert logged(database, "no_show_policy_changed") == [
        ("staff:supervisor1", {"min_calls": 1, "min_wait_s": 0})
    ]


def test_a_waiting_ticket_moves_to_another_queue_keeping_its_place(
    client: TestClient, agent: TestClient, app: Starlette, database: Database
) -> None:
    wrong = take_ticket(client, "CR")
    later = take_ticket(client, "FS")
    with sign_in(app, "supervisor1") as supervisor:
        moved = supervisor.post(f"{BASE}/tickets/{wrong['number']}/move", json={"service": "FS"})
        assert moved.status_code == 200, moved.text
        assert client.get(f"/api/v1/tickets/{wrong['token']}").json()["service"] == "FS"
        assert client.get(f"/api/v1/tickets/{later['token']}").json()["position"] == 2  # behind the moved one
        assert supervisor.post(f"{BASE}/tickets/A-999/move", json={"service": "FS"}).status_code == 404
        assert (
            supervisor.post(f"{BASE}/tickets/{wrong['number']}/move", json={"service": "XX"}).status_code
            == 422
        )
        assert agent.post(f"{BASE}/counters/1/open").status_code == 200
        assert agent.post(f"{BASE}/counters/1/next").status_code == 200
        busy = supervisor.post(f"{BASE}/tickets/{wrong['number']}/move", json={"service": "CR"})
        assert (busy.status_code, busy.json()["error"]["code"]) == (409, "ticket_not_waiting")
        report = supervisor.get(f"{BASE}/reports/exceptions?from=2026-11-29&to=2026-11-29").json()
        assert {r["actor"]: r["overrides"] for r in report} == {"staff:supervisor1": 1}
    assert logged(database, "moved") == [
        ("staff:supervisor1", {"number": wrong["number"], "origin": "CR", "service": "FS"})
    ]
