"""/metrics for Prometheus: tickets issued and called, waits, open websockets, the SMS backlog, job
runs and failures; behind a bearer token when one is set."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from config.metrics import REGISTRY
from config.settings import Settings
from server.app import create_app
from server.jobs import once_per_tick
from sms_gateway.models import SmsMessage
from tests.conftest import VirtualClock, take_remote_ticket, take_ticket


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


ISSUED = ("dor_tickets_issued_total", (("centre", "DAM-01"), ("channel", "kiosk"), ("service", "CR")))
CALLED = ("dor_tickets_called_total", (("centre", "DAM-01"), ("service", "CR")))
WAITS = ("dor_ticket_wait_seconds_count", (("centre", "DAM-01"), ("service", "CR")))
WAITED_UNDER_5_MIN = (
    "dor_ticket_wait_seconds_bucket",
    (("centre", "DAM-01"), ("le", "300.0"), ("service", "CR")),
)
TRACKERS = ("dor_websockets_open", (("kind", "ticket"),))


def test_tickets_waits_and_websockets_are_counted(
    client: TestClient, agent: TestClient, database: Database, clock: VirtualClock
) -> None:
    before = scrape(client)
    ticket = take_ticket(client)
    take_ticket(client)
    clock.advance(240)
    assert agent.post("/api/v1/centres/DAM-01/counters/1/open").status_code == 200
    assert agent.post("/api/v1/centres/DAM-01/counters/1/next").status_code == 200
    clock.advance(30)
    assert agent.post("/api/v1/centres/DAM-01/counters/1/recall").status_code == 200  # not a new call
    with client.websocket_connect(f"/ws/tickets/{ticket['token']}") as socket:
        socket.receive_json()
        during = scrape(client)
    after = scrape(client)

    def grew(key: tuple[str, tuple[tuple[str, str], ...]], sample: dict) -> float:  # type: ignore[type-arg]
        return sample.get(key, 0.0) - before.get(key, 0.0)

    assert grew(ISSUED, after) == 2
    assert grew(CALLED, after) == 1 and grew(WAITS, after) == 1
    assert grew(WAITED_UNDER_5_MIN, after) == 1  # waited 4 minutes
    assert grew(TRACKERS, during) == 1 and grew(TRACKERS, after) == 0


def test_the_sms_backlog_is_read_at_each_scrape(client: TestClient, database: Database) -> None:
    take_remote_ticket(client, database)  # an OTP and a "turn near": jobs are off, so both wait
    with database.read() as session:
        pending = len(session.exec(select(SmsMessage.id).where(col(SmsMessage.status) == "pending")).all())
    assert pending >= 2
    assert scrape(client)[("dor_sms_outbox_backlog", ())] == pending


def test_job_runs_and_failures_are_counted(database: Database, clock: VirtualClock) -> None:
    def broken() -> None:
        raise RuntimeError("the job failed")

    runs = ("dor_job_runs_total", (("job", "test-broken"),))
    failures = ("dor_job_failures_total", (("job", "test-broken"),))

    def value(key: tuple[str, tuple[tuple[str, str], ...]]) -> float:
        return REGISTRY.get_sample_value(key[0], dict(key[1])) or 0.0

    before = value(runs), value(failures)
    job = once_per_tick(database, clock, "test-holder", "test-broken", 60, broken)
    with pytest.raises(RuntimeError):
        job()
    job()  # the same tick: another run is not claimed
    assert (value(runs), value(failures)) == (before[0] + 1, before[1] + 1)


def test_a_metrics_token_keeps_strangers_out(
    settings: Settings, database: Database, clock: VirtualClock
) -> None:
    guarded = settings.model_copy(update={"metrics_token": SecretStr("scrape-me-please")})
    app: Starlette = create_app(guarded, database=database, clock=clock)
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
        assert ok.status_code == 200 and "dor_tickets_issued" in ok.text
