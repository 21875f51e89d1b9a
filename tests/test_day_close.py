"""Closing the day: tickets of an earlier day still waiting or called leave the queue, once, logged."""

import time
from datetime import UTC, datetime

from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from config.settings import Settings
from eventlog.models import Event
from queueing.day_close import DAY_CLOSE, close_past_days
from queueing.models import Ticket
from server.jobs import start_jobs
from sms_gateway.backends import backend_from_url
from tests.conftest import VirtualClock, sign_in, take_ticket

COUNTER_1 = "/api/v1/centres/DAM-01/counters/1"
MONDAY_MIDNIGHT = datetime(2026, 11, 29, 21, 10, tzinfo=UTC)  # 00:10 on Monday in Damascus
MONDAY_OPEN = datetime(2026, 11, 30, 5, 30, tzinfo=UTC)  # 08:30


def status(client: TestClient, ticket: dict) -> str:  # type: ignore[type-arg]
    return str(client.get(f"/api/v1/tickets/{ticket['token']}").json()["status"])


def test_yesterdays_waiting_and_called_tickets_are_closed_and_today_starts_clean(
    client: TestClient, app: Starlette, agent: TestClient, clock: VirtualClock, database: Database
) -> None:
    served, called, left = take_ticket(client), take_ticket(client), take_ticket(client)
    assert agent.post(f"{COUNTER_1}/open").status_code == 200
    for action in ("next", "start", "finish", "next"):
        assert agent.post(f"{COUNTER_1}/{action}").status_code == 200
    with database.write() as session:
        assert close_past_days(session, now=clock.now) == 0  # nothing of today is closed

    clock.now = MONDAY_MIDNIGHT
    with database.write() as session:
        assert close_past_days(session, now=clock.now) == 2
    with database.write() as session:
        assert close_past_days(session, now=clock.now) == 0  # once
    assert [status(client, t) for t in (served, called, left)] == ["done", "cancelled", "cancelled"]
    with database.read() as session:
        logged = session.exec(
            select(Event.actor, Event.data).where(Event.type == "cancelled").order_by(col(Event.seq))
        ).all()
    assert logged == [
        (DAY_CLOSE, {"number": "A-002", "reason": "day_closed"}),
        (DAY_CLOSE, {"number": "A-003", "reason": "day_closed"}),
    ]

    clock.now = MONDAY_OPEN
    monday = take_ticket(client)
    assert (monday["number"], monday["position"]) == ("A-001", 1)
    waiting = client.get("/api/v1/centres/DAM-01/status").json()["services"]
    assert next(s["waiting"] for s in waiting if s["code"] == "CR") == 1
    with sign_in(app, "agent1") as morning:
        first = morning.post(f"{COUNTER_1}/next")
    assert first.status_code == 200, first.text
    assert first.json()["ticket"]["number"] == "A-001"  # Monday's, not Sunday's A-003


def test_a_process_closes_earlier_days_as_it_starts(
    client: TestClient, settings: Settings, database: Database, clock: VirtualClock
) -> None:
    """Restarted just before opening, it does not wait five minutes for the first run."""
    sunday = take_ticket(client)
    clock.now = MONDAY_OPEN
    scheduler = start_jobs(
        settings=settings, database=database, sms=backend_from_url("console://", sender="Dor"), clock=clock
    )
    try:
        deadline = time.monotonic() + 20
        while status(client, sunday) == "waiting" and time.monotonic() < deadline:
            time.sleep(0.05)  # the job runs in the scheduler's thread
    finally:
        scheduler.shutdown(wait=True)
    assert status(client, sunday) == "cancelled"
    with database.read() as session:
        ticket = session.exec(select(Ticket).where(Ticket.token == sunday["token"])).one()
    assert ticket.ended_at == MONDAY_OPEN
