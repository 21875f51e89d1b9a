"""Hostile clients of the two websockets: bad paths and origins are refused with a close code and a
reason that fits a close frame, garbage sent after connecting is dropped, an abrupt disconnect costs
nothing, and through it all the other screens are served and no traceback is logged."""

import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx2
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from display.web.sockets import MAX_REASON_BYTES
from server.cli import WEBSOCKET_OPTIONS
from tests.conftest import KIOSK, take_ticket

# Long, though under the 8 KiB request line uvicorn takes (a longer one it answers 414).
BAD_PATHS = [
    "/ws/centres/NOPE-9/display",
    "/ws/centres/%D9%A3%D9%A3/display",  # Arabic-Indic digits
    "/ws/centres/" + "X" * 4_000 + "/display",
    "/ws/centres/" + "%D9%A3" * 1_000 + "/display",  # its echo in the reason: 2 bytes a character
    "/ws/centres/%00/display",  # PostgreSQL refused the lookup
    "/ws/tickets/not-a-token",
    "/ws/tickets/%00",
    "/ws/tickets/%ED%A0%80",  # a surrogate, UTF-8 encoded
    "/ws/tickets/" + "t" * 4_000,
]
BAD_ORIGINS = [
    b"https://evil.example",
    b"http://testserver.evil.example",
    b"http://[",  # not a URL: urlsplit raised ValueError
    b"http://\xff\xfe",
    b"null",
    b"x" * 10_000,
]
# uvicorn's sans-I/O websockets protocol logs this with its traceback itself, for a text frame that is
# not UTF-8, as it closes the connection with 1007: nothing of Dor's runs (see the report of this test).
UVICORN_ON_BAD_UTF8 = "Invalid UTF-8 sequence received from client."


@pytest.fixture(autouse=True)
def no_traceback_is_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """An unhandled exception in a socket logs its traceback (uvicorn: "Exception in ASGI application").
    The test's own websocket client logs under `websockets.client`: not the server's."""
    yield
    logged = [
        r.getMessage()
        for r in caplog.get_records("call")
        if r.levelno >= logging.ERROR
        and r.exc_info
        and not r.name.startswith("websockets.client")
        and r.getMessage() != UVICORN_ON_BAD_UTF8
    ]
    assert logged == []


