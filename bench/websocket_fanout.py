"""One call fanned out to N hall-display websockets, beside a bare `websockets.broadcast()` server.

    .venv/bin/python bench/websocket_fanout.py [--subscribers 1000 4000] [--rounds 10]
        [--client-processes 2] [--compression deflate|none] [--no-stall | --stall-at N]
        [--time-limit 290]

For each N it starts Dor as a real process (`server.cli migrate`, `seed --demo` on a temporary SQLite
file, then `serve` with DOR_DEV=1, DOR_ALWAYS_OPEN=true, DOR_LOG_LEVEL=WARNING) and, as the baseline,
a minimal server of the `websockets` library (uvloop, like uvicorn under `dor serve`) that holds the
connections and sends one text to all of them with `websockets.broadcast()`. Each server gets a fresh
process per N, so its memory figure starts from the same point.

Subscribers are spread over `--client-processes` client processes (each its own uvloop loop) and
connect from many loopback source addresses (127.1.0.1, 127.1.0.2, ...; at most `--per-address` each,
since Dor refuses more than 50 sockets per address). The client is the same for both systems: a small
asyncio protocol that does the websocket handshake itself (offering permessage-deflate as Chromium
does, unless `--compression none`) and stamps every chunk of bytes with time.time() the moment it
reaches the client process. During a round the chunks are only stamped and kept; they are parsed once
every subscriber has one, so that parsing does not delay other subscribers' stamps. A subscriber is
ready when its first message arrived (Dor: the snapshot; baseline: a hello). Both servers keep their
N connections open at once and their rounds alternate, so that both see the same machine load.

A round is one call:
- Dor: POST /api/v1/centres/DAM-01/tickets as the DAM-01 kiosk; the "issued" event goes to every
  display subscriber. t0 = the event's own "at" (Dor's clock when it logged the event, inside the
  write transaction: so Dor's figures include its commit, fsync included, and its feed's read of the
  log). The 201 is no usable t0: the kiosk's answer needs one more database read after the publish,
  and it often reaches the client after the last screen did.
- baseline: GET /publish?seq=S; the server writes the current time into the "at" of the text Dor sent
  in its warm-up (and S into its seq) and calls broadcast() at once. t0 = that "at".
Latency of a subscriber = its receive time - t0 (one machine, one clock). Per round: first and last
delivery; over all rounds: p50 and p99 of every subscriber's latency. Per-subscriber cost = median
last delivery / N (the project's definition); "fan-out" cost = (that - the median last delivery with
the 10 warm-up subscribers) / N, which leaves out what an event costs whatever N (Dor: commit, the
feed's read). Server CPU per delivery = (the server's CPU time in a round - in a round with the 10
warm-up subscribers) / N, a steadier figure than wall time on a noisy machine.

Memory: VmRSS of the server process (/proc/<pid>/status) after a warm-up and before opening the N
connections, and again once they are all open and idle; the difference / N.

Stalled subscriber (Dor only, at the largest N or `--stall-at`): after the measured rounds, one more
client connects with a 1 KiB receive buffer, pauses reading right after the handshake and never reads
again. Dor's events are small (about 20 bytes each once compressed), so to fill its TCP buffer in
bounded time the client sends a burst of 125-byte pings: the server answers each with a pong it cannot
deliver, until the server-side socket's send queue (/proc/net/tcp) stops growing and another 128 KiB
waits in the server process, above asyncio's 64 KiB high-water mark (Dor's sender for that screen now
blocks). Then the same rounds run again ("with"), the stalled client is dropped, and the rounds run a
third time ("without, after"). The target compares the others' p99 with the stalled client against
the mean of the runs without it. Dor gives up on a blocked send after 10 s (SEND_TIMEOUT_S) and
uvicorn closes a socket that leaves a ping unanswered for 20 s, so the "with" rounds start right after
the fill; the report says how long after its connection they ended.

Targets (the project's): per-subscriber cost <= 3x the baseline's; last delivery at 4,000 <= 250 ms;
a stalled subscriber leaves the others' p99 within 20 % of the run without it. All traffic goes to
127.0.0.0/8; every wait has a timeout and the whole run stops after `--time-limit` seconds.

National peaks (issue #37; the code is in bench/ws_peaks.py and bench/ws_clients.py, beside this file):

    .venv/bin/python bench/websocket_fanout.py --storm [4000] [--storm-database sqlite|postgresql]
        [--national] [--rolling-restart]
        [--centres 40] [--displays 100] [--trackers 400] [--national-seconds 60] [--call-interval 0.25]

--storm N: one Dor process on SQLite (or `--storm-database postgresql`; the demo seeded, N/2 waiting
tickets issued in-process through Dor's engine); N subscribers connect at once, half hall displays
over the 4 demo centres, half trackers of distinct waiting tickets. Figure: from the first connect
to the last first message (snapshot or view), and p50/p99 per subscriber. Baseline: a bare
`websockets` server accepting the same N and sending each, on connect, a text of the size Dor's
first message had. Targets: <= 10 s, <= 4x the baseline.

--national: 2 Dor processes (`server.cli serve`) on a throwaway PostgreSQL database, Redis db 11 as
the bus, one secret key, DOR_JOBS=false on the second; 40 centres copied from the demo's
(NAT-01..NAT-40, one agent each), and per centre 100 displays and 400 trackers, each tracker on its
own waiting ticket of a service of counter 1 (20,000 subscribers, half on each process). Each centre's
agent, in turn, one every 250 ms (each centre every 10 s), finishes the ticket in hand (start,
finish) and calls the next one at counter 1. Per call, the delay from the "called" event's `at` to
each subscriber's message: displays of the centre, the event; trackers of the called service's queue,
their first view after it with a lower position (or no longer waiting). Figure: p50/p99 over the
calls of each call's last delivery; VmRSS of each process before and after opening the connections
(idle), the difference per connection. Baseline: 2 bare `websockets` processes holding the same
connections, grouped the same way, broadcasting texts of Dor's sizes for the same calls at the same
rate. Targets: p99 last delivery <= 500 ms; <= 40 KiB per idle connection; no process over 1 GiB.

--rolling-restart (after the national rounds, same setup): the first process is replaced while the
calls go on, as docs/operations.md says to restart: its successor starts on another port and joins
the load balancer once it answers /healthz, then the old one gets SIGTERM. Its clients reconnect with
full jitter, the pages' policy: the first attempt at random 0..5 s after the loss, then random(0,
min(30 s, 1 s * 2^n)) after the n-th failed one (failed: no first message), each to a random process
among those up. Figures: subscribers resumed,
the wait from losing the socket to the new snapshot or view (p99, longest), and missed calls: a
display missed a call when neither its event nor a snapshot at or past its seq reached it, or when,
after a snapshot, its deltas skip a seq; a tracker's last view must equal a fresh
GET /api/v1/tickets/{token} (status, position, ahead, counter). Targets: all resumed, none waits
more than 15 s, 0 missed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import http.client
import json
import multiprocessing
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
CENTRE = "DAM-01"
DISPLAY_PATH = f"/ws/centres/{CENTRE}/display"
TICKETS_PATH = f"/api/v1/centres/{CENTRE}/tickets"
ISSUE_BODY = json.dumps({"service": "CR", "channel": "kiosk"}).encode()
KIOSK_HEADERS = {"Authorization": f"Bearer demo-kiosk-{CENTRE}", "Content-Type": "application/json"}
TICKS = os.sysconf("SC_CLK_TCK")
SEQ = re.compile(rb'"seq":\s*(\d+)')
AT = re.compile(rb'"at":\s*"([^"]+)"')
TARGET_COST_RATIO = 3.0
TARGET_LAST_MS_AT_4000 = 250.0
TARGET_STALL_P99 = 1.20
STALL_RCVBUF = 1024
PING_PAYLOAD = b"p" * 125  # the largest control frame
PING_FRAME = bytes([0x89, 0x80 | 125]) + b"\0\0\0\0" + PING_PAYLOAD  # masked with a zero key
PONG_BYTES = 2 + 125
HIGH_WATER = 64 * 1024  # asyncio's (and uvloop's) default write-buffer high-water mark
STARTUP_TIMEOUT_S = 60.0
OPEN_TIMEOUT_S = 120.0
ROUND_TIMEOUT_S = 15.0
ROUND_GAP_S = 0.3
WARMUP_ROUNDS = 6  # with 10 subscribers, before opening the N; the last 5 measure the cost per event
SETTLE_S = 1.0


class Deadline(Exception):
    """The run's time limit passed."""


