"""The organisation held in memory (organisation/snapshot.py): every change to it, made by this
process or by another, is seen by the next transaction; a change that rolls back is not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import delete, update
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from config.sql import id_of
from organisation.models import CentreService, Counter, CounterService, Service, Staff
from organisation.snapshot import organisation
from queueing.counters import counter_queues
from tests.conftest import KIOSK, sign_in, take_ticket


@pytest.fixture
def other_process(database: Database) -> Iterator[Database]:
    """The same database through an engine of its own: what another server process sees."""
    other = Database(database.url.render_as_string(hide_password=False))
    yield other
    other.dispose()


def _issue(client: TestClient, service: str) -> int:
    url = "/api/v1/centres/DAM-01/tickets"
    return client.post(url, json={"service": service, "channel": "kiosk"}, headers=KIOSK).status_code


def _ids(session: Session, centre: str, service: str) -> tuple[int, int]:
    known = organisation(session)
    centre_id, service_id = known.centres[centre].id, known.services[service].id
    assert centre_id is not None and service_id is not None
    return centre_id, service_id


def _counter_one(session: Session) -> int:
    """Counter 1 of DAM-01, which serves CR, FS and NC."""
    centre_id, _ = _ids(session, "DAM-01", "CR")
    counter = session.exec(select(Counter).where(Counter.centre_id == centre_id, Counter.number == 1)).one()
    return id_of(counter)


def test_an_account_disabled_by_another_process_stops_working_at_once(
    app: Starlette, other_process: Database
) -> None:
    with sign_in(app, "agent2") as agent:
        assert agent.get("/api/v1/auth/me").status_code == 200
        with other_process.write() as session:  # a bulk UPDATE, not a row loaded and changed
            session.execute(update(Staff).where(Staff.username == "agent2").values(active=False))
        assert agent.get("/api/v1/auth/me").status_code == 401


def test_a_service_withdrawn_by_another_process_is_refused_at_once(
    client: TestClient, other_process: Database
) -> None:
    assert _issue(client, "PP") == 201
    with other_process.write() as session:
        centre_id, service_id = _ids(session, "DAM-01", "PP")
        offer = session.get(CentreService, (centre_id, service_id))
        session.delete(offer)
    assert _issue(client, "PP") == 422
    assert _issue(client, "CR") == 201


def test_a_counter_given_another_service_elsewhere_calls_from_it(
    client: TestClient, app: Starlette, other_process: Database
) -> None:
    with sign_in(app, "agent1") as agent:
        assert agent.post("/api/v1/centres/DAM-01/counters/1/open").status_code == 200
        take_ticket(client, "PP")
        assert agent.post("/api/v1/centres/DAM-01/counters/1/next").status_code == 204
        with other_process.write() as session:
            _, service_id = _ids(session, "DAM-01", "PP")
            session.add(CounterService(counter_id=_counter_one(session), service_id=service_id, weight=1.0))
        called = agent.post("/api/v1/centres/DAM-01/counters/1/next")
        assert called.status_code == 200
        assert called.json()["ticket"]["service"] == "PP"


def test_a_transaction_sees_its_own_changes_and_a_rollback_is_not_kept(database: Database) -> None:
    with database.write() as session:
        _, service_id = _ids(session, "DAM-01", "PP")
        counter_id = _counter_one(session)
        assert service_id not in counter_queues(session, counter_id=counter_id).own

    def give_then_fail() -> None:
        with database.write() as session:
            session.add(CounterService(counter_id=counter_id, service_id=service_id, weight=1.0))
            assert service_id in counter_queues(session, counter_id=counter_id).own
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError, match="changed my mind"):
        give_then_fail()
    with database.write() as session:
        assert service_id not in counter_queues(session, counter_id=counter_id).own
        session.execute(delete(CounterService).where(CounterService.counter_id == counter_id))
        assert counter_queues(session, counter_id=counter_id).own == {}
    with database.read() as session:
        assert counter_queues(session, counter_id=counter_id).own == {}


def test_the_shared_rows_cannot_be_changed_through_a_session(database: Database) -> None:
    with database.write() as session:
        service = organisation(session).services["CR"]
        with pytest.raises(RuntimeError, match="shared copy"):
            session.add(service)
        own = session.exec(select(Service).where(Service.code == "CR")).one()
        assert own is not service
        own.fee = 2500
        session.add(own)
    with database.read() as session:
        assert organisation(session).services["CR"].fee == 2500