def refused(client: TestClient, path: str, headers: dict[str, bytes] | None = None) -> WebSocketDisconnect:
    """The close that ends a connection to `path` before anything is sent."""
    with (
        client.websocket_connect(path, headers=headers or {}) as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_json()
    return closed.value


# --- in-process (Starlette's test client), on both databases -------------------------------------------


def test_bad_paths_are_closed_with_1008_and_a_reason_that_fits_a_close_frame(client: TestClient) -> None:
    for path in BAD_PATHS:
        closed = refused(client, path)
        assert closed.code == 1008, path[:60]
        assert closed.reason.startswith("unknown "), path[:60]
        assert len(closed.reason.encode()) <= MAX_REASON_BYTES, path[:60]


def test_bad_origins_are_closed_with_1008(client: TestClient) -> None:
    for origin in BAD_ORIGINS:
        closed = refused(client, "/ws/centres/DAM-01/display", headers={"origin": origin})
        assert (closed.code, closed.reason) == (1008, "origin not allowed"), origin[:60]


def test_garbage_sent_after_connecting_is_dropped_and_the_feed_goes_on(client: TestClient) -> None:
    with client.websocket_connect("/ws/centres/DAM-01/display") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        ws.send_text("{" * 100_000)
        ws.send_text("\u0000\u202e")
        ws.send_bytes(b"\xff\xfe" * 500_000)
        ws.send_json({"type": "called", "number": "A-666", "counter": 1})  # a screen cannot act
        take_ticket(client)
        assert ws.receive_json()["type"] == "issued"


def test_a_screen_that_leaves_abruptly_leaves_the_others_served(client: TestClient) -> None:
    ticket = take_ticket(client)
    with (
        client.websocket_connect("/ws/centres/DAM-01/display") as staying,
        client.websocket_connect(f"/ws/tickets/{ticket['token']}") as tracker,
    ):
        staying.receive_json(), tracker.receive_json()
        for path in ("/ws/centres/DAM-01/display", f"/ws/tickets/{ticket['token']}"):
            with client.websocket_connect(path):
                pass  # gone before reading its first message, while the server sends it
        take_ticket(client)
        assert staying.receive_json()["type"] == "issued"
        client.delete(f"/api/v1/tickets/{ticket['token']}")
        # The second ticket may already have refreshed the tracker's forecast (a "waiting" update);
        # the cancellation comes at the latest right after it.
        update = tracker.receive_json()
        if update["status"] == "waiting":
            update = tracker.receive_json()
        assert update["status"] == "cancelled"


# --- a real server, as `dor serve` runs it: uvicorn with its websocket options ----------------------------


@dataclass
class Live:
    port: int

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def connect(self, path: str, **options: object) -> ClientConnection:
        return connect(self.ws + path, open_timeout=10, **options)  # type: ignore[arg-type]

    def handshake(self, path: str) -> tuple[socket.socket, bytes]:
        """A raw connection past the upgrade, and what came after the upgrade's answer in the same
        read (the snapshot may follow at once): what a client does next is up to the test."""
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        raw.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        answer = raw.recv(4096)
        assert answer.startswith(b"HTTP/1.1 101")
        return raw, answer.partition(b"\r\n\r\n")[2]


def send_then_listen(ws: ClientConnection, message: bytes, *, text: bool) -> None:
    """After the snapshot, sends `message` (the server may close while it arrives) and reads on."""
    ws.recv(timeout=10)
    ws.send(message, text=text)
    ws.recv(timeout=10)


@pytest.fixture
def live(app: Starlette) -> Iterator[Live]:
    """Dor under uvicorn in a thread; its logs reach caplog (no logging configuration of its own)."""
    listening = socket.create_server(("127.0.0.1", 0))  # listening already: clients queue until it serves
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, **WEBSOCKET_OPTIONS))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    yield Live(listening.getsockname()[1])
    server.should_exit = True
    thread.join(timeout=30)
    assert not thread.is_alive()


def test_a_real_server_refuses_hostile_sockets_and_keeps_serving_the_others(live: Live) -> None:
    with live.connect("/ws/centres/DAM-01/display") as watcher:
        assert '"snapshot"' in str(watcher.recv(timeout=10))
        # Refusals: a reason too long for a close frame made the protocol raise instead of closing.
        for path in BAD_PATHS:
            with live.connect(path) as refused_socket, pytest.raises(ConnectionClosed) as closed:
                refused_socket.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008, path[:60]
        with (
            live.connect(
                "/ws/centres/DAM-01/display", additional_headers={"Origin": "http://["}
            ) as refused_socket,
            pytest.raises(ConnectionClosed) as closed,
        ):
            refused_socket.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        # What the protocol refuses: a text that is not UTF-8 (closed with 1007), a message over its
        # 16 MiB (the connection ends; how, with or without a close frame, is uvicorn's to choose).
        with (
            live.connect("/ws/centres/DAM-01/display") as garbling,
            pytest.raises(ConnectionClosed) as closed,
        ):
            send_then_listen(garbling, b"\xff\xfe", text=True)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007
        with (
            live.connect("/ws/centres/DAM-01/display", max_size=None) as flooding,
            pytest.raises(ConnectionClosed),
        ):
            send_then_listen(flooding, bytes(17 * 1024 * 1024), text=False)
        # Abrupt ends: a client gone without a close frame, before and after its snapshot.
        live.handshake("/ws/centres/DAM-01/display")[0].close()
        cut, received = live.handshake("/ws/centres/DAM-01/display")
        while b'"snapshot"' not in received:
            received += cut.recv(4096)
        cut.close()
        # The screen that stayed still gets the next call, and a new one its snapshot.
        answer = httpx2.post(
            f"http://127.0.0.1:{live.port}/api/v1/centres/DAM-01/tickets",
            json={"service": "CR", "channel": "kiosk"},
            headers=KIOSK,
        )
        assert answer.status_code == 201, answer.text
        assert '"issued"' in str(watcher.recv(timeout=10))
    with live.connect("/ws/centres/DAM-01/display") as newcomer:
        assert '"snapshot"' in str(newcomer.recv(timeout=10))
