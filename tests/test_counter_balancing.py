"""Backup queues and the counter balancer, through the API: an idle counter takes work it is allowed
to do, the balancer recommends boosting it when a queue is pressed, a supervisor applies a move in
one click (logged), and a centre with automatic balancing has the job apply it."""

from __future__ import annotations

from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from eventlog.models import Event
from organisation.models import Counter, CounterService, Service
from queueing.notifications import QueueNotices
from queueing.policy import PolicyConfig
from scheduling.balancer import BALANCER, balance_all
from scheduling.balancing import BalanceRules
from tests.conftest import VirtualClock, sign_in, take_ticket

# DAM-01 in the demo: counter 1 serves CR and FS (and NC at 0.5), counter 6 serves RE and VT and
# holds CR and FS as backups; CR takes 180 s on average.
BALANCE = "/api/v1/centres/DAM-01/balance"


def open_counter(agent: TestClient, number: int) -> None:
    assert agent.post(f"/api/v1/centres/DAM-01/counters/{number}/open").status_code == 200


def call_next(agent: TestClient, number: int) -> str | None:
    response = agent.post(f"/api/v1/centres/DAM-01/counters/{number}/next")
    assert response.status_code in (200, 204), response.text
    return response.json()["ticket"]["number"] if response.status_code == 200 else None


def finish(agent: TestClient, number: int) -> None:
    for action in ("start", "finish"):
        assert agent.post(f"/api/v1/centres/DAM-01/counters/{number}/{action}").status_code == 200


def role_of(database: Database, *, counter: int, service: str) -> str:
    with database.read() as session:
        return session.exec(
            select(CounterService.role)
            .join(Counter, col(Counter.id) == CounterService.counter_id)
            .join(Service, col(Service.id) == CounterService.service_id)
            .where(Counter.number == counter, Service.code == service, Counter.centre_id == 1)
        ).one()


def test_an_idle_counter_takes_a_backup_queue_only_when_its_own_are_empty(
    client: TestClient, app: Starlette, clock: VirtualClock
) -> None:
    with sign_in(app, "agent1") as agent:
        open_counter(agent, 6)
        counter = agent.get("/api/v1/centres/DAM-01/counters").json()[5]
        assert counter["backup_services"] == ["CR", "FS"]
        cr = take_ticket(client, "CR")["number"]
        assert call_next(agent, 6) == cr  # its own queues are empty: it helps
        finish(agent, 6)
        older_cr = take_ticket(client, "CR")["number"]
        clock.advance(600)
        own = take_ticket(client, "RE")["number"]
        assert call_next(agent, 6) == own  # its own queue first, however long the backup waited
        finish(agent, 6)
        assert call_next(agent, 6) == older_cr


def test_a_pressed_queue_gets_a_recommended_helper_and_a_supervisor_applies_it(
    client: TestClient, app: Starlette, database: Database
) -> None:
    with sign_in(app, "agent1") as agent1, sign_in(app, "agent2") as agent2:
        open_counter(agent1, 1)
        open_counter(agent2, 6)
        for _ in range(10):
            take_ticket(client, "CR")
    with sign_in(app, "supervisor1") as supervisor:
        view = supervisor.get(BALANCE).json()
        assert view["auto"] is False
        assert view["queues"][0] == {"service": "CR", "waiting": 10, "drain_s": 1800}  # 10 x 180 s, 1 counter
        assert view["moves"] == [{"counter": 6, "service": "CR", "role": "boosted", "drain_s": 1800}]
        assert role_of(database, counter=6, service="CR") == "backup"  # only recommended

        applied = supervisor.post(f"{BALANCE}/moves", json={"counter": 6, "service": "CR", "role": "boosted"})
        assert applied.status_code == 200, applied.text
        assert applied.json()["queues"][0]["drain_s"] == 900  # two counters call it now
        assert applied.json()["moves"] == []
    assert role_of(database, counter=6, service="CR") == "boosted"
    with database.read() as session:
        logged = session.exec(select(Event).where(Event.type == "queue_role_changed")).one()
    assert logged.actor == "staff:supervisor1"
    assert logged.data == {"counter": 6, "service": "CR", "role": "boosted", "drain_s": 1800}


