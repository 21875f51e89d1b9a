"""The hall feed and the ticket feed over websockets: snapshot, then sequenced deltas."""

import asyncio

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from display.hub import OVERFLOW, Delivery, Feed, Subscriber
from tests.conftest import sign_in, take_ticket


def test_display_gets_a_snapshot_then_each_event_with_its_seq(client: TestClient) -> None:
    take_ticket(client)
    with client.websocket_connect("/ws/centres/DAM-01/display") as ws:
        snapshot = ws.receive_json()
        assert snapshot["type"] == "snapshot"
        assert snapshot["seq"] == 1
        assert snapshot["waiting"]["CR"]["waiting"] == 1
        assert snapshot["services"]["CR"]["ar"] == "إخراج قيد فردي"
        take_ticket(client, "ID")
        delta = ws.receive_json()
        assert (delta["type"], delta["seq"], delta["number"], delta["service"]) == (
            "issued",
            2,
            "C-001",
            "ID",
        )


def test_display_sees_the_call_with_its_counter(client: TestClient, app: Starlette) -> None:
    take_ticket(client)
    with sign_in(app, "agent1") as agent, client.websocket_connect("/ws/centres/DAM-01/display") as ws:
        ws.receive_json()
        agent.post("/api/v1/centres/DAM-01/counters/1/open")
        agent.post("/api/v1/centres/DAM-01/counters/1/next")
        opened, called = ws.receive_json(), ws.receive_json()
        assert opened["type"] == "counter_opened"
        assert (called["type"], called["number"], called["counter"], called["seq"]) == (
            "called",
            "A-001",
            1,
            3,
        )


def test_snapshot_lists_numbers_being_served_and_recent_calls(client: TestClient, app: Starlette) -> None:
    take_ticket(client)
    with sign_in(app, "agent1") as agent:
        agent.post("/api/v1/centres/DAM-01/counters/1/open")
        agent.post("/api/v1/centres/DAM-01/counters/1/next")
    with client.websocket_connect("/ws/centres/DAM-01/display") as ws:
        snapshot = ws.receive_json()
    assert snapshot["now_serving"] == [{"number": "A-001", "counter": 1, "service": "CR"}]
    assert snapshot["recent"][0]["number"] == "A-001"
    assert "phone" not in str(snapshot) and "token" not in str(snapshot)


def test_an_unknown_centre_is_closed_with_1008_and_a_reason(client: TestClient) -> None:
    with (
        client.websocket_connect("/ws/centres/NOPE-9/display") as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_json()
    assert closed.value.code == 1008
    assert "unknown centre" in closed.value.reason


def test_an_unknown_ticket_is_closed_with_1008(client: TestClient) -> None:
    with (
        client.websocket_connect("/ws/tickets/not-a-token") as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_json()
    assert closed.value.code == 1008


def test_a_foreign_origin_is_refused(client: TestClient) -> None:
    headers = {"origin": "https://evil.example"}
    with (
        client.websocket_connect("/ws/centres/DAM-01/display", headers=headers) as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_json()
    assert (closed.value.code, closed.value.reason) == (1008, "origin not allowed")


def test_the_same_origin_is_accepted(client: TestClient) -> None:
    with client.websocket_connect(
        "/ws/centres/DAM-01/display", headers={"origin": "http://testserver"}
    ) as ws:
        assert ws.receive_json()["type"] == "snapshot"


def test_messages_from_a_display_are_ignored(client: TestClient) -> None:
    with client.websocket_connect("/ws/centres/DAM-01/display") as ws:
        ws.receive_json()
        ws.send_json({"action": "next"})
        ws.send_text("call A-001 please")
        take_ticket(client)
        assert ws.receive_json()["type"] == "issued"


def test_a_ticket_feed_follows_the_ticket(client: TestClient, app: Starlette) -> None:
    first, second = take_ticket(client), take_ticket(client)
    with sign_in(app, "agent1") as agent, client.websocket_connect(f"/ws/tickets/{second['token']}") as ws:
        update = ws.receive_json()
        assert (update["type"], update["status"], update["position"]) == ("update", "waiting", 2)
        assert "token" not in update
        agent.post("/api/v1/centres/DAM-01/counters/1/open")
        agent.post("/api/v1/centres/DAM-01/counters/1/next")  # calls the first ticket
        assert ws.receive_json()["position"] == 1
        agent.post("/api/v1/centres/DAM-01/counters/1/start")
        agent.post("/api/v1/centres/DAM-01/counters/1/finish")
        agent.post("/api/v1/centres/DAM-01/counters/1/next")
        called = ws.receive_json()
        while called["status"] != "called":
            called = ws.receive_json()
        assert (called["status"], called["counter"]) == ("called", 1)
    assert first["number"] == "A-001"


def test_a_subscriber_that_falls_behind_is_told_to_resync() -> None:
    subscriber = Subscriber(Feed(1, "DAM-01", seq=0), 0, asyncio.Queue(3))
    for n in range(5):
        subscriber.offer(Delivery(n, "issued", f'{{"seq": {n}}}'))
    assert subscriber.overflowed
    items = [subscriber.queue.get_nowait() for _ in range(subscriber.queue.qsize())]
    assert items[-1] is OVERFLOW
    subscriber.offer(Delivery(9, "issued", '{"seq": 9}'))
    assert subscriber.queue.empty()
