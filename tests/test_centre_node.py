"""A centre node pushes its centre's log to the central (docs/centre-node.md): every entry reaches the
central once, in order, with the tickets and counters it names; the central's chain still verifies;
a gap, a different history or a forged entry is refused whole; a revoked node is refused; a node
silent for longer than the central's limit leaves an outage on record."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from config.settings import Settings
from eventlog.models import Event
from node.models import NodeLink, NodeOutage
from node.sync import Refused
from organisation.models import Centre, Device, DeviceKind
from organisation.staff import add_device, revoke_device
from queueing.models import Ticket
from server.app import create_app
from supervision.audit import verify
from tests.conftest import KIOSK, Templates, VirtualClock, _database, sign_in

COUNTER = "/api/v1/centres/DAM-01/counters/1"


@pytest.fixture
def node_database(templates: Templates, tmp_path: Path) -> Iterator[Database]:
    """The node's SQLite database: a copy of the demo, as the central's is (the node installed from it)."""
    folder = tmp_path / "node"
    folder.mkdir()
    yield from _database(templates, "sqlite", folder, seeded=True)


@pytest.fixture
def node_token(database: Database, clock: VirtualClock) -> str:
    with database.write() as session:
        centre = session.exec(select(Centre).where(Centre.code == "DAM-01")).one()
        _device, token = add_device(
            session, centre=centre, kind=DeviceKind.NODE, name="DAM-01 node", now=clock()
        )
    return token


@pytest.fixture
def node(
    client: TestClient,
    app: Starlette,
    node_database: Database,
    node_token: str,
    clock: VirtualClock,
    tmp_path: Path,
) -> Iterator[TestClient]:
    """DAM-01's node, reaching the central app in this process; it syncs when a test says so."""
    settings = Settings(
        database_url=node_database.url.render_as_string(hide_password=False),
        dev=True,
        data_dir=str(tmp_path / "node-data"),
        jobs=False,
        role="node",
        node_centre="DAM-01",
        central_url="http://central",
        node_token=node_token,
        node_sync_s=60,
    )
    node_app = create_app(
        settings, database=node_database, clock=clock, central=httpx2.ASGITransport(app=app)
    )
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
        return next_push(session, centre_id=centre.id, after_seq=after, head=0)


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