def test_with_automatic_balancing_the_job_boosts_and_later_releases(
    client: TestClient, app: Starlette, database: Database, clock: VirtualClock
) -> None:
    with sign_in(app, "agent1") as agent1, sign_in(app, "agent2") as agent2:
        open_counter(agent1, 1)
        open_counter(agent2, 6)
        tickets = [take_ticket(client, "CR") for _ in range(10)]
        with sign_in(app, "supervisor1") as supervisor:
            assert supervisor.post(f"{BALANCE}/auto", json={"auto": True}).json()["auto"] is True
        with database.write() as session:
            assert balance_all(session, rules=BalanceRules(), now=clock()) == 1
        assert role_of(database, counter=6, service="CR") == "boosted"
        for ticket in tickets:
            assert client.delete(f"/api/v1/tickets/{ticket['token']}").status_code == 200
        with database.write() as session:
            balance_all(session, rules=BalanceRules(), now=clock())
        assert role_of(database, counter=6, service="CR") == "backup"  # the queue is empty: released
    with database.read() as session:
        moves = session.exec(
            select(Event).where(Event.type == "queue_role_changed").order_by(col(Event.seq))
        ).all()
    assert [(e.actor, e.data["role"]) for e in moves] == [(BALANCER, "boosted"), (BALANCER, "backup")]


def test_moves_the_counter_does_not_allow_are_refused(client: TestClient, app: Starlette) -> None:
    with sign_in(app, "supervisor1") as supervisor:
        own = supervisor.post(f"{BALANCE}/moves", json={"counter": 1, "service": "CR", "role": "boosted"})
        assert own.status_code == 409 and own.json()["error"]["code"] == "invalid_move"  # its own already
        not_boosted = supervisor.post(
            f"{BALANCE}/moves", json={"counter": 6, "service": "CR", "role": "backup"}
        )
        assert not_boosted.status_code == 409
        nowhere = supervisor.post(
            f"{BALANCE}/moves", json={"counter": 99, "service": "CR", "role": "boosted"}
        )
        assert nowhere.status_code == 409
        unknown = supervisor.post(f"{BALANCE}/moves", json={"counter": 6, "service": "XX", "role": "boosted"})
        assert unknown.status_code == 404
        bad = supervisor.post(f"{BALANCE}/moves", json={"counter": 6, "service": "CR", "role": "main"})
        assert bad.status_code == 422 and "role" in bad.json()["error"]["message"]
    with sign_in(app, "agent1") as agent:
        assert agent.get(BALANCE).status_code == 403
        assert agent.post(f"{BALANCE}/auto", json={"auto": True}).status_code == 403


def test_the_turn_near_sms_reaches_as_far_as_the_lead_time() -> None:
    notices = QueueNotices(ahead=3, policy=PolicyConfig(), base_url="", lead_s=1200)
    assert notices.reach(lambda ahead: ahead * 150.0) == 8  # 8 ahead: 20 minutes, the lead time
    assert notices.reach(lambda ahead: ahead * 600.0) == 3  # never fewer than `ahead`
    no_lead = QueueNotices(ahead=3, policy=PolicyConfig(), base_url="")
    assert no_lead.reach(lambda ahead: 0.0) == 3  # no lead time


def test_automatic_balancing_switches_on_and_off_and_logs_each_change_once(
    app: Starlette, database: Database
) -> None:
    with sign_in(app, "supervisor1") as supervisor:
        answers = [
            supervisor.post("/api/v1/centres/DAM-01/balance/auto", json={"auto": auto})
            for auto in (True, True, False, False, True)
        ]
    assert [(a.status_code, a.json()["auto"]) for a in answers] == [
        (200, True),
        (200, True),
        (200, False),
        (200, False),
        (200, True),
    ]
    with database.read() as session:
        logged = session.exec(select(Event.data).where(Event.type == "auto_balance_changed")).all()
    assert [data["auto"] for data in logged] == [True, False, True]
