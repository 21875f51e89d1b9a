"""A centre node pushes its centre's log to the central (docs/centre-node.md): every entry reaches the
central once, in order, with the tickets and counters it names; the central's chain still verifies;
a gap, a different history or a forged entry is refused whole; a revoked node is refused; a node
silent for longer than the central's limit leaves an outage on record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking.models import Appointment
from config.db import Database
from config.settings import Settings
from eventlog.models import Event, NodeLink, NodeOutage
from node.sync import Refused
from organisation.models import Centre, Device, DeviceKind
from organisation.staff import revoke_device
from queueing.models import Ticket
from server.app import create_app
from supervision.audit import verify
from tests.conftest import KIOSK, Templates, VirtualClock, _database, sign_in
from tests.test_kiosk import book

COUNTER = "/api/v1/centres/DAM-01/counters/1"


@pytest.fixture
def node_database(templates: Templates, tmp_path: Path) -> Iterator[Database]:
    """A new node's SQLite database: migrated, empty; its organisation comes from the central."""
    folder = tmp_path / "node"
    folder.mkdir()
    yield from _database(templates, "sqlite", folder, seeded=False)


@pytest.fixture
def node_token(client: TestClient, app: Starlette) -> str:
    """DAM-01's node, registered at the central by its supervisor."""
    supervisor = sign_in(app, "supervisor1", through=client)
    answer = supervisor.post("/api/v1/centres/DAM-01/devices", json={"kind": "node", "name": "DAM-01 node"})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


def node_settings(node_database: Database, node_token: str, tmp_path: Path) -> Settings:
    """DAM-01's node, which a test syncs itself."""
    return Settings(
        database_url=node_database.url.render_as_string(hide_password=False),
        dev=True,
        data_dir=str(tmp_path / "node-data"),
        jobs=False,
        role="node",
        node_centre="DAM-01",
        central_url="http://central",
        node_token=node_token,
        node_sync_s=10,  # the tests run rounds themselves; one of its own in between changes nothing
    )


class Cuttable(httpx2.AsyncBaseTransport):
    """The node's link to the central, which a test can cut and mend."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.cut = False

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.cut:
            raise httpx2.ConnectError("the link is down", request=request)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def link(app: Starlette) -> Cuttable:
    """The node's link to the central app in this process."""
    return Cuttable(httpx2.ASGITransport(app=app))


@pytest.fixture
def node(
    client: TestClient,
    link: Cuttable,
    node_database: Database,
    node_token: str,
    clock: VirtualClock,
    tmp_path: Path,
) -> Iterator[TestClient]:
    """DAM-01's node, reaching the central app in this process through `link`."""
    settings = node_settings(node_database, node_token, tmp_path)
    node_app = create_app(settings, database=node_database, clock=clock, central=link)
    with TestClient(node_app, raise_server_exceptions=False) as running:
        yield running


def sync(node: TestClient) -> None:
    """One round of the node's link: the central's head, then pushes until it holds the whole log."""
    assert node.portal is not None
    node.portal.call(node.app.state.node_link.link.sync)  # type: ignore[attr-defined]


def busy_hour(node: TestClient) -> list[dict[str, Any]]:
    """Tickets issued at the node's kiosk; agent1 serves two of them and calls a third."""
    tickets = []
    for service in ("CR", "CR", "FS", "CR"):
        response = node.post(
            "/api/v1/centres/DAM-01/tickets", json={"service": service, "channel": "kiosk"}, headers=KIOSK
        )
        assert response.status_code == 201, response.text
        tickets.append(response.json())
    agent = sign_in(node.app, "agent1", through=node)  # type: ignore[arg-type]
    assert agent.post(f"{COUNTER}/open").status_code == 200
    for _ in range(2):
        for step in ("next", "start", "finish"):
            assert agent.post(f"{COUNTER}/{step}").status_code == 200
    assert agent.post(f"{COUNTER}/next").status_code == 200
    return tickets


