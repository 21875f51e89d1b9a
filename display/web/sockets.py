"""Websockets: a centre's hall feed (snapshot, then sequenced deltas) and one ticket's updates."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter as Tally
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from config.metrics import WEBSOCKETS_OPEN
from config.web.endpoints import storable
from display.hall import Snapshots
from display.hub import OVERFLOW, Hub, UnknownCentre
from display.trackers import TrackerViews

log = logging.getLogger(__name__)
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
MAX_SOCKETS_PER_ADDRESS = 50
# A close frame carries at most 125 bytes, 2 of them the code: a longer reason (an unknown centre's
# code echoed from a long path) made the server's protocol raise instead of closing.
MAX_REASON_BYTES = 123
# Events after which the place or wait of any waiting ticket of the centre may have changed.
QUEUE_MOVES = frozenset(
    {"issued", "called", "cancelled", "transferred", "no_show", "checked_in", "moved_back"}
)
# Events that change only their own ticket's view (its status, its call): the other trackers of the
# centre leave them alone, so a counter's start and finish cost no read for every tracker (their
# estimates follow at the centre's next queue move, the call that comes next).
OWN_MOVES = frozenset({"started", "finished", "recalled"})


def origin_allowed(websocket: WebSocket) -> bool:
    """Same-origin pages, configured origins, and clients that send no Origin (devices) may connect."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    allowed: tuple[str, ...] = websocket.app.state.settings.allowed_origins
    if origin in allowed:
        return True
    try:
        netloc = urlsplit(origin).netloc
    except ValueError:  # not a URL (`http://[`): no page of ours sent it
        return False
    return netloc == websocket.headers.get("host")


def close_reason(text: str) -> str:
    """`text`, cut to what a close frame holds (on a character's boundary)."""
    return text.encode()[:MAX_REASON_BYTES].decode(errors="ignore")


class Guard:
    """Caps the sockets one address may hold: a flood of connections is refused, not served."""

    def __init__(self) -> None:
        self.open: Tally[str] = Tally()

    def admit(self, address: str) -> bool:
        if self.open[address] >= MAX_SOCKETS_PER_ADDRESS:
            return False
        self.open[address] += 1
        return True

    def release(self, address: str) -> None:
        self.open[address] -= 1
        if self.open[address] <= 0:
            del self.open[address]


async def _serve(
    websocket: WebSocket, run: Callable[[WebSocket], Coroutine[Any, Any, str | None]], *, kind: str
) -> None:
    """Accepts, applies the rules (origin, per-address cap), runs the feed; clients' messages are ignored.

    `run` returns a reason to refuse (unknown centre or token) before sending anything, or runs until
    the client leaves. Refusals are close frames with a code and a reason, so clients can tell.
    """
    guard: Guard = websocket.app.state.socket_guard
    address = websocket.client.host if websocket.client else "unknown"
    await websocket.accept()
    if not origin_allowed(websocket):
        await websocket.close(POLICY_VIOLATION, reason="origin not allowed")
        return
    if not guard.admit(address):
        await websocket.close(TRY_AGAIN_LATER, reason="too many connections from this address")
        return
    open_sockets = WEBSOCKETS_OPEN.labels(kind=kind)
    open_sockets.inc()
    try:
        sender = asyncio.create_task(run(websocket))
        receiver = asyncio.create_task(_drain(websocket))
        done, pending = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            # Retrieve its end when it comes (often the client's disconnect), so it is not reported
            # as "Task exception was never retrieved".
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            task.cancel()
        for task in done:
            with contextlib.suppress(WebSocketDisconnect, asyncio.CancelledError, RuntimeError, TimeoutError):
                refusal = task.result()
                if refusal:
                    await websocket.close(POLICY_VIOLATION, reason=close_reason(refusal))
    finally:
        open_sockets.dec()
        guard.release(address)


async def _drain(websocket: WebSocket) -> None:
    """A screen cannot act: whatever it sends is read and dropped, until it disconnects."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def display_socket(websocket: WebSocket) -> None:
    """/ws/centres/{centre}/display: a snapshot, then every event of the centre with its seq."""
    code = websocket.path_params["centre"]
    hub: Hub = websocket.app.state.hub
    snapshots: Snapshots = websocket.app.state.snapshots

    async def run(ws: WebSocket) -> str | None:
        # A code no database stores is no centre's, and PostgreSQL would refuse the lookup.
        if not storable(code):
            return f"unknown centre {code}"
        try:
            async with hub.subscribe(code) as subscriber:
                snapshot = await snapshots.get(subscriber)
                if snapshot is None:
                    return f"unknown centre {code}"
                since = snapshot.seq
                # A connection lives for days: it keeps the shared text only until it is sent, so
                # thousands of screens hold few objects (fewer for the garbage collector to walk).
                await ws.send_text(snapshot.text)
                del snapshot
                while True:
                    delivery = await subscriber.queue.get()
                    if delivery is OVERFLOW:
                        await ws.close(TRY_AGAIN_LATER, reason="too slow; reconnect for a fresh snapshot")
                        return None
                    if delivery.seq > since:
                        await ws.send_text(delivery.text)
        except UnknownCentre:
            return f"unknown centre {code}"

    await _serve(websocket, run, kind="display")


async def ticket_socket(websocket: WebSocket) -> None:
    """/ws/tickets/{token}: the ticket's view whenever its place, status or counter changes."""
    token = websocket.path_params["token"]
    hub: Hub = websocket.app.state.hub
    views: TrackerViews = websocket.app.state.tracker_views

    async def run(ws: WebSocket) -> str | None:
        view = await views.get(token) if storable(token) else None
        if view is None:
            return "unknown ticket"
        async with hub.subscribe(view.centre_code) as subscriber:
            last = view.text
            await ws.send_text(last)
            # The view was read before subscribing: if the feed had moved past it, the moves in between
            # reach this socket through no delivery, so it is read again at once, as after a move.
            # (Reading it again before sending, it could chase a busy centre's log at every try.)
            moved = view.seq < subscriber.since
            while True:
                if not moved:
                    delivery = await subscriber.queue.get()
                    if delivery is OVERFLOW:
                        await ws.close(TRY_AGAIN_LATER, reason="too slow; reconnect")
                        return None
                    mine = delivery.type in OWN_MOVES and delivery.number == view.number
                    if delivery.type not in QUEUE_MOVES and not mine:
                        continue
                moved = False
                while not subscriber.queue.empty():  # one view for a burst of events
                    if subscriber.queue.get_nowait() is OVERFLOW:
                        await ws.close(TRY_AGAIN_LATER, reason="too slow; reconnect")
                        return None
                view = await views.get(token)
                if view is None:  # erased (retention): nothing left to track
                    return None
                if view.text != last:
                    last = view.text
                    await ws.send_text(last)

    await _serve(websocket, run, kind="ticket")


routes = [
    WebSocketRoute("/ws/centres/{centre}/display", display_socket),
    WebSocketRoute("/ws/tickets/{token}", ticket_socket),
]
