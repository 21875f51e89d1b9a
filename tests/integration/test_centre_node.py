"""A centre node and the central as real processes (docs/centre-node.md): the central on PostgreSQL,
DAM-01's node on SQLite, the link between them a TCP connection the test cuts. Through a busy hour
with the link cut, then a crash of the node (SIGKILL) in the middle of catching up (its push taken by
the central, the answer lost on the way), the centre keeps issuing and serving, and the central ends
with every entry of the centre's log once, in order, with its chain intact, every ticket the
node issued, and the check-in of an appointment booked before the cut."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest
from sqlmodel import col, select

from booking.models import Appointment
from config.db import Database
from eventlog.models import Event
from organisation.models import Centre, Service
from queueing.models import Ticket
from supervision.audit import verify
from tests.integration.helpers import (
    CENTRE,
    KIOSK,
    Link,
    Server,
    issue_ticket,
    prepared_database,
    run_cli,
    sign_in,
    start_server,
)

pytestmark = pytest.mark.slow

CATCH_UP_S = 90.0
COUNTER = f"/api/v1/centres/{CENTRE}/counters/1"


def log_of(url: str) -> list[tuple[int, str]]:
    database = Database(url)
    try:
        with database.read() as session:
            centre = session.exec(select(Centre).where(Centre.code == CENTRE)).one()
            rows = session.exec(
                select(Event.seq, Event.hash).where(Event.centre_id == centre.id).order_by(col(Event.seq))
            ).all()
        return [(seq, hash_) for seq, hash_ in rows]
    finally:
        database.dispose()


def tickets_of(url: str) -> dict[str, tuple[int | None, str]]:
    database = Database(url)
    try:
        with database.read() as session:
            rows = session.exec(select(Ticket)).all()
        return {t.token: (t.id, t.status) for t in rows}
    finally:
        database.dispose()


def book(url: str, *, code: str) -> None:
    """An appointment at the centre in ten minutes, written at the central (bookings are its own)."""
    database = Database(url)
    try:
        with database.write() as session:
            centre = session.exec(select(Centre).where(Centre.code == CENTRE)).one()
            service = session.exec(select(Service).where(Service.code == "CR")).one()
            start = datetime.now(UTC) + timedelta(minutes=10)
            session.add(
                Appointment(
                    code=code,
                    token=f"token-{code}",
                    centre_id=centre.id,
                    service_id=service.id,
                    start=start,
                    end=start + timedelta(minutes=10),
                    created_at=datetime.now(UTC),
                )
            )
    finally:
        database.dispose()


def appointment(url: str, code: str) -> tuple[str, int | None] | None:
    """The appointment's status and ticket, where `url`'s database holds it."""
    database = Database(url)
    try:
        with database.read() as session:
            found = session.exec(select(Appointment).where(Appointment.code == code)).first()
        return (found.status, found.ticket_id) if found else None
    finally:
        database.dispose()


def wait_for(condition: object, *, within: float, what: str) -> None:
    """Polls `condition` (a callable) until it is true; fails after `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.02)  # polling interval, bounded by the deadline
    raise AssertionError(f"not within {within} s: {what}")


def test_a_centre_node_serves_through_a_cut_and_a_crash_and_the_central_gets_every_entry_once(
    tmp_path: Path,
) -> None:
    with prepared_database("postgresql", tmp_path) as central_db:
        central = start_server(central_db.url, tmp_path, name="central")
        node: Server | None = None
        try:
            supervisor = sign_in(central.url, "supervisor1", "demo")
            answer = supervisor.post(
                f"/api/v1/centres/{CENTRE}/devices", json={"kind": "node", "name": "node"}
            )
            assert answer.status_code == 201, answer.text
            node_url = f"sqlite:///{tmp_path / 'node.sqlite3'}"
            run_cli(node_url, "migrate")
            link = Link(central.port)
            settings = {
                "DOR_ROLE": "node",
                "DOR_NODE_CENTRE": CENTRE,
                "DOR_CENTRAL_URL": link.url,
                "DOR_NODE_TOKEN": answer.json()["token"],
                "DOR_NODE_SYNC_S": "0.2",
            }
            book(central_db.url, code="CUT042")  # booked before the cut, checked in while it lasts
            node = start_server(node_url, tmp_path, name="node", **settings)
            wait_for(lambda: appointment(node_url, "CUT042") is not None, within=CATCH_UP_S, what="the pull")
            issued: list[str] = []
            with httpx2.Client(base_url=node.url, timeout=30.0) as kiosk:
                agent = sign_in(node.url, "agent1", "demo")
                assert agent.post(f"{COUNTER}/open").status_code == 200
                # A busy hour at the centre; halfway through, the link to the central is cut.
                for index in range(60):
                    response = issue_ticket(kiosk)
                    assert response.status_code == 201, response.text
                    issued.append(response.json()["token"])
                    if index % 3 == 2:
                        for step in ("next", "start", "finish"):
                            assert agent.post(f"{COUNTER}/{step}").status_code == 200
                    if index == 30:
                        link.cut()
                        checked = kiosk.post(
                            f"/api/v1/centres/{CENTRE}/check-in", json={"code": "CUT042"}, headers=KIOSK
                        )
                        assert checked.status_code == 201, checked.text
                        issued.append(checked.json()["token"])
                # The centre keeps serving with the link down.
                for _ in range(150):
                    response = issue_ticket(kiosk)
                    assert response.status_code == 201, response.text
                    issued.append(response.json()["token"])
                assert agent.post(f"{COUNTER}/next").status_code == 200
            held_before = len(log_of(central_db.url))
            assert held_before < len(log_of(node_url))
            # The link is back; the central takes the node's first push, and the node is killed
            # before the answer reaches it: it cannot know that the central has those entries.
            link.hold_push_answers = True
            link.mend()
            assert link.push_answer_held.wait(CATCH_UP_S), "the node pushed nothing"
            node.kill()
            assert len(log_of(central_db.url)) > held_before
            link.hold_push_answers = False
            node = start_server(node_url, tmp_path, name="node-again", **settings)
            wait_for(
                lambda: log_of(central_db.url) == log_of(node_url), within=CATCH_UP_S, what="the catch-up"
            )
        finally:
            if node is not None:
                node.stop()
            central.stop()
        central_tickets, node_tickets = tickets_of(central_db.url), tickets_of(node_url)
        assert all(central_tickets[token] == node_tickets[token] for token in issued)
        checked_in = appointment(central_db.url, "CUT042")
        assert checked_in is not None and checked_in[0] == "checked_in"
        assert checked_in[1] == central_tickets[checked.json()["token"]][0]
        database = Database(central_db.url)
        try:
            with database.read() as session:
                assert all(v.broken is None for v in verify(session))
        finally:
            database.dispose()
