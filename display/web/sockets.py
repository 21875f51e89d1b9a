"""Websockets: a centre's hall feed (snapshot, then sequenced deltas) and one ticket's updates."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter as Tally
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from config.metrics import WEBSOCKETS_OPEN
from config.web.endpoints import storable
from display.hall_messages import current_message
from display.hub import OVERFLOW, Hub
from eventlog.log import event_message, last_seq
from organisation.catalogue import find_centre, services_of
from organisation.models import Centre
from queueing.service import centre_status, find_ticket, recent_calls, ticket_view

log = logging.getLogger(__name__)
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
MAX_SOCKETS_PER_ADDRESS = 50
# A close frame carries at most 125 bytes, 2 of them the code: a longer reason (an unknown centre's
# code echoed from a long path) made the server's protocol raise instead of closing.
MAX_REASON_BYTES = 123
# Events after which a ticket's place in line may have changed.
MOVES = frozenset(
    {
        "issued",
        "called",
        "cancelled",
        "transferred",
        "no_show",
        "finished",
        "started",
        "recalled",
        "checked_in",
        "moved_back",
    }
)


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


async def _read(websocket: WebSocket, work: Callable[[Session], Any]) -> Any:
    database = websocket.app.state.database

    def run() -> Any:
        with database.read() as session:
            return work(session)

    return await run_in_threadpool(run)


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


def _snapshot(session: Session, centre: Centre, websocket: WebSocket) -> dict[str, Any]:
    settings = websocket.app.state.settings
    now = websocket.app.state.clock()
    status = centre_status(session, centre=centre, now=now, always_open=settings.always_open)
    services = services_of(session, centre_id=centre.id or 0)
    message = current_message(session, centre=centre, now=now)
    return {
        "type": "snapshot",
        "seq": last_seq(session, centre_id=centre.id or 0),
        "centre": {"code": centre.code, "name": {"ar": centre.name_ar, "en": centre.name_en}},
        "services": {s.code: {"ar": s.name_ar, "en": s.name_en} for s in services},
        "now_serving": [row.model_dump() for row in status.now_serving],
        "recent": [
            event_message(e, centre_code=centre.code)
            # Enough to fill the list once recalls are folded into their number's row.
            for e in recent_calls(session, centre_id=centre.id or 0, limit=16)
        ],
        "waiting": {
            row.code: {"waiting": row.waiting, "estimated_wait_s": row.estimated_wait_s}
            for row in status.services
        },
        # After a reload too, a message still shows (and one that ended does not).
        "hall_message": message.model_dump(mode="json") if message else None,
    }


async def display_socket(websocket: WebSocket) -> None:
    """/ws/centres/{centre}/display: a snapshot, then every event of the centre with its seq."""
    code = websocket.path_params["centre"]
    hub: Hub = websocket.app.state.hub

    async def run(ws: WebSocket) -> str | None:
        # A code no database stores is no centre's, and PostgreSQL would refuse the lookup.
        centre = await _read(ws, lambda s: find_centre(s, code=code)) if storable(code) else None
        if centre is None:
            return f"unknown centre {code}"
        async with hub.subscribe(centre_id=centre.id, centre_code=centre.code) as subscriber:
            snapshot = await _read(ws, partial(_snapshot, centre=centre, websocket=ws))
            since = snapshot["seq"]
            text = json.dumps(snapshot, ensure_ascii=False, default=str)
            # A connection lives for days: keep only what the loop needs, so thousands of screens
            # hold few objects (fewer for the garbage collector to walk).
            del snapshot, centre
            await ws.send_text(text)
            del text
            while True:
                delivery = await subscriber.queue.get()
                if delivery is OVERFLOW:
                    await ws.close(TRY_AGAIN_LATER, reason="too slow; reconnect for a fresh snapshot")
                    return None
                if delivery.seq > since:
                    await ws.send_text(delivery.text)

    await _serve(websocket, run, kind="display")


async def ticket_socket(websocket: WebSocket) -> None:
    """/ws/tickets/{token}: the ticket's view whenever its place, status or counter changes."""
    token = websocket.path_params["token"]
    state = websocket.app.state
    hub: Hub = state.hub

    def view(session: Session, centre: Centre) -> dict[str, Any]:
        current = find_ticket(session, token=token)
        assert current is not None
        out = ticket_view(
            session,
            current,
            centre=centre,
            policy=state.policy,
            base_url=state.settings.base_url,
            now=state.clock(),
        )
        return {"type": "update", **out.model_dump(mode="json", exclude={"token", "tracking_url"})}

    async def run(ws: WebSocket) -> str | None:
        ticket = await _read(ws, lambda s: find_ticket(s, token=token)) if storable(token) else None
        if ticket is None:
            return "unknown ticket"
        centre = await _read(ws, lambda s: s.get(Centre, ticket.centre_id))
        async with hub.subscribe(centre_id=centre.id, centre_code=centre.code) as subscriber:
            last = await _read(ws, lambda s: view(s, centre))
            await ws.send_text(json.dumps(last, ensure_ascii=False))
            while True:
                delivery = await subscriber.queue.get()
                if delivery is OVERFLOW:
                    await ws.close(TRY_AGAIN_LATER, reason="too slow; reconnect")
                    return None
                if delivery.type not in MOVES:
                    continue
                while not subscriber.queue.empty():  # one recomputation for a burst of events
                    if subscriber.queue.get_nowait() is OVERFLOW:
                        await ws.close(TRY_AGAIN_LATER, reason="too slow; reconnect")
                        return None
                update = await _read(ws, lambda s: view(s, centre))
                if update != last:
                    last = update
                    await ws.send_text(json.dumps(update, ensure_ascii=False))

    await _serve(websocket, run, kind="ticket")


routes = [
    WebSocketRoute("/ws/centres/{centre}/display", display_socket),
    WebSocketRoute("/ws/tickets/{token}", ticket_socket),
]
