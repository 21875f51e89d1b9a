"""The counters' queues planned from the demand of the last weeks, through the API: a supervisor
reads the plan, each counter's body ready for `PUT …/counters/{n}/services`."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.conftest import VirtualClock, sign_in, take_ticket

PLAN = "/api/v1/centres/DAM-01/counter-plan"


def test_the_busiest_service_gets_more_counters_and_the_plan_applies_as_it_reads(
    client: TestClient, app: Starlette, clock: VirtualClock
) -> None:
    for service, count in (("CR", 30), ("FS", 3)):
        for _ in range(count):
            take_ticket(client, service)
    clock.advance(24 * 3600)  # those are yesterday's now; today's tickets are not history yet
    take_ticket(client, "FS")
    with sign_in(app, "supervisor1") as supervisor:
        response = supervisor.get(PLAN)
        assert response.status_code == 200, response.text
        plan = response.json()
        assert (plan["weeks"], plan["tickets"]) == (4, 33)
        demand = {row["service"]: row["counters_busy"] for row in plan["demand"]}
        assert demand["CR"] > demand["FS"] > demand["PP"] == 0
        counters = plan["counters"]
        assert [c["counter"] for c in counters] == [1, 2, 3, 4, 5, 6]
        owners = [c for c in counters if "CR" in c["services"]]
        assert len(owners) == 1 and owners[0]["services"] == {"CR": 1.0}  # CR is a counter's only queue
        # DAM-01 has 8 services for 6 counters: every one is owned somewhere, and backed up.
        owned = {s for c in counters for s in c["services"]}
        assert len(owned) == 8 and {s for c in counters for s in c["backups"]} <= owned
        assert counters[0]["now"]["services"] == {"CR": 1.0, "FS": 1.0, "NC": 0.5}
        # The plan's counter applies as it reads.
        body = {"services": counters[5]["services"], "backups": counters[5]["backups"]}
        assert supervisor.put("/api/v1/centres/DAM-01/counters/6/services", json=body).status_code == 200
        assert supervisor.get(PLAN).json()["counters"][5]["now"] == body


def test_the_plan_is_for_managers_and_checks_its_history_length(client: TestClient, app: Starlette) -> None:
    with sign_in(app, "agent1") as agent:
        assert agent.get(PLAN).status_code == 403
    with sign_in(app, "supervisor1") as supervisor:
        for weeks in ("0", "53", "x"):
            response = supervisor.get(f"{PLAN}?weeks={weeks}")
            assert response.status_code == 422, response.text
            assert response.json()["error"]["code"] == "invalid_input"
        empty = supervisor.get(PLAN, headers={"Accept-Language": "en"})  # the demo's first day: no history
        assert (empty.status_code, empty.json()["error"]["code"]) == (409, "no_plan")
        assert "no tickets in the last 4 weeks" in empty.json()["error"]["message"]
        assert supervisor.get("/api/v1/centres/XXX-99/counter-plan").status_code == 404
