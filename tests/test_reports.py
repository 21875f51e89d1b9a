"""Supervisors' reports from the log: per day or week and service, and per agent; CSV too."""

from __future__ import annotations

from xml.etree import ElementTree

from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from tests.conftest import KIOSK, VirtualClock, sign_in, take_ticket
from tests.test_booking import booking, otp

COUNTER = "/api/v1/centres/DAM-01/counters/1"
TODAY = "from=2026-11-29&to=2026-11-29"


def a_morning(client: TestClient, agent: TestClient, database: Database, clock: VirtualClock) -> None:
    """Counter 1 from 09:00 for 1,510 s: three served (180, 240, 300 s), a 600 s break, one no-show;
    one ticket cancelled; then a booked extract checked in at 12:30."""
    cr = [take_ticket(client) for _ in range(4)]
    take_ticket(client, "FS")
    booked = client.post(
        "/api/v1/appointments", json=booking(otp(client, database), "2026-11-29T13:00:00+03:00")
    )
    assert booked.status_code == 201, booked.text

    def act(action: str, **body: str) -> None:
        response = agent.post(f"{COUNTER}/{action}", json=body or None)
        assert response.status_code == 200, (action, response.text)

    act("open")
    clock.advance(120)
    act("next")  # A-001, waited 120 s
    act("start")
    clock.advance(180)
    act("finish")
    act("pause", reason="break")
    clock.advance(600)
    act("resume")
    act("next")  # A-002, waited 900 s
    act("start")
    clock.advance(240)
    act("finish")
    act("next")  # A-003, waited 1,140 s
    clock.advance(30)
    act("recall")
    clock.advance(40)
    act("no-show")
    assert client.delete(f"/api/v1/tickets/{cr[3]['token']}").status_code == 200
    act("next")  # the family statement, waited 1,210 s
    act("start")
    clock.advance(300)
    act("finish")
    act("close")
    clock.advance(3 * 3600 + 1800 - 1510)  # 12:30 in Damascus
    code = booked.json()["code"]
    assert (
        client.post("/api/v1/centres/DAM-01/check-in", json={"code": code}, headers=KIOSK).status_code == 201
    )


def test_the_day_per_service_and_per_agent(
    client: TestClient, agent: TestClient, app: Starlette, database: Database, clock: VirtualClock
) -> None:
    a_morning(client, agent, database, clock)
    with sign_in(app, "supervisor1") as supervisor:
        rows = {
            r["service"]: r for r in supervisor.get(f"/api/v1/centres/DAM-01/reports/services?{TODAY}").json()
        }
        cr = rows["CR"]
        assert (cr["issued"], cr["served"], cr["no_show"], cr["cancelled"]) == (5, 2, 1, 1)
        assert (cr["mean_wait_s"], cr["p90_wait_s"], cr["mean_service_s"]) == (720, 1140, 210)
        assert cr["within_target"] == 1.0  # all three walk-ins called within 20 minutes
        assert (cr["appointments"], cr["show_rate"]) == (1, 1.0)
        fs = rows["FS"]
        assert (fs["issued"], fs["served"], fs["mean_wait_s"], fs["within_target"]) == (1, 1, 1210, 0.0)

        agents = supervisor.get(f"/api/v1/centres/DAM-01/reports/agents?{TODAY}").json()
        assert agents == [
            {
                "agent": "staff:agent1",
                "served": 3,
                "mean_service_s": 240,
                "open_s": 1510,
                "idle_s": 1510 - 600 - 720,
                "pause_s": {"break": 600},
            }
        ]

        week = supervisor.get(
            "/api/v1/centres/DAM-01/reports/services?from=2026-11-23&to=2026-12-02&period=week"
        )
        assert {(r["period"], r["service"]) for r in week.json()} == {
            ("2026-11-29", "CR"),
            ("2026-11-29", "FS"),
        }

        spreadsheet = supervisor.get(f"/api/v1/centres/DAM-01/reports/services?{TODAY}&format=csv")
        assert spreadsheet.headers["content-type"].startswith("text/csv")
        assert "attachment" in spreadsheet.headers["content-disposition"]
        lines = spreadsheet.content.decode("utf-8-sig").splitlines()
        assert lines[0].startswith("period,service,issued,served,no_show,cancelled,mean_wait_s")
        assert lines[1].startswith("2026-11-29,CR,5,2,1,1,720,1140,210,1.0,1,1.0")
        agents_csv = supervisor.get(f"/api/v1/centres/DAM-01/reports/agents?{TODAY}&format=csv")
        assert "staff:agent1,3,240,1510,190,break=600" in agents_csv.text


def test_the_reports_as_charts_in_the_readers_language(
    client: TestClient, agent: TestClient, app: Starlette, database: Database, clock: VirtualClock
) -> None:
    a_morning(client, agent, database, clock)
    with sign_in(app, "supervisor1") as supervisor:
        services = supervisor.get(f"/api/v1/centres/DAM-01/reports/services?{TODAY}&format=svg")
        agents = supervisor.get(
            f"/api/v1/centres/DAM-01/reports/agents?{TODAY}&format=svg", headers={"Accept-Language": "en"}
        )
    assert services.headers["content-type"] == "image/svg+xml"
    svg = ElementTree.fromstring(services.content)
    texts = {t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    # Text stays text, so the browser shapes the Arabic titles; each service is in the legend.
    assert {"المخدومون في كل فترة", "متوسط انتظار الحاضرين (دقيقة)", "CR", "FS"} <= texts
    agent_texts = {
        t.text for t in ElementTree.fromstring(agents.content).iter("{http://www.w3.org/2000/svg}text")
    }
    assert {"Hours per agent", "agent1", "Serving", "Idle", "Paused"} <= agent_texts


def test_charts_of_days_without_tickets_say_so(app: Starlette) -> None:
    with sign_in(app, "supervisor1") as supervisor:
        base = "/api/v1/centres/DAM-01/reports"
        charts = [
            supervisor.get(f"{base}/services?{TODAY}&format=svg"),
            supervisor.get(f"{base}/agents?{TODAY}&format=svg", headers={"Accept-Language": "en"}),
        ]
    texts = [
        {t.text for t in ElementTree.fromstring(c.content).iter("{http://www.w3.org/2000/svg}text")}
        for c in charts
    ]
    assert "لا شيء في هذه الأيام" in texts[0]
    assert "Nothing in these days" in texts[1]
    # No axis of numbers around zero: the only texts are the titles and the words.
    assert texts[1] == {"Hours per agent", "Nothing in these days"}


def test_bad_report_requests_are_refused(app: Starlette, agent: TestClient) -> None:
    with sign_in(app, "supervisor1") as supervisor:
        base = "/api/v1/centres/DAM-01/reports"
        assert supervisor.get(f"{base}/services?from=2026-11-30&to=2026-11-29").status_code == 422
        assert supervisor.get(f"{base}/agents?from=2025-01-01&to=2026-11-29").status_code == 422
        assert supervisor.get(f"{base}/services?{TODAY}&period=month").status_code == 422
        assert supervisor.get(f"{base}/services?{TODAY}&format=xls").status_code == 422
        assert supervisor.get(f"/api/v1/centres/RIF-01/reports/services?{TODAY}").status_code == 403
    assert agent.get(f"/api/v1/centres/DAM-01/reports/services?{TODAY}").status_code == 403
