"""A centre's counters and the queues each serves, as the counters screen reads and changes them: the
listing with weights and roles, a change with its reason in the audit chain, the refusals naming
their field, and who may."""

from __future__ import annotations

from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from eventlog.models import Event
from tests.conftest import sign_in

BASE = "/api/v1/centres/DAM-01"


def counters(client: TestClient) -> dict[int, dict]:  # type: ignore[type-arg]
    listed = client.get(f"{BASE}/counters")
    assert listed.status_code == 200, listed.text
    return {c["number"]: c for c in listed.json()}


def test_the_listing_gives_each_counters_queues_with_weights_and_roles(app: Starlette) -> None:
    with sign_in(app, "supervisor1") as supervisor:
        listed = counters(supervisor)
    # config/demo/centres.toml: counter 1 serves CR, FS at 1 and NC at 0.5; counter 6 has backups.
    assert listed[1]["label"] == "شباك ١"
    assert (listed[1]["status"], listed[1]["agent"]) == ("closed", None)
    assert listed[1]["weights"] == {"CR": 1.0, "FS": 1.0, "NC": 0.5}
    assert (listed[1]["backup_services"], listed[1]["boosted"]) == ([], [])
    assert listed[6]["weights"] == {"RE": 1.0, "VT": 1.0, "CR": 1.0, "FS": 1.0}
    assert listed[6]["backup_services"] == ["CR", "FS"]
    with sign_in(app, "admin") as admin:  # an admin reads any centre's
        assert admin.get("/api/v1/centres/RIF-01/counters").status_code == 200


def test_a_backup_the_balancer_raised_is_listed_as_boosted(app: Starlette) -> None:
    with sign_in(app, "supervisor1") as supervisor:
        raised = supervisor.post(
            f"{BASE}/balance/moves", json={"counter": 6, "service": "CR", "role": "boosted"}
        )
        assert raised.status_code == 200, raised.text
        counter = counters(supervisor)[6]
    assert (counter["boosted"], counter["backup_services"]) == (["CR"], ["FS"])
    assert counter["weights"]["CR"] == 1.0


def test_a_change_with_its_reason_is_listed_and_logged_once(
    app: Starlette, agent: TestClient, database: Database
) -> None:
    body = {"services": {"ID": 0.75, "CR": 0.25}, "backups": {"NC": 0.5}, "reason": "two agents on leave"}
    with sign_in(app, "supervisor1") as supervisor:
        changed = supervisor.put(f"{BASE}/counters/1/services", json=body)
        assert changed.json() == {"centre": "DAM-01", "changed": "counter_services_changed", "applied": True}
        again = supervisor.put(f"{BASE}/counters/1/services", json={**body, "reason": "sent twice"})
        assert again.json()["applied"] is False
        counter = counters(supervisor)[1]
    assert counter["weights"] == {"ID": 0.75, "CR": 0.25, "NC": 0.5}
    assert counter["backup_services"] == ["NC"]
    # Every process serves the new queues on its next request: the agent's own listing says so.
    assert counters(agent)[1]["weights"] == {"ID": 0.75, "CR": 0.25, "NC": 0.5}
    with database.read() as session:
        events = session.exec(select(Event).where(Event.type == "counter_services_changed")).all()
    assert [(e.actor, e.data) for e in events] == [
        (
            "staff:supervisor1",
            {
                "counter": 1,
                "services": {"ID": 0.75, "CR": 0.25},
                "backups": {"NC": 0.5},
                "reason": "two agents on leave",
            },
        )
    ]
    assert events[0].counter_id is not None


def test_refusals_name_the_field_in_the_callers_language(app: Starlette) -> None:
    with sign_in(app, "supervisor1") as supervisor:
        for body, field in (
            ({"services": {"CR": 1.5}, "reason": "too much"}, "services.CR"),
            ({"services": {"CR": 0}, "reason": "too little"}, "services.CR"),
            ({"services": {"CR": 1.0}, "backups": {"CR": 0.5}, "reason": "both ways"}, "backups"),
            ({"services": {"CR": 1.0}, "reason": "no"}, "reason"),
            ({"services": {"CR": 1.0}, "reason": "x" * 201}, "reason"),
            ({"services": {}, "reason": "nothing at all"}, "services"),
        ):
            refused = supervisor.put(f"{BASE}/counters/1/services", json=body)
            assert refused.status_code == 422, body
            assert refused.json()["error"]["field"] == field, refused.text
        unknown = supervisor.put(
            f"{BASE}/counters/1/services", json={"services": {"XX": 1.0}, "reason": "new"}
        )
        assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "service_not_offered")
        assert "XX" in unknown.json()["error"]["message"]
        arabic = supervisor.put(
            f"{BASE}/counters/1/services",
            json={"services": {"CR": 1.0}, "backups": {"CR": 0.5}, "reason": "both ways"},
            headers={"Accept-Language": "ar"},
        )
        assert arabic.json()["error"]["message"].startswith("الحقل 'backups'")
        missing = supervisor.put(
            f"{BASE}/counters/99/services", json={"services": {"CR": 1.0}, "reason": "new"}
        )
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
        counter = counters(supervisor)[1]
    assert counter["weights"] == {"CR": 1.0, "FS": 1.0, "NC": 0.5}  # nothing refused was written


def test_only_the_centres_supervisors_and_admins_change_it(app: Starlette, agent: TestClient) -> None:
    body = {"services": {"CR": 1.0}, "reason": "cover the civil registry"}
    with sign_in(app, "supervisor2") as other:  # supervises RIF-01 and RIF-02, not DAM-01
        refused = other.put(f"{BASE}/counters/1/services", json=body)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
        assert other.get(f"{BASE}/counters").status_code == 403
    assert agent.put(f"{BASE}/counters/1/services", json=body).status_code == 403
    with sign_in(app, "admin") as admin:
        assert admin.put(f"{BASE}/counters/1/services", json=body).json()["applied"] is True


def test_the_page_is_for_the_centres_supervisors(app: Starlette, client: TestClient) -> None:
    page = sign_in(app, "supervisor1").get("/supervisor/counters?centre=DAM-02&lang=en")
    assert page.status_code == 200
    assert 'data-centre="DAM-02"' in page.text and "Counters and the queues they serve" in page.text
    # A centre they do not supervise is not theirs to pick: their first centre instead.
    assert (
        'data-centre="DAM-01"' in sign_in(app, "supervisor1").get("/supervisor/counters?centre=RIF-01").text
    )
    assert sign_in(app, "agent1").get("/supervisor/counters", follow_redirects=False).status_code == 303
    assert client.get("/supervisor/counters", follow_redirects=False).status_code in (302, 303)
    wallboard = sign_in(app, "supervisor1").get("/supervisor?centre=DAM-01").text
    assert 'href="/supervisor/counters?centre=DAM-01"' in wallboard
