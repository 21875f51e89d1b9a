"""The clients of bench/ws_peaks.py, and its baseline server.

A seat is one logical subscriber (a hall display or a ticket tracker): it keeps every message with its
arrival time across its connections, and may reconnect with the pages' policy. A client process holds
thousands of seats (a `Crowd`); the driver commands its processes through `Crowds`. The baseline is a
bare `websockets` server that groups its connections as Dor does and broadcasts texts of Dor's sizes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import socket
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websocket_fanout import HOST, Clients, Server, Subscriber, handshake, raise_fd_limit, start_server

# The reconnect policy of the pages (full jitter): the first attempt after a loss at random 0..5 s,
# then random(0, min(30 s, 1 s * 2^n)) after the n-th failed one.
FIRST_RETRY_S = 5.0
RETRY_CAP_S = 30.0
CONNECT_TIMEOUT_S = 30.0
SNAPSHOT_TIMEOUT_S = 90.0  # a seat whose first message takes longer gives up and tries again


# --- the client: seats that keep every message ---------------------------------------------------


@dataclass(eq=False)
class Seat:
    """One subscriber across its connections: what it received, when, and how long it was without."""

    path: str
    address: str
    connection: int = 0  # the current connection's number
    messages: list[tuple[float, int, bytes]] = field(default_factory=list)  # (arrival, connection, text)
    started: float = 0.0  # when its first connection began
    peer: Peer | None = None
    lost_at: float | None = None  # when it lost its socket, until a new first message arrives
    losses: int = 0
    attempts: int = 0
    waits: list[float] = field(default_factory=list)  # from a loss to the next first message, seconds


class Peer(Subscriber):
    """One connection of a seat (the fan-out bench's protocol); every message kept as it arrived."""

    def __init__(self, seat: Seat, request: bytes, crowd: Crowd) -> None:
        super().__init__(request, False, crowd)  # type: ignore[arg-type]  # only `armed` is read
        self.seat = seat
        self.crowd = crowd
        self.number = seat.connection

    def message(self, payload: bytes, now: float) -> None:
        seat = self.seat
        seat.messages.append((now, self.number, self.inflate(payload)))
        if not self.ready.done():
            if seat.lost_at is not None:
                seat.waits.append(now - seat.lost_at)
                seat.lost_at = None
            self.ready.set_result(True)

    def connection_lost(self, exc: Exception | None) -> None:
        had_message = self.ready.done() and self.ready.result()
        super().connection_lost(exc)
        seat = self.seat
        if seat.peer is not self:
            return
        seat.peer = None
        if had_message:
            seat.losses += 1
            seat.lost_at = time.time()
            if self.crowd.reconnect and not self.crowd.stopping:
                self.crowd.tasks.add(asyncio.ensure_future(self.crowd.rejoin(seat)))


class Crowd:
    """The seats of one client process."""

    def __init__(self) -> None:
        self.seats: list[Seat] = []
        self.ports: list[int] = []  # the servers a load balancer would send a new connection to
        self.compression = True
        self.reconnect = False
        self.stopping = False
        self.armed = False  # read by Subscriber: never, here (every chunk is parsed as it comes)
        self.tasks: set[asyncio.Future[Any]] = set()

    async def attempt(self, seat: Seat, port: int, timeout: float) -> bool:
        """One connection of the seat to `port`; True once its first message arrived."""
        loop = asyncio.get_running_loop()
        seat.connection += 1
        seat.attempts += 1
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            sock.bind((seat.address, 0))
            await asyncio.wait_for(loop.sock_connect(sock, (HOST, port)), CONNECT_TIMEOUT_S)
            request = handshake(port, seat.path, self.compression)
            _, peer = await loop.create_connection(lambda: Peer(seat, request, self), sock=sock)
        except (OSError, TimeoutError):
            sock.close()
            return False
        seat.peer = peer
        try:
            return await asyncio.wait_for(asyncio.shield(peer.ready), timeout)
        except TimeoutError:
            peer.abort()
            return False

    async def rejoin(self, seat: Seat) -> None:
        """Reconnects with the pages' policy (full jitter) to a random server among those accepting."""
        failures = 0
        delay = random.uniform(0, FIRST_RETRY_S)
        while not self.stopping:
            await asyncio.sleep(delay)
            if self.stopping or not self.ports:
                return
            if await self.attempt(seat, random.choice(self.ports), SNAPSHOT_TIMEOUT_S):
                return
            failures += 1
            delay = random.uniform(0, min(RETRY_CAP_S, 2.0**failures))

    async def open(self, specs: list[tuple[str, str, int]], gate: int, timeout: float) -> dict[str, Any]:
        """Connects new seats (path, source address, port): all at once, or `gate` at a time."""
        semaphore = asyncio.Semaphore(gate) if gate else contextlib.nullcontext()
        failures = 0
        seats = [Seat(path, address) for path, address, _ in specs]
        self.seats.extend(seats)

        async def one(seat: Seat, port: int) -> None:
            nonlocal failures
            async with semaphore:  # type: ignore[attr-defined]
                seat.started = time.time()
                if not await self.attempt(seat, port, timeout):
                    failures += 1

        await asyncio.gather(*(one(seat, port) for seat, (_, _, port) in zip(seats, specs, strict=True)))
        return {"opened": len(seats) - failures, "failures": failures}

    def close(self) -> int:
        self.stopping, self.reconnect = True, False
        for task in self.tasks:
            task.cancel()
        count = 0
        for seat in self.seats:
            if seat.peer is not None and seat.peer.transport is not None:
                seat.peer.transport.abort()
                count += 1
        self.seats, self.tasks = [], set()
        self.stopping = False
        return count

    # --- what the driver asks for once the traffic is over ---

    def first_times(self) -> list[tuple[float, float | None]]:
        """Per seat: when it began connecting, and when its first message arrived."""
        return [(s.started, s.messages[0][0] if s.messages else None) for s in self.seats]

    def samples(self) -> dict[str, str]:
        """The first message of a display and of a tracker, and the last of each (texts)."""
        out: dict[str, str] = {}
        for seat in self.seats:
            kind = "display" if "/display" in seat.path else "tracker"
            if seat.messages:
                out.setdefault(f"{kind}_first", seat.messages[0][2].decode())
                if len(seat.messages) > 1:
                    out.setdefault(f"{kind}_later", seat.messages[-1][2].decode())
        return out

    def newest(self) -> float:
        """When the newest message arrived (0 without any)."""
        return max((s.messages[-1][0] for s in self.seats if s.messages), default=0.0)

    def live(self) -> int:
        return sum(s.peer is not None and not s.peer.lost for s in self.seats)

    def called(self) -> list[dict[str, Any]]:
        """The calls the displays saw: one per (centre, seq)."""
        seen: dict[tuple[str, int], dict[str, Any]] = {}
        for seat in self.seats:
            if "/display" not in seat.path:
                continue
            for _, _, text in seat.messages:
                if b'"called"' not in text:
                    continue
                event = json.loads(text)
                if event.get("type") == "called":
                    seen.setdefault((event["centre"], event["seq"]), event)
        return list(seen.values())

    def behind(self, last: dict[str, int]) -> int:
        """Displays that have not yet received their centre's event `last[centre]` (or newer)."""
        count = 0
        for seat in self.seats:
            centre = display_centre(seat.path)
            if centre is None or centre not in last:
                continue
            newest = max((json.loads(t).get("seq", -1) for _, _, t in seat.messages[-3:]), default=-1)
            count += newest < last[centre]
        return count

    def deliveries(self, calls: list[dict[str, Any]], trackers: dict[str, tuple[str, str]]) -> dict[str, Any]:
        """Per call: its subscribers' delays from the event's `at` (displays: the event; trackers of the
        called service's queue: the first view after it with a lower position or no longer waiting)."""
        by_centre: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for call in calls:
            by_centre[call["centre"]].append(call)
        last: dict[int, float] = {}  # call index -> latest arrival
        count: Counter[int] = Counter()
        missing: Counter[int] = Counter()
        delays: list[float] = []
        tracker_delays: list[float] = []
        for seat in self.seats:
            centre = display_centre(seat.path)
            if centre is not None:
                times: dict[int, float] = {}
                for at, _, text in seat.messages:
                    message = json.loads(text)
                    if message.get("type") != "snapshot":
                        times.setdefault(message["seq"], at)
                first_seq = json.loads(seat.messages[0][2]).get("seq", 0) if seat.messages else 1 << 60
                for call in by_centre[centre]:
                    if call["seq"] <= first_seq:
                        continue
                    arrived = times.get(call["seq"])
                    if arrived is None:
                        missing[call["index"]] += 1
                        continue
                    delay = arrived - call["at_ts"]
                    delays.append(delay)
                    count[call["index"]] += 1
                    last[call["index"]] = max(last.get(call["index"], 0.0), delay)
                continue
            token = seat.path.rsplit("/", 1)[1]
            centre, service = trackers[token]
            views = [(at, json.loads(text)) for at, _, text in seat.messages]
            for call in by_centre[centre]:
                if call["service"] != service:
                    continue
                before = [v for at, v in views if at < call["at_ts"]]
                if not before or before[-1].get("status") != "waiting":
                    continue
                position = before[-1].get("position") or 0
                moved = next(
                    (
                        at
                        for at, v in views
                        if at >= call["at_ts"]
                        and (v.get("status") != "waiting" or (v.get("position") or 0) < position)
                    ),
                    None,
                )
                if moved is None:
                    missing[call["index"]] += 1
                    continue
                delay = moved - call["at_ts"]
                tracker_delays.append(delay)
                count[call["index"]] += 1
                last[call["index"]] = max(last.get(call["index"], 0.0), delay)
        return {
            "last": last,
            "count": dict(count),
            "missing": dict(missing),
            "delays": delays,
            "tracker_delays": tracker_delays,
        }

    def baseline_deliveries(self) -> dict[str, Any]:
        """The baseline's texts carry their call's seq and `at`: per seq, the latest delay."""
        last: dict[int, float] = {}
        count: Counter[int] = Counter()
        delays: dict[bool, list[float]] = {True: [], False: []}
        for seat in self.seats:
            display = display_centre(seat.path) is not None
            for arrived, _, text in seat.messages[1:]:
                message = json.loads(text)
                delay = arrived - datetime.fromisoformat(message["at"]).timestamp()
                seq = message["seq"]
                delays[display].append(delay)
                count[seq] += 1
                last[seq] = max(last.get(seq, 0.0), delay)
        return {"last": last, "count": dict(count), "delays": delays[True], "tracker_delays": delays[False]}

    def resumed(self) -> dict[str, Any]:
        """After a restart: the seats that lost their socket, and whether and how fast they resumed."""
        lost = [s for s in self.seats if s.losses]
        return {
            "lost": len(lost),
            "resumed": sum(s.lost_at is None and s.peer is not None for s in lost),
            "waits": [w for s in lost for w in s.waits],
            "attempts": sum(s.attempts - 1 for s in lost),
            "still_without": [time.time() - s.lost_at for s in lost if s.lost_at is not None],
        }

    def verify(self, calls: list[dict[str, Any]]) -> dict[str, Any]:
        """Displays: calls missed (no event with its seq, no snapshot at or past it) and gaps in seq
        after a snapshot. Trackers: their last view, for the driver to compare with a fresh GET."""
        by_centre: dict[str, list[int]] = defaultdict(list)
        for call in calls:
            by_centre[call["centre"]].append(call["seq"])
        missed = gaps = displays = 0
        examples: list[str] = []
        finals: dict[str, dict[str, Any]] = {}
        for seat in self.seats:
            centre = display_centre(seat.path)
            if centre is None:
                if seat.messages:
                    finals[seat.path.rsplit("/", 1)[1]] = json.loads(seat.messages[-1][2])
                continue
            displays += 1
            delivered: set[int] = set()
            snapshots: list[int] = []
            expected: int | None = None
            gap = False
            for _, _, text in seat.messages:
                message = json.loads(text)
                if message.get("type") == "snapshot":
                    snapshots.append(message["seq"])
                    expected = message["seq"] + 1
                    continue
                if expected is not None and message["seq"] != expected:
                    gap = True
                delivered.add(message["seq"])
                expected = message["seq"] + 1
            gaps += gap
            first = snapshots[0] if snapshots else 1 << 60
            newest_snapshot = max(snapshots, default=-1)
            for seq in by_centre[centre]:
                if seq > first and seq not in delivered and newest_snapshot < seq:
                    missed += 1
                    if len(examples) < 5:
                        examples.append(f"{seat.path} seq {seq}")
        return {"displays": displays, "missed": missed, "gaps": gaps, "examples": examples, "finals": finals}


def display_centre(path: str) -> str | None:
    """The centre of a display's path (Dor's or the baseline's), None for a tracker."""
    parts = path.split("/")
    if path.startswith("/ws/centres/"):
        return parts[3]
    if path.startswith("/display/"):
        return parts[2]
    return None


def peaks_worker(pipe: Connection) -> None:
    """A client process: runs the driver's commands on its own event loop until told to exit."""
    raise_fd_limit()
    import uvloop

    async def main() -> None:
        loop = asyncio.get_running_loop()
        crowd = Crowd()
        commands: asyncio.Queue[Any] = asyncio.Queue()

        def read() -> None:
            # The loop made the pipe non-blocking: a command larger than the pipe's buffer (thousands
            # of seats) must still be read whole.
            os.set_blocking(pipe.fileno(), True)
            try:
                commands.put_nowait(pipe.recv())
            except EOFError:  # the driver is gone
                os._exit(0)

        loop.add_reader(pipe.fileno(), read)
        while True:
            name, *args = await commands.get()
            result: Any = None
            if name == "exit":
                crowd.close()
                pipe.send(None)
                return
            if name == "open":
                result = await crowd.open(*args)
            elif name == "settings":
                crowd.ports, crowd.compression, crowd.reconnect = args
            elif name == "close":
                result = crowd.close()
                await asyncio.sleep(0.2)
            else:
                result = getattr(crowd, name)(*args)
            pipe.send(result)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())