# --- the client: one process, many subscribers -------------------------------------------------


class Subscriber(asyncio.Protocol):
    """One websocket subscriber; every frame is stamped when its bytes arrive.

    While a round is on (the pool is armed) the bytes are only stamped and kept, and parsed once every
    subscriber has some: the client then costs little more than the kernel's and the loop's work per
    message while the server fans out, and a subscriber's stamp does not wait for others' parsing.
    """

    def __init__(self, request: bytes, stall: bool, pool: Pool) -> None:
        self.request = request
        self.stall = stall
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.buffer = b""
        self.open = False
        self.deflate = False
        self.inflater: Any = None
        self.fragments: list[bytes] = []
        self.compressed = False
        self.times: dict[int, float] = {}  # seq -> when it arrived
        self.last_seq = -1
        self.close_code: int | None = None
        self.lost = False
        self.chunks: list[tuple[float, bytes]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if not self.ready.done():
            self.ready.set_result(False)

    def data_received(self, data: bytes) -> None:
        self.chunks.append((time.time(), data))
        if not (self.open and self.pool.armed):
            self.drain()

    def drain(self) -> None:
        """Parses the bytes received so far, each chunk with its arrival time."""
        chunks, self.chunks = self.chunks, []
        for now, data in chunks:
            if not self.lost and self.close_code is None:
                self.feed(data, now)

    def feed(self, data: bytes, now: float) -> None:
        buf = self.buffer + data if self.buffer else data
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buf
                return
            status, *headers = buf[:end].decode("latin-1").split("\r\n")
            buf = buf[end + 4 :]
            if status.split()[1:2] != ["101"]:
                self.close_code = -int(status.split()[1])
                self.abort()
                return
            for line in headers:
                name, _, value = line.partition(":")
                if name.strip().lower() == "sec-websocket-extensions" and "permessage-deflate" in value:
                    self.deflate = True
            self.open = True
            if self.stall:
                assert self.transport is not None
                self.transport.pause_reading()  # and never again: what arrives stays in the kernel
                self.buffer = b""
                self.ready.set_result(True)
                return
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, head = b1 & 0x7F, pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), pos + 10
            end = head + length
            if end > size:
                break
            payload, pos = buf[head:end], end
            opcode = b0 & 0x0F
            if opcode in (0, 1, 2):
                if opcode:
                    self.compressed, self.fragments = bool(b0 & 0x40), [payload]
                else:
                    self.fragments.append(payload)
                if b0 & 0x80:
                    self.message(b"".join(self.fragments) if len(self.fragments) > 1 else payload, now)
            elif opcode == 9:  # ping: answer with a pong carrying its payload (zero mask key)
                assert self.transport is not None
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
            elif opcode == 8:
                self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                self.abort()
                return
        self.buffer = buf[pos:]

    def inflate(self, payload: bytes) -> bytes:
        """A message's text, decompressed if it came compressed (permessage-deflate)."""
        if self.compressed:
            if self.inflater is None:
                self.inflater = zlib.decompressobj(-15)
            payload = self.inflater.decompress(payload + b"\x00\x00\xff\xff")
        return payload

    def message(self, payload: bytes, now: float) -> None:
        payload = self.inflate(payload)
        found = SEQ.search(payload)
        seq = int(found.group(1)) if found else -1
        if seq not in self.pool.published:
            at = AT.search(payload)
            self.pool.published[seq] = datetime.fromisoformat(at.group(1).decode()).timestamp() if at else 0
        self.times.setdefault(seq, now)
        self.last_seq = max(self.last_seq, seq)
        self.pool.sample = payload
        if not self.ready.done():
            self.ready.set_result(True)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()
        if not self.ready.done():
            self.ready.set_result(False)