def log_of(database: Database) -> list[tuple[int, str, str]]:
    with database.read() as session:
        centre = session.exec(select(Centre).where(Centre.code == "DAM-01")).one()
        rows = session.exec(
            select(Event.seq, Event.type, Event.hash)
            .where(Event.centre_id == centre.id)
            .order_by(col(Event.seq))
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_the_central_holds_the_nodes_log_once_in_order_and_its_chain_holds(
    node: TestClient, client: TestClient, database: Database, node_database: Database
) -> None:
    tickets = busy_hour(node)
    sync(node)
    assert log_of(database) == log_of(node_database)
    sync(node)  # nothing new: nothing changes
    assert log_of(database) == log_of(node_database)
    with database.read() as session:
        assert all(v.broken is None for v in verify(session))
        held = {
            t.token: t
            for t in session.exec(select(Ticket).where(col(Ticket.token).in_([t["token"] for t in tickets])))
        }
        centre = session.exec(select(Centre).where(Centre.code == "DAM-01")).one()
    with node_database.read() as session:
        at_node = {t.token: t for t in session.exec(select(Ticket).where(col(Ticket.token).in_(list(held))))}
    assert {t: (held[t].id, held[t].status) for t in held} == {
        t: (at_node[t].id, at_node[t].status) for t in at_node
    }
    assert all(t.id is not None and t.id >> 32 == centre.id for t in held.values())
    # What the central serves of them is the node's: the tracker of a ticket served at the node.
    served = client.get(f"/api/v1/tickets/{tickets[0]['token']}").json()
    assert served["status"] == "done"
    counters = client.get("/api/v1/centres/DAM-01/status").json()["now_serving"]
    assert [c["counter"] for c in counters] == [1]


def push_of(node_database: Database, *, after: int) -> dict[str, Any]:
    from node.push import next_push

    with node_database.read() as session:
        centre = session.exec(select(Centre).where(Centre.code == "DAM-01")).one()
        assert centre.id is not None
        return dict(json.loads(next_push(session, centre_id=centre.id, after_seq=after, head=0)))


def test_a_batch_that_skips_forges_or_rewrites_an_entry_is_refused_whole(
    node: TestClient, client: TestClient, database: Database, node_database: Database, node_token: str
) -> None:
    busy_hour(node)
    before = log_of(database)
    head = before[-1][0] if before else 0
    headers = {"Authorization": f"Bearer {node_token}"}
    body = push_of(node_database, after=head)
    gap = {**body, "events": body["events"][1:]}
    answer = client.post("/api/v1/node/log", json=gap, headers=headers)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "log_gap"
    forged = {**body, "events": [{**body["events"][0], "actor": "staff:someone-else"}, *body["events"][1:]]}
    answer = client.post("/api/v1/node/log", json=forged, headers=headers)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "log_broken"
    assert log_of(database) == before  # nothing of a refused batch was kept
    assert client.post("/api/v1/node/log", json=body, headers=headers).status_code == 200
    again = client.post("/api/v1/node/log", json=body, headers=headers)
    assert again.status_code == 200 and log_of(database) == log_of(node_database)  # once, not twice
    rewritten = {**body, "events": [{**body["events"][-1], "hash": "0" * 64}]}
    answer = client.post("/api/v1/node/log", json=rewritten, headers=headers)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "log_diverged"


def test_a_revoked_node_is_refused_and_an_unknown_token_too(
    node: TestClient, client: TestClient, database: Database, clock: VirtualClock
) -> None:
    assert client.get("/api/v1/node/log", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/v1/node/log", headers=KIOSK).status_code == 401  # a kiosk is no node
    with database.write() as session:
        device = session.exec(select(Device).where(Device.kind == DeviceKind.NODE.value)).one()
        revoke_device(session, device=device, now=clock())
    busy_hour(node)
    with pytest.raises(Refused, match="401"):
        sync(node)


def test_the_central_keeps_when_and_how_long_a_node_was_silent(
    node: TestClient, database: Database, clock: VirtualClock
) -> None:
    sync(node)
    clock.advance(600)  # ten minutes without a call: the link was down
    busy_hour(node)
    sync(node)
    with database.read() as session:
        outage = session.exec(select(NodeOutage)).one()
        link = session.exec(select(NodeLink)).one()
    assert outage.ended_at - outage.began_at == timedelta(seconds=600)
    assert link.last_contact_at == clock() and link.node_seq == log_of(database)[-1][0]


def test_a_centre_whose_link_is_down_keeps_serving_and_catches_up_in_order(
    node: TestClient, link: Cuttable, node_database: Database, database: Database, clock: VirtualClock
) -> None:
    link.cut = True
    busy_hour(node)  # staff sign in from what the node pulled; kiosks and counters work
    with pytest.raises(httpx2.ConnectError):
        sync(node)
    assert len(log_of(node_database)) > len(log_of(database))
    # A week and a day without the central: the node stops taking its staff's passwords.
    expire = node.app.state.node_link.link.expire_credentials  # type: ignore[attr-defined]
    assert node.portal is not None
    node.portal.call(expire)
    assert login(node, "agent2").status_code == 200
    clock.advance(8 * 24 * 3600)
    node.portal.call(expire)
    assert login(node, "agent2").status_code == 401
    link.cut = False
    sync(node)
    assert log_of(database) == log_of(node_database)
    assert login(node, "agent2").status_code == 200  # the central's accounts are back


def login(client: TestClient, username: str) -> Any:
    return client.post("/api/v1/auth/login", json={"username": username, "password": "demo"})


def test_an_account_disabled_at_the_central_cannot_sign_in_at_the_node_after_its_next_pull(
    node: TestClient, client: TestClient, app: Starlette
) -> None:
    assert login(node, "agent2").status_code == 200
    admin = sign_in(app, "admin", through=client)
    assert admin.post("/api/v1/staff/agent2/disable").status_code == 200
    sync(node)
    assert login(node, "agent2").status_code == 401


def test_the_central_leaves_the_queue_of_a_centre_on_its_node_alone(
    node: TestClient, client: TestClient, app: Starlette
) -> None:
    refused = client.post(
        "/api/v1/centres/DAM-01/tickets", json={"service": "CR", "channel": "kiosk"}, headers=KIOSK
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "centre_on_node"
    agent = sign_in(app, "agent1", through=client)
    assert agent.post(f"{COUNTER}/open").json()["error"]["code"] == "centre_on_node"
    # Another centre's queue is the central's as before.
    other = client.post(
        "/api/v1/centres/DAM-02/tickets",
        json={"service": "CR", "channel": "kiosk"},
        headers={"Authorization": "Bearer demo-kiosk-DAM-02"},
    )
    assert other.status_code == 201


def test_the_national_view_shows_each_node_centres_link_and_lag(
    node: TestClient, client: TestClient, app: Starlette, clock: VirtualClock
) -> None:
    admin = sign_in(app, "admin", through=client)

    def links() -> dict[str, Any]:
        answer = admin.get("/api/v1/national")
        assert answer.status_code == 200, answer.text
        return {row["centre"]: row["link"] for row in answer.json()}

    assert links()["DAM-01"] == {"online": False, "last_contact_at": None, "behind": 0, "last_outage": None}
    assert links()["DAM-02"] is None  # served by the central itself
    sync(node)
    assert links()["DAM-01"]["online"] is True
    clock.advance(45)  # past the 30 s the central waits for a call
    busy_hour(node)
    link = links()["DAM-01"]
    assert link["online"] is False and link["last_outage"] is None
    sync(node)
    link = links()["DAM-01"]
    assert link["online"] is True and link["behind"] == 0
    assert link["last_outage"]["ended_at"] > link["last_outage"]["began_at"]


def test_the_central_knows_how_far_behind_it_is_from_the_nodes_first_call_back(
    node: TestClient, client: TestClient, node_database: Database, node_token: str, database: Database
) -> None:
    busy_hour(node)
    mine = log_of(node_database)[-1][0]
    answer = client.get(
        "/api/v1/node/log", params={"head": mine}, headers={"Authorization": f"Bearer {node_token}"}
    )
    assert answer.status_code == 200
    with database.read() as session:
        link = session.exec(select(NodeLink)).one()
    assert link.node_seq - answer.json()["seq"] == len(log_of(node_database)) - len(log_of(database)) > 0


def test_a_push_stays_under_the_centrals_limit_on_a_body_and_the_rest_follows(
    node: TestClient, node_database: Database, database: Database
) -> None:
    from node.push import PUSH_BYTES, next_push

    for _ in range(80):
        taken = node.post(
            "/api/v1/centres/DAM-01/tickets", json={"service": "CR", "channel": "kiosk"}, headers=KIOSK
        )
        assert taken.status_code == 201
    with node_database.read() as session:
        centre = session.exec(select(Centre).where(Centre.code == "DAM-01")).one()
        assert centre.id is not None
        body = next_push(session, centre_id=centre.id, after_seq=0, head=0)
    assert len(body) <= PUSH_BYTES < len(body) * 2
    assert 1 < len(json.loads(body)["events"]) < len(log_of(node_database))
    sync(node)  # several pushes, one after the other
    assert log_of(database) == log_of(node_database)


def test_an_appointment_booked_before_the_cut_is_checked_in_at_the_node_and_the_central_learns_it(
    node: TestClient, link: Cuttable, database: Database, clock: VirtualClock
) -> None:
    book(database, clock, code="NODE42", minutes_from_now=10)
    book(database, clock, code="GONE17", minutes_from_now=20)
    with database.write() as session:  # cancelled at the central before the cut: the node learns it
        gone = session.exec(select(Appointment).where(Appointment.code == "GONE17")).one()
        gone.status = "cancelled"
        session.add(gone)
    sync(node)
    link.cut = True
    checked = node.post("/api/v1/centres/DAM-01/check-in", json={"code": "NODE42"}, headers=KIOSK)
    assert checked.status_code == 201, checked.text
    cancelled = node.post("/api/v1/centres/DAM-01/check-in", json={"code": "GONE17"}, headers=KIOSK)
    assert cancelled.status_code in (404, 409), cancelled.text
    link.cut = False
    sync(node)
    with database.read() as session:
        appointment = session.exec(select(Appointment).where(Appointment.code == "NODE42")).one()
        ticket = session.get(Ticket, appointment.ticket_id)
    assert appointment.status == "checked_in" and ticket is not None
    assert ticket.token == checked.json()["token"]


def test_a_node_cannot_write_another_centres_tickets_or_numbers_not_its_own(
    node: TestClient, client: TestClient, database: Database, node_database: Database, node_token: str
) -> None:
    busy_hour(node)
    before = log_of(database)
    elsewhere = client.post(
        "/api/v1/centres/DAM-02/tickets",
        json={"service": "CR", "channel": "kiosk"},
        headers={"Authorization": "Bearer demo-kiosk-DAM-02"},
    )
    with database.read() as session:
        theirs = session.exec(select(Ticket).where(Ticket.token == elsewhere.json()["token"])).one()
    body = push_of(node_database, after=0)
    headers = {"Authorization": f"Bearer {node_token}"}
    mine = body["tickets"][0]
    for forged in ({**mine, "id": theirs.id}, {**mine, "id": 5}, {**mine, "centre_id": theirs.centre_id}):
        tickets = [forged, *body["tickets"][1:]]
        answer = client.post("/api/v1/node/log", json={**body, "tickets": tickets}, headers=headers)
        assert answer.status_code == 422 and answer.json()["error"]["code"] == "push_refused", answer.text
    with database.read() as session:
        assert session.get(Ticket, theirs.id).centre_id == theirs.centre_id  # type: ignore[union-attr]
    assert log_of(database) == before


def test_a_ticket_the_central_shows_says_when_its_centre_went_silent(
    node: TestClient, client: TestClient, clock: VirtualClock
) -> None:
    tickets = busy_hour(node)
    sync(node)
    seen = client.get(f"/api/v1/tickets/{tickets[-1]['token']}").json()
    assert seen["status"] == "waiting" and seen["centre_offline_since"] is None
    heard = clock()
    clock.advance(45)  # the link is down: the central no longer hears from the node
    seen = client.get(f"/api/v1/tickets/{tickets[-1]['token']}").json()
    assert seen["centre_offline_since"] == heard.isoformat().replace("+00:00", "Z")
    sync(node)
    assert client.get(f"/api/v1/tickets/{tickets[-1]['token']}").json()["centre_offline_since"] is None