class Crowds(Clients):
    """The client processes of this bench: seats split evenly between them."""

    def __init__(self, processes: int) -> None:
        super().__init__(processes, peaks_worker)

    def settings(self, ports: list[int], compression: bool, reconnect: bool) -> None:
        self.call("settings", ports, compression, reconnect)

    def open(  # type: ignore[override]
        self, specs: list[tuple[str, str, int]], gate: int, timeout: float
    ) -> tuple[int, int]:
        count = len(self.pipes)
        each = [(specs[i::count], gate, timeout) for i in range(count)]
        replies = self.call("open", each=each, timeout=timeout + 3600)
        return sum(r["opened"] for r in replies), sum(r["failures"] for r in replies)

    def gather(self, name: str, *args: Any, timeout: float = 300) -> list[Any]:
        return self.call(name, *args, timeout=timeout)


def seat_specs(paths: list[str], ports: list[int], addresses: list[str], per_address: int) -> list[Any]:
    """Each path with a source address (at most `per_address` each) and a port (in turn)."""
    return [(path, addresses[i // per_address], ports[i % len(ports)]) for i, path in enumerate(paths)]


# --- the baseline server -------------------------------------------------------------------------


def serve_baseline(port: int, texts_file: str) -> None:
    """websockets' own server: on connect it sends a display the snapshot's text and a tracker the
    view's; GET /publish?centre=&service=&seq= broadcasts the event's text to the centre's displays
    and the view's (with that seq and `at`) to the centre's trackers of the service."""
    import uvloop
    from websockets.asyncio.server import ServerConnection, broadcast, serve
    from websockets.http11 import Request, Response

    texts = json.loads(Path(texts_file).read_text())
    groups: dict[str, set[ServerConnection]] = defaultdict(set)

    async def handler(connection: ServerConnection) -> None:
        assert connection.request is not None
        parts = connection.request.path.strip("/").split("/")
        key = ":".join(parts)
        groups[key].add(connection)
        try:
            await connection.send(texts["display_first" if parts[0] == "display" else "tracker_first"])
            await connection.wait_closed()
        finally:
            groups[key].discard(connection)

    def stamped(text: str, seq: int) -> str:
        message = json.loads(text)
        message.update(seq=seq, at=datetime.now(UTC).isoformat())  # as Dor's clock, just before
        return json.dumps(message, ensure_ascii=False)

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path == "/healthz":
            return connection.respond(200, "ok\n")
        if url.path == "/publish":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            seq = int(query["seq"])
            displays = groups[f"display:{query['centre']}"]
            trackers = groups[f"tracker:{query['centre']}:{query['service']}"]
            broadcast(displays, stamped(texts["display_later"], seq))
            broadcast(trackers, stamped(texts["tracker_later"], seq))
            return connection.respond(200, f"{len(displays) + len(trackers)}\n")
        return None

    async def main() -> None:
        # The backlog of `dor serve` (the fan-out baseline above keeps the 2,048 it was measured with).
        async with serve(handler, HOST, port, process_request=process_request, backlog=4096) as server:
            await server.serve_forever()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner, contextlib.suppress(KeyboardInterrupt):
        runner.run(main())  # until the driver's SIGINT


def start_baseline(name: str, texts: dict[str, str], folder: Path, port: int) -> Server:
    texts_file = folder / "baseline-texts.json"
    texts_file.write_text(json.dumps(texts, ensure_ascii=False))
    command = [sys.executable, str(Path(__file__).resolve().parent / "websocket_fanout.py")]
    command += ["--serve-peaks-baseline", str(texts_file)]
    return start_server(name, command, dict(os.environ), folder, port)