def handshake(port: int, path: str, compression: bool) -> bytes:
    """A websocket upgrade request, offering permessage-deflate as Chromium does when `compression`."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {HOST}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if compression:
        lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass
class Pool:
    """The subscribers of one client process to one server."""

    port: int
    path: str
    compression: bool
    subscribers: list[Subscriber] = field(default_factory=list)
    stalled: list[Subscriber] = field(default_factory=list)
    sample: bytes = b""
    armed: bool = False  # a round is on: stamp now, parse later
    published: dict[int, float] = field(default_factory=dict)  # seq -> its "at", as a timestamp

    def live(self) -> list[Subscriber]:
        return [s for s in self.subscribers if not s.lost and s.close_code is None]

    def handshake(self, stall: bool) -> bytes:
        return handshake(self.port, self.path, self.compression and not stall)

    async def open(self, addresses: list[str], per_address: int, count: int, stall: bool) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        gate = asyncio.Semaphore(64)
        failures: Counter[str] = Counter()
        opened: list[Subscriber] = []

        async def one(address: str) -> None:
            async with gate:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                try:
                    if stall:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALL_RCVBUF)
                    sock.setblocking(False)
                    sock.bind((address, 0))
                    await asyncio.wait_for(loop.sock_connect(sock, (HOST, self.port)), 30)
                    _, sub = await loop.create_connection(
                        lambda: Subscriber(self.handshake(stall), stall, self), sock=sock
                    )
                except (OSError, TimeoutError) as exc:
                    sock.close()
                    failures[type(exc).__name__] += 1
                    return
                try:
                    ok = await asyncio.wait_for(sub.ready, 60)
                except TimeoutError:
                    ok = False
                if ok:
                    opened.append(sub)
                else:
                    failures[f"close {sub.close_code}"] += 1
                    sub.abort()

        await asyncio.gather(*(one(addresses[i // per_address]) for i in range(count)))
        (self.stalled if stall else self.subscribers).extend(opened)
        stalled = [s.transport.get_extra_info("sockname") for s in opened if stall and s.transport]
        return {"opened": len(opened), "failures": dict(failures), "stalled": stalled}

    async def collect(self, after: int, timeout: float) -> dict[str, Any]:
        """Waits until every live subscriber has a message newer than `after`; its arrival times."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        subs = self.live()
        lacking = subs
        while lacking and loop.time() < deadline:
            while loop.time() < deadline and not all(s.chunks or s.lost for s in lacking):
                await asyncio.sleep(0.002)
            for s in lacking:
                s.drain()
            lacking = [s for s in lacking if s.last_seq <= after and not s.lost]
        self.armed = False
        for s in subs:
            s.drain()
        times, seqs, missing = [], Counter[int](), 0
        for s in subs:
            newer = [seq for seq in s.times if seq > after]
            if not newer:
                missing += 1
                continue
            seq = min(newer)
            seqs[seq] += 1
            times.append(s.times[seq])
            for old in [k for k in s.times if k < seq]:
                del s.times[old]
        published = {seq: self.published.get(seq, 0.0) for seq in seqs}
        return {"times": times, "seqs": dict(seqs), "missing": missing, "published": published}

    def stats(self) -> dict[str, Any]:
        codes = Counter(str(s.close_code) for s in self.subscribers if s.close_code is not None)
        lost = sum(s.lost and s.close_code is None for s in self.subscribers)
        return {"live": len(self.live()), "closed": dict(codes), "lost": lost}

    def ping_stalled(self, count: int) -> int:
        for s in self.stalled:
            assert s.transport is not None
            s.transport.write(PING_FRAME * count)
        return len(self.stalled)

    def close(self, stalled_only: bool = False) -> int:
        victims = self.stalled if stalled_only else self.subscribers + self.stalled
        for s in victims:
            if s.transport is not None:
                s.transport.abort()
        self.stalled = []
        if not stalled_only:
            self.subscribers = []
        return len(victims)


def client_worker(pipe: Connection) -> None:
    """A client process: runs the driver's commands on its own event loop until told to exit."""
    raise_fd_limit()
    import uvloop

    async def main() -> None:
        loop = asyncio.get_running_loop()
        pools: dict[str, Pool] = {}  # one per server
        commands: asyncio.Queue[Any] = asyncio.Queue()

        def read() -> None:
            try:
                commands.put_nowait(pipe.recv())
            except EOFError:  # the driver is gone
                os._exit(0)

        loop.add_reader(pipe.fileno(), read)
        while True:
            name, group, *args = await commands.get()
            if name == "exit":
                for pool in pools.values():
                    pool.close()
                pipe.send(None)
                return
            if name == "target":
                pools[group] = Pool(*args)
                result: Any = None
                pipe.send(result)
                continue
            pool = pools[group]
            if name == "open":
                result = await pool.open(*args)
            elif name == "arm":
                pool.armed = True
                result = None
            elif name == "collect":
                result = await pool.collect(*args)
            elif name == "stats":
                result = pool.stats()
            elif name == "last_seq":
                result = max((s.last_seq for s in pool.live()), default=-1)
            elif name == "sample":
                result = pool.sample.decode()
            elif name == "ping_stalled":
                result = pool.ping_stalled(*args)
            elif name == "close":
                result = pool.close(*args)
                await asyncio.sleep(0.2)
            else:
                raise ValueError(name)
            pipe.send(result)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())


class Clients:
    """The client processes, driven by commands over pipes; subscribers split evenly between them.

    Subscribers belong to a group (one per server), so that both servers keep their connections open
    and their rounds can alternate.
    """

    def __init__(self, processes: int, worker: Callable[[Connection], None] | None = None) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.processes = []
        for _ in range(processes):
            mine, theirs = context.Pipe()
            process = context.Process(target=worker or client_worker, args=(theirs,), daemon=True)
            process.start()
            self.pipes.append(mine)
            self.processes.append(process)
        self.next_address = 0

    def call(
        self, *command: Any, each: list[tuple[Any, ...]] | None = None, timeout: float = 60
    ) -> list[Any]:
        for i, pipe in enumerate(self.pipes):
            pipe.send((*command, *(each[i] if each else ())))
        results = []
        for pipe in self.pipes:
            if not pipe.poll(timeout):
                raise TimeoutError(f"client process did not answer {command[0]!r} within {timeout:.0f} s")
            results.append(pipe.recv())
        return results

    def addresses(self, count: int) -> list[str]:
        """Fresh loopback source addresses, never used before in this run (Dor counts per address)."""
        out = []
        for _ in range(count):
            k = self.next_address
            self.next_address += 1
            out.append(f"127.{1 + k // 62500}.{(k // 250) % 250}.{k % 250 + 1}")
        return out

    def open(
        self, group: str, total: int, per_address: int, stall: bool = False
    ) -> tuple[int, dict[str, int], list[Any]]:
        count = len(self.pipes)
        shares = [total // count + (i < total % count) for i in range(count)]
        each = [(self.addresses(-(-share // per_address)), per_address, share, stall) for share in shares]
        replies = self.call("open", group, each=each, timeout=OPEN_TIMEOUT_S + 10)
        failures: Counter[str] = Counter()
        for reply in replies:
            failures.update(reply["failures"])
        return sum(r["opened"] for r in replies), dict(failures), [a for r in replies for a in r["stalled"]]

    def collect(self, group: str, after: int) -> tuple[list[float], dict[int, int], int, dict[int, float]]:
        """Arrival times of the first message newer than `after`, its seqs, how many lack one, its "at"."""
        replies = self.call("collect", group, after, ROUND_TIMEOUT_S, timeout=ROUND_TIMEOUT_S + 10)
        seqs: Counter[int] = Counter()
        published: dict[int, float] = {}
        for reply in replies:
            seqs.update(reply["seqs"])
            published.update(reply["published"])
        times = [t for r in replies for t in r["times"]]
        return times, dict(seqs), sum(r["missing"] for r in replies), published

    def stats(self, group: str) -> dict[str, Any]:
        replies = self.call("stats", group)
        closed: Counter[str] = Counter()
        for reply in replies:
            closed.update(reply["closed"])
        return {
            "live": sum(r["live"] for r in replies),
            "closed": dict(closed),
            "lost": sum(r["lost"] for r in replies),
        }

    def cpu(self) -> float:
        """CPU seconds used so far by the client processes."""
        total = 0.0
        for process in self.processes:
            data = Path(f"/proc/{process.pid}/stat").read_text()
            fields = data[data.rindex(")") + 2 :].split()
            total += (int(fields[11]) + int(fields[12])) / TICKS
        return total

    def shutdown(self) -> None:
        with contextlib.suppress(Exception):
            self.call("exit", "", timeout=10)
        for process in self.processes:
            process.join(5)
            if process.is_alive():
                process.kill()


# --- the servers ---------------------------------------------------------------------------------


def serve_baseline(port: int, payload_file: str) -> None:
    """The baseline: websockets' own server holding the connections, broadcast() to all of them."""
    import uvloop
    from websockets.asyncio.server import ServerConnection, broadcast, serve
    from websockets.http11 import Request, Response

    template = Path(payload_file).read_text()
    clients: set[ServerConnection] = set()

    async def handler(connection: ServerConnection) -> None:
        clients.add(connection)
        try:
            await connection.send('{"type":"hello","seq":0}')
            await connection.wait_closed()
        finally:
            clients.discard(connection)

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path == "/healthz":
            return connection.respond(200, "ok\n")
        if url.path == "/publish":
            seq = int(parse_qs(url.query)["seq"][0])
            text = SEQ.sub(f'"seq":{seq}'.encode(), template.encode(), count=1)
            at = datetime.now(UTC).isoformat()  # as Dor's clock, just before the fan-out
            broadcast(clients, AT.sub(f'"at":"{at}"'.encode(), text, count=1).decode())
            return connection.respond(200, f"{len(clients)}\n")
        return None

    async def main() -> None:
        # As uvicorn under `dor serve`: pings every 20 s, permessage-deflate with the same settings.
        async with serve(handler, HOST, port, process_request=process_request, backlog=2048) as server:
            await server.serve_forever()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def dor_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOR_")}
    env.update(DOR_DATABASE_URL=database_url, DOR_DEV="1", **extra)
    return env


def prepare_database(url: str, seed: bool = True) -> None:
    """`dor migrate` (and `seed --demo`): run again before each Dor start, in case the code moved on."""
    for args in (["migrate"], ["seed", "--demo"])[: 2 if seed else 1]:
        result = subprocess.run(
            [sys.executable, "-m", "server.cli", *args],
            cwd=ROOT,
            env=dor_env(url),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode:
            raise RuntimeError(f"dor {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def cpu(self) -> float:
        data = Path(f"/proc/{self.pid}/stat").read_text()
        fields = data[data.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_server(
    name: str, command: list[str], env: dict[str, str], folder: Path, port: int | None = None
) -> Server:
    """Starts a server process on `port` (a free one by default); returns once /healthz answers 200.

    A baseline (a name starting "baseline") gets its port as its last argument, Dor as DOR_PORT."""
    port = port or free_port()
    log = folder / f"{name}-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, *([str(port)] if name.startswith("baseline") else [])],
            cwd=ROOT,
            env={**env, "DOR_PORT": str(port)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(name, process, port, log)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited at startup:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                connection.close()
                return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{name} did not answer /healthz within {STARTUP_TIMEOUT_S:.0f} s")


# --- rounds --------------------------------------------------------------------------------------


@dataclass
class Run:
    """The measured rounds of one system at one N."""

    system: str
    subscribers: int
    rounds: int = 0
    first_ms: list[float] = field(default_factory=list)
    fixed_ms: list[float] = field(default_factory=list)  # last delivery with the 10 warm-up subscribers
    fixed_cpu_s: float = 0.0  # the server's CPU time for one round with the 10 warm-up subscribers
    last_ms: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    missing: int = 0
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    rss_before_kib: int = 0
    rss_after_kib: int = 0
    open_s: float = 0.0
    note: str = ""

    def pct(self, p: float) -> float:
        """Nearest-rank percentile of every subscriber's latency over the rounds, in milliseconds."""
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]

    @property
    def last(self) -> float:
        return statistics.median(self.last_ms) if self.last_ms else float("nan")

    @property
    def fixed(self) -> float:
        return statistics.median(self.fixed_ms) if self.fixed_ms else float("nan")

    @property
    def fan_out_us(self) -> float:
        return 1000 * (self.last - self.fixed) / self.subscribers

    @property
    def first(self) -> float:
        return statistics.median(self.first_ms) if self.first_ms else float("nan")

    @property
    def per_subscriber_us(self) -> float:
        return 1000 * self.last / self.subscribers

    @property
    def cpu_per_delivery_us(self) -> float:
        """The server's CPU time per subscriber and round, less what a round with 10 subscribers took."""
        if not self.rounds:
            return float("nan")
        return 1e6 * (self.server_cpu_s / self.rounds - self.fixed_cpu_s) / self.subscribers

    @property
    def memory_per_connection_kib(self) -> float:
        return (self.rss_after_kib - self.rss_before_kib) / self.subscribers


class Caller:
    """Makes one call on a system: Dor issues a ticket, the baseline broadcasts."""

    def __init__(self, server: Server, group: str, seq: int) -> None:
        self.server = server
        self.group = group
        self.seq = seq  # the newest seq the subscribers have seen
        self.sample = ""  # the text of a call, as a subscriber received it

    def call(self) -> None:
        """One new call; a new HTTP connection each time, for both systems."""
        connection = http.client.HTTPConnection(HOST, self.server.port, timeout=30)
        try:
            if self.server.name == "dor":
                connection.request("POST", TICKETS_PATH, body=ISSUE_BODY, headers=KIOSK_HEADERS)
                expected = 201
            else:
                connection.request("GET", f"/publish?seq={self.seq + 1}")
                expected = 200
            response = connection.getresponse()
            body = response.read()
            if response.status != expected:
                raise RuntimeError(f"{self.server.name} answered {response.status}: {body[:200]!r}")
        finally:
            connection.close()


def one_round(caller: Caller, clients: Clients, run: Run | None, expected: int) -> None:
    """One call; waits for every live subscriber of the group; adds the figures to `run` if given."""
    before = caller.seq
    clients.call("arm", caller.group)
    cpu0, client0 = caller.server.cpu(), clients.cpu()
    caller.call()
    times, seqs, missing, published = clients.collect(caller.group, before)
    cpu1, client1 = caller.server.cpu(), clients.cpu()
    if seqs:
        caller.seq = max(seqs)
    if run is None:
        return
    if len(seqs) > 1:
        run.note = f"subscribers saw different next seqs {seqs}"
    run.rounds += 1
    run.missing += missing + max(0, expected - len(times) - missing)
    t0 = published.get(min(seqs), 0.0) if seqs else 0.0
    latencies = [1000 * (t - t0) for t in times]
    run.latencies_ms.extend(latencies)
    run.first_ms.append(min(latencies) if latencies else float("nan"))
    run.last_ms.append(max(latencies) if latencies else float("nan"))
    run.server_cpu_s += cpu1 - cpu0
    run.client_cpu_s += client1 - client0


def rounds(pairs: list[tuple[Caller, Run]], clients: Clients, count: int, warmup: int = 1) -> None:
    """`warmup` unmeasured then `count` measured calls per system, the systems taking turns."""
    for index in range(warmup + count):
        for caller, run in pairs:
            one_round(caller, clients, run if index >= warmup else None, run.subscribers)
            time.sleep(ROUND_GAP_S)


def connect(server: Server, clients: Clients, run: Run, args: argparse.Namespace) -> Caller:
    """Warm-up, then opens `run.subscribers` idle connections and reads the server's RSS around it."""
    group = server.name
    clients.call("target", group, server.port, DISPLAY_PATH if group == "dor" else "/", args.compression)
    opened, failures, _ = clients.open(group, 10, args.per_address)
    if opened != 10:
        raise RuntimeError(f"{group}: warm-up connections failed: {failures}")
    caller = Caller(server, group, max(clients.call("last_seq", group)))
    warmup = Run(group, 10)
    for index in range(WARMUP_ROUNDS):
        one_round(caller, clients, warmup if index else None, 10)
    run.fixed_ms = warmup.last_ms
    run.fixed_cpu_s = warmup.server_cpu_s / warmup.rounds
    caller.sample = clients.call("sample", group)[0]
    clients.call("close", group, False)
    time.sleep(SETTLE_S)
    run.rss_before_kib = server.rss_kib()
    started = time.perf_counter()
    opened, failures, _ = clients.open(group, run.subscribers, args.per_address)
    run.open_s = time.perf_counter() - started
    if opened != run.subscribers:
        raise RuntimeError(f"{group}: {opened}/{run.subscribers} connections opened; {failures}")
    time.sleep(SETTLE_S)
    run.rss_after_kib = server.rss_kib()
    caller.seq = max(caller.seq, *clients.call("last_seq", group))
    return caller


# --- the stalled subscriber ----------------------------------------------------------------------


def send_queue(server_port: int, peer: tuple[str, int]) -> int | None:
    """Bytes waiting in the kernel on the server's side of the connection with `peer` (/proc/net/tcp)."""
    ip, port = peer
    remote = f"{socket.inet_aton(ip)[::-1].hex().upper()}:{port:04X}"
    local_port = f":{server_port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[2] == remote and parts[1].endswith(local_port):
            return int(parts[4].split(":")[0], 16)
    return None


def stall(server: Server, clients: Clients, args: argparse.Namespace, deadline: float) -> dict[str, Any]:
    """Connects one client that never reads and fills its TCP buffer with pongs; returns what it did."""
    started = time.perf_counter()
    opened, failures, stalled = clients.open(server.name, 1, args.per_address, stall=True)
    if opened != 1:
        raise RuntimeError(f"stalled client did not connect: {failures}")
    peer = tuple(stalled[0])
    chunk, sent, previous = 512, 0, -1
    while sent < 64 * 1024 and time.monotonic() < deadline:  # at most 8 MiB of pongs
        clients.call("ping_stalled", server.name, chunk)
        sent += chunk
        time.sleep(0.1)
        queued = send_queue(server.port, peer) or 0
        if queued - previous < chunk * PONG_BYTES // 10:  # the kernel took (almost) nothing more
            break
        previous = queued
    extra = 2 * HIGH_WATER // PONG_BYTES + 1  # 128 KiB more than the kernel holds: in the process
    clients.call("ping_stalled", server.name, extra)
    time.sleep(0.2)
    kernel = send_queue(server.port, peer) or 0
    return {
        "pings": sent + extra,
        "kernel_queue": kernel,
        "in_process_kib": max(0, (sent + extra) * PONG_BYTES - kernel) // 1024,
        "seconds": time.perf_counter() - started,
        "peer": peer,
    }


# --- main ------------------------------------------------------------------------------------------


@dataclass
class Results:
    runs: list[Run] = field(default_factory=list)
    stall_runs: list[Run] = field(default_factory=list)
    stall_info: dict[str, Any] = field(default_factory=dict)


def measure(
    n: int, folder: Path, database_url: str, clients: Clients, args: argparse.Namespace, results: Results
) -> None:
    """Both systems at N subscribers, each in a fresh process; then the stalled subscriber on Dor."""
    deadline = time.monotonic() + args.time_limit
    dor_env_ = dor_env(database_url, DOR_ALWAYS_OPEN="true", DOR_LOG_LEVEL="WARNING")
    servers: list[Server] = []
    try:
        prepare_database(database_url, seed=False)
        dor = start_server("dor", [sys.executable, "-m", "server.cli", "serve"], dor_env_, folder)
        servers.append(dor)
        dor_run = Run("dor", n)
        dor_caller = connect(dor, clients, dor_run, args)
        payload_file = folder / "payload.json"
        if not payload_file.exists():  # what Dor sent in the warm-up: the baseline sends the same
            payload_file.write_text(SEQ.sub(b'"seq":0', dor_caller.sample.encode(), count=1).decode())
        command = [sys.executable, str(Path(__file__).resolve()), "--serve-baseline", str(payload_file)]
        base = start_server("baseline", command, dict(os.environ), folder)
        servers.append(base)
        base_run = Run("baseline", n)
        base_caller = connect(base, clients, base_run, args)
        rounds([(dor_caller, dor_run), (base_caller, base_run)], clients, args.rounds)
        results.runs += [dor_run, base_run]
        clients.call("close", "baseline", False)
        if args.stall and n == args.stall_at:
            info = stall(dor, clients, args, deadline)
            with_stall, after = Run("dor, 1 stalled", n), Run("dor, after", n)
            t_stalled = time.perf_counter()
            rounds([(dor_caller, with_stall)], clients, args.rounds, warmup=0)
            info["kernel_queue_after"] = send_queue(dor.port, info["peer"])
            info["since_connect_s"] = info["seconds"] + time.perf_counter() - t_stalled
            clients.call("close", "dor", True)
            time.sleep(SETTLE_S)
            rounds([(dor_caller, after)], clients, args.rounds)
            results.stall_runs, results.stall_info = [with_stall, after], info
        stats = clients.stats("dor")
        if stats["closed"] or stats["lost"]:
            dor_run.note += f" closed by the server: {stats['closed']}, lost: {stats['lost']}"
        clients.call("close", "dor", False)
    finally:
        for server in servers:
            server.stop()


def ratio_of(a: float, b: float) -> float:
    return a / b if b > 0 else float("nan")


def fmt(value: float, digits: int = 1) -> str:
    return "n/a" if value != value else f"{value:,.{digits}f}"


def report(results: Results, args: argparse.Namespace) -> None:
    runs = results.runs
    baselines = {r.subscribers: r for r in runs if r.system == "baseline"}

    def name(run: Run) -> str:
        return "dor" if run.system == "dor" else "websockets.broadcast"

    print()
    print(
        f"Fan-out of one call: {args.rounds} measured rounds per system and N (after 1 warm-up), the "
        f"systems taking turns; {args.client_processes} client processes; permessage-deflate "
        f'{"offered" if args.compression else "not offered"}. Latencies in ms from the event\'s "at".'
    )
    header = (
        f"{'subscribers':>11}  {'system':<21} {'10 subs':>8} {'first':>7} {'last':>7} {'(max)':>7} "
        f"{'p50':>7} {'p99':>7} {'missed':>6}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        print(
            f"{run.subscribers:>11,}  {name(run):<21} {fmt(run.fixed):>8} {fmt(run.first):>7} "
            f"{fmt(run.last):>7} {fmt(max(run.last_ms)):>7} {fmt(run.pct(50)):>7} {fmt(run.pct(99)):>7} "
            f"{run.missing:>6}" + (f"  {run.note.strip()}" if run.note.strip() else "")
        )
    print(
        "10 subs: last delivery with the 10 warm-up subscribers (Dor: its commit, fsync included, and its\n"
        "feed's read of the log: a cost per event, not per subscriber); first/last: medians over the rounds\n"
        "of the fastest/slowest subscriber; p50/p99: over every subscriber of every round"
    )
    print()
    header = (
        f"{'subscribers':>11}  {'system':<21} {'µs/sub':>7} {'ratio':>6} {'fan-out µs/sub':>14} "
        f"{'ratio':>6} {'server CPU µs/sub':>17} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        base = baselines[run.subscribers]
        ratio = ratio_of(run.per_subscriber_us, base.per_subscriber_us)
        fan_ratio = ratio_of(run.fan_out_us, base.fan_out_us)
        cpu_ratio = ratio_of(run.cpu_per_delivery_us, base.cpu_per_delivery_us)
        print(
            f"{run.subscribers:>11,}  {name(run):<21} {fmt(run.per_subscriber_us):>7} {fmt(ratio, 2):>6} "
            f"{fmt(run.fan_out_us):>14} {fmt(fan_ratio, 2):>6} {fmt(run.cpu_per_delivery_us):>17} "
            f"{fmt(cpu_ratio, 2):>6}"
        )
    print(
        "µs/sub: last / N (the project's definition); fan-out µs/sub: (last - 10 subs) / N, the cost per\n"
        "event left out; server CPU µs/sub: (the server's CPU time in a round - in a round with 10\n"
        "subscribers) / N, averaged over the rounds (the kernel counts in 10 ms ticks); ratio: dor / the\n"
        "baseline at the same N"
    )
    for run in runs:
        rounds_ms = " ".join(f"{x:.0f}" for x in run.last_ms)
        print(f"last ms per round, {run.system} at {run.subscribers:,}: {rounds_ms}")
    for run in runs:
        if run.system == "dor":
            base = baselines[run.subscribers]
            print(
                f"client processes' CPU per delivery at {run.subscribers:,}: dor rounds "
                f"{1e6 * run.client_cpu_s / (run.rounds * run.subscribers):.1f} µs, baseline rounds "
                f"{1e6 * base.client_cpu_s / (base.rounds * base.subscribers):.1f} µs"
            )

    print()
    print("Memory per idle connection: server VmRSS once the N are open and idle - before opening them, / N")
    for run in runs:
        name = "dor" if run.system == "dor" else "websockets.broadcast"
        print(
            f"  {run.subscribers:>6,}  {name:<21} {run.rss_before_kib / 1024:7.1f} MiB -> "
            f"{run.rss_after_kib / 1024:7.1f} MiB = {run.memory_per_connection_kib:6.1f} KiB/conn "
            f"(the N opened in {run.open_s:.1f} s)"
        )

    verdicts: list[tuple[str, bool, str]] = []
    for run in runs:
        if run.system != "dor":
            continue
        base = baselines[run.subscribers]
        ratio = ratio_of(run.per_subscriber_us, base.per_subscriber_us)
        label = f"per-subscriber cost at {run.subscribers:,} <= {TARGET_COST_RATIO:.0f}x the baseline's"
        shown = (
            f"{ratio:.2f}x (fan-out only {ratio_of(run.fan_out_us, base.fan_out_us):.2f}x; server CPU "
            f"{ratio_of(run.cpu_per_delivery_us, base.cpu_per_delivery_us):.2f}x)"
        )
        verdicts.append((label, ratio <= TARGET_COST_RATIO, shown))
        if run.subscribers == 4000:
            label = f"last delivery at 4,000 <= {TARGET_LAST_MS_AT_4000:.0f} ms"
            verdicts.append((label, run.last <= TARGET_LAST_MS_AT_4000, f"{run.last:.1f} ms"))

    if results.stall_runs:
        info = results.stall_info
        before = next(
            r for r in runs if r.system == "dor" and r.subscribers == results.stall_runs[0].subscribers
        )
        with_stall, after = results.stall_runs
        print()
        print(
            f"Stalled subscriber at {before.subscribers:,} (one more client that never reads; receive buffer "
            f"{STALL_RCVBUF} B):\n  filled in {info['seconds']:.1f} s with {info['pings']:,} pings: "
            f"the server's kernel send queue to it {info['kernel_queue']:,} B, "
            f"about {info['in_process_kib']:,} KiB more waiting in the server process"
        )
        rows = (("without (before)", before), ("with 1 stalled", with_stall), ("without (after)", after))
        for label, run in rows:
            print(
                f"  {label:<18} last {fmt(run.last):>7} ms  p50 {fmt(run.pct(50)):>6} ms  "
                f"p99 {fmt(run.pct(99)):>6} ms  missed {run.missing}"
            )
        ratio = ratio_of(with_stall.pct(99), (before.pct(99) + after.pct(99)) / 2)
        print(
            f"  p99 with / mean p99 without = {ratio:.2f}; the stalled socket's kernel send queue at the "
            f"end of its rounds: {info['kernel_queue_after']} B, {info['since_connect_s']:.1f} s after it "
            "connected"
        )
        label = f"a stalled subscriber leaves the others' p99 within {100 * (TARGET_STALL_P99 - 1):.0f} %"
        verdicts.append((label, ratio <= TARGET_STALL_P99, f"{ratio:.2f}x"))

    print()
    print("Targets")
    for label, ok, shown in verdicts:
        print(f"  {'met   ' if ok else 'MISSED'}  {label}: {shown}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--per-address", type=int, default=40, help="sockets per source address (Dor: <= 50)")
    parser.add_argument("--compression", choices=["deflate", "none"], default="deflate")
    parser.add_argument("--no-stall", dest="stall", action="store_false", help="skip the stalled subscriber")
    parser.add_argument(
        "--stall-at", type=int, help="N of the stalled-subscriber test (default: the largest)"
    )
    parser.add_argument("--time-limit", type=float, default=290.0, help="seconds; the run stops after this")
    peaks = parser.add_argument_group("national peaks (issue #37; bench/ws_peaks.py)")
    peaks.add_argument("--storm", type=int, nargs="?", const=4000, metavar="N", help="a reconnect storm of N")
    peaks.add_argument("--storm-database", choices=["sqlite", "postgresql"], default="sqlite")
    peaks.add_argument("--storm-timeout", type=float, default=120.0, help="seconds for a storm's snapshots")
    peaks.add_argument("--national", action="store_true", help="2 processes, PostgreSQL, Redis, 40 centres")
    peaks.add_argument("--rolling-restart", action="store_true", help="and a rolling restart under it")
    peaks.add_argument("--centres", type=int, default=40)
    peaks.add_argument("--displays", type=int, default=100, help="hall displays per centre")
    peaks.add_argument("--trackers", type=int, default=400, help="trackers per centre (one ticket each)")
    peaks.add_argument("--national-seconds", type=float, default=60.0, help="seconds of calls")
    peaks.add_argument("--call-interval", type=float, default=0.25, help="seconds between calls")
    peaks.add_argument("--gate", type=int, default=100, help="connections opening at once per client")
    peaks.add_argument("--keep-logs", metavar="DIR", help="copy the servers' logs there at the end")
    peaks.add_argument("--resume-timeout", type=float, default=120.0, help="seconds for all to resume")
    parser.add_argument("--serve-baseline", nargs=2, metavar=("PAYLOAD", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--serve-peaks-baseline", nargs=2, metavar=("TEXTS", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(int(args.serve_baseline[1]), args.serve_baseline[0])
        return 0
    args.compression = args.compression == "deflate"
    if args.serve_peaks_baseline or args.storm or args.national or args.rolling_restart:
        if args.serve_peaks_baseline:
            import ws_clients  # beside this file

            ws_clients.serve_baseline(int(args.serve_peaks_baseline[1]), args.serve_peaks_baseline[0])
            return 0
        import ws_peaks

        return ws_peaks.run(args)
    args.subscribers = sorted(set(args.subscribers))
    args.stall_at = args.stall_at or max(args.subscribers)
    if args.stall_at not in args.subscribers:
        parser.error("--stall-at must be one of --subscribers")
    limit = raise_fd_limit()
    needed = max(args.subscribers) + 200
    print(
        f"RLIMIT_NOFILE {limit} (raised to the hard limit; the servers inherit it); "
        f"a server needs about {needed:,}"
    )
    if limit < needed:
        print("the file-descriptor limit is too low for the largest N", file=sys.stderr)
        return 2

    def on_alarm(signum: int, frame: object) -> None:
        raise Deadline(f"stopped by the {args.time_limit:.0f} s time limit")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(args.time_limit))
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="dor-fanout-"))
    clients = None
    results = Results()
    try:
        database_url = f"sqlite:///{folder / 'dor.sqlite3'}"
        prepare_database(database_url)
        clients = Clients(args.client_processes)
        for n in args.subscribers:
            print(f"... {n:,} subscribers", flush=True)
            measure(n, folder, database_url, clients, args, results)
        signal.alarm(0)
        payload = (folder / "payload.json").read_text()
        print(f"payload: {len(payload.encode())} bytes of JSON, e.g. {payload}")
        report(results, args)
        print(f"\n(run took {time.perf_counter() - started:.0f} s)")
        return 0
    except Deadline as exc:
        print(f"\n{exc}", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        if clients is not None:
            clients.shutdown()
        for log in folder.glob("*.log"):
            lines = log.read_text(errors="replace").splitlines()
            errors = [i for i, line in enumerate(lines) if "ERROR" in line]
            if errors:
                shown = "\n".join(lines[errors[0] : errors[0] + 30])
                print(f"{log.name}: {len(errors)} error lines; the first:\n{shown}", file=sys.stderr)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
