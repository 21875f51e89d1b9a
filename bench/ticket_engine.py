"""Ticket engine throughput and latency at N concurrent clients, against a floor of the same writes.

    .venv/bin/python bench/ticket_engine.py [--backend sqlite|postgresql|both] [--requests N]
        [--concurrency 50] [--generator wrk|python] [--time-limit S] [--baseline-runs 5] [--history N]

For each backend it starts Dor as a real process (`server.cli migrate`, `seed --demo`, `serve`) on a
fresh database (a temporary SQLite file, or a PostgreSQL database dor_bench_* it creates and drops),
and a bare Starlette app served by uvicorn with the options `dor serve` uses. One load generator,
`concurrency` requests in flight on as many keep-alive connections, measures:

- baseline   GET /status of the bare app (200); N requests, `--baseline-runs` times, the median kept;
             context only, no target
- floor      the least a durable ticket engine can do in this stack: the rows Dor writes, with a
             plain driver, no Dor, one transaction and one commit a request. The bare app answers at
             Dor's paths, on its own fresh database, its writes on worker threads: on SQLite with
             Python's sqlite3 and Dor's pragmas (WAL, synchronous FULL), BEGIN IMMEDIATE, one
             writer thread; on PostgreSQL with psycopg, 4 connections on as many write threads, as
             Dor. Its tables have Dor's shapes: `serial (name, last)`, `ticket` with Dor's columns
             (centre_id, service_id, day, number, token, status, channel, priority, phone, language,
             arrived_at, issued_at, appointment_at, counter_id, call_times, earlier_calls,
             requeued_at, started_at, ended_at, predicted_wait_s, away), `event` (centre_id, seq,
             type, ticket_id, counter_id, actor, at, data, hash; unique centre_id, seq), and only the
             indexes its statements need (waiting tickets by centre, status, service, arrival, id;
             a counter's ticket by counter_id, status). Per request:
               issue   the queue's number of the day: INSERT INTO serial ... ON CONFLICT (name) DO
                       UPDATE SET last = serial.last + 1 RETURNING last (name ticket:centre:prefix:day);
                       INSERT INTO ticket (all its columns) RETURNING id; the log head; the event
               next    PostgreSQL: SELECT last FROM serial WHERE name = 'events:centre' FOR UPDATE;
                       SELECT the first waiting ticket of the service (by arrival, id); UPDATE ticket
                       SET status = 'called', counter_id, call_times (one more) WHERE id = ? AND
                       status = 'waiting'; the log head; the event
               start   UPDATE ticket SET status = 'serving', started_at WHERE counter_id = ? AND
                       status = 'called' RETURNING id, number; the log head; the event
               finish  the same from 'serving' to 'done', ended_at
             where the log head is the upsert of the centre's serial (events:centre) RETURNING last,
             (SELECT hash FROM event WHERE centre_id = ? AND seq = serial.last - 1), whose row lock
             queues the centre's writes to commit as Dor's does, and the event is one INSERT with
             hash = sha256(previous hash || the entry as canonical JSON), as eventlog/chain.py
- issue      POST /api/v1/centres/DAM-01/tickets as the DAM-01 kiosk (201); N requests
- call-next  N cycles next (200) + start (200) + finish (200), each client an agent at its own
             counter; latency of the `next` request, throughput in cycles (= calls) per second
- cycle      the same cycles counted as HTTP requests (3 per cycle), latency of all three

The floor runs the issue, call-next and cycle phases just as Dor does. The targets (issue #31), for
each backend and each of issue, call-next and cycle:

- throughput: Dor >= 0.8 x the floor's
- p99 latency: Dor <= 2 x the floor's, for the same operation
- CPU: on PostgreSQL, Dor's server process uses <= 2 ms of CPU time (user + system, all threads) per
  HTTP request (call-next: per request of its cycles)

Each backend gets a table of Dor beside the floor, with PASS or FAIL for each target, and the bare GET
as context (Dor / bare); then a table of every phase with who was busy (percent of one core): a
client near 100 % while the server is not means the client is the limit.

Generators: `wrk` (Debian's wrk, one thread and one connection per client, a Lua script written at run
time; the default, since it costs the machine far less per request) or `python` (asyncio + httpx2).
Both keep exactly `concurrency` requests in flight and time every request themselves.

Before Dor starts, `concurrency` agents and as many counters (101, 102, ...; CR only, weight 1.0) are
added to DAM-01 directly in the database, and `--history N` tickets of CR served on the days before
(1,000 a day; none by default): a centre's past must not slow its calls. Before the call-next phase
the CR queue (the floor's too) is topped up (not measured) so that `next` never runs dry. Every phase
stops at N requests (cycles) or `--time-limit` seconds, whichever comes first; load goes only to
127.0.0.1.

`--py-spy PATH` (py-spy installed from PyPI into a scratch venv, not the project's) also samples the Dor
process during issue and call-next and prints where its CPU time went, and on PostgreSQL what Dor's
sessions wait for (pg_stat_activity). Profiling slows Dor down: take the figures from a run without it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2

if TYPE_CHECKING:
    from starlette.routing import Route

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
CENTRE = "DAM-01"
SERVICE = "CR"
KIOSK_TOKEN = f"demo-kiosk-{CENTRE}"
AGENT_PASSWORD = "bench-agent-password"
FIRST_COUNTER = 101
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
TICKS = os.sysconf("SC_CLK_TCK")
PY_SPY_RATE = 250  # samples per second
# Issue #31: Dor against the floor, on each backend and for each operation.
FLOOR_TARGET = 0.8  # throughput: at least this x the floor's
P99_TARGET = 2.0  # p99 latency: at most this x the floor's
CPU_TARGET_MS = 2.0  # PostgreSQL: at most this many ms of the server's CPU time per request
BASELINE_PATH = "/status"
TICKETS_PATH = f"/api/v1/centres/{CENTRE}/tickets"
COUNTERS_PATH = f"/api/v1/centres/{CENTRE}/counters/"
ISSUE_BODY = {"service": SERVICE, "channel": "kiosk"}
KIOSK_HEADERS = {"Authorization": f"Bearer {KIOSK_TOKEN}", "Content-Type": "application/json"}
CYCLE = ("next", "start", "finish")


# --- the bare baseline app and the floor ---------------------------------------------------------


# The floor's tables: Dor's shapes (queueing/models.py) with only the indexes its statements need.
FLOOR_SCHEMA = """
CREATE TABLE IF NOT EXISTS serial (name TEXT PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ticket (id {key}, centre_id INTEGER NOT NULL, service_id INTEGER NOT NULL,
                                   day {day} NOT NULL, number TEXT NOT NULL, token TEXT NOT NULL,
                                   status TEXT NOT NULL, channel TEXT NOT NULL, priority TEXT NOT NULL,
                                   phone TEXT, language TEXT NOT NULL, arrived_at {time} NOT NULL,
                                   issued_at {time} NOT NULL, appointment_at {time}, counter_id INTEGER,
                                   call_times {json} NOT NULL, earlier_calls INTEGER NOT NULL DEFAULT 0,
                                   requeued_at {time}, started_at {time}, ended_at {time},
                                   predicted_wait_s INTEGER, away {bool} NOT NULL,
                                   UNIQUE (centre_id, day, number));
CREATE INDEX IF NOT EXISTS ticket_waiting ON ticket (centre_id, status, service_id, arrived_at, id);
CREATE INDEX IF NOT EXISTS ticket_at_counter ON ticket (counter_id, status);
CREATE TABLE IF NOT EXISTS event (id {key}, centre_id INTEGER, seq INTEGER NOT NULL, type TEXT NOT NULL,
                                  ticket_id INTEGER, counter_id INTEGER, actor TEXT NOT NULL,
                                  at {time} NOT NULL, data {json} NOT NULL, hash TEXT NOT NULL,
                                  UNIQUE (centre_id, seq));
"""
# The column types Dor's tables have on each backend (SQLite stores times, days and JSON as text).
FLOOR_TYPES = {
    "sqlite": {"key": "INTEGER PRIMARY KEY", "time": "DATETIME"},
    "postgresql": {"key": "INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "time": "TIMESTAMPTZ"},
}
# A queue's number of the day (name), and a centre's log head (name, centre) with the hash of the
# entry before it: one upsert each, whose row lock is held to commit.
FLOOR_NUMBER = (
    "INSERT INTO serial (name, last) VALUES (?, 1) "
    "ON CONFLICT (name) DO UPDATE SET last = serial.last + 1 RETURNING last"
)
FLOOR_HEAD = (
    "INSERT INTO serial (name, last) VALUES (?, 1) "
    "ON CONFLICT (name) DO UPDATE SET last = serial.last + 1 "
    "RETURNING last, (SELECT hash FROM event WHERE centre_id = ? AND seq = serial.last - 1)"
)
FLOOR_TICKET = (
    "INSERT INTO ticket (centre_id, service_id, day, number, token, status, channel, priority, phone, "
    "language, arrived_at, issued_at, appointment_at, counter_id, call_times, earlier_calls, requeued_at, "
    "started_at, ended_at, predicted_wait_s, away) "
    "VALUES (?, ?, ?, ?, ?, 'waiting', ?, 'none', NULL, 'ar', ?, ?, NULL, NULL, ?, 0, NULL, NULL, NULL, "
    "NULL, ?) RETURNING id"
)
FLOOR_EVENT = (
    "INSERT INTO event (centre_id, seq, type, ticket_id, counter_id, actor, at, data, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
FLOOR_LOCK = "SELECT last FROM serial WHERE name = ? FOR UPDATE"  # PostgreSQL only
FLOOR_FIRST_WAITING = (
    "SELECT id, number, call_times FROM ticket WHERE centre_id = ? AND status = 'waiting' "
    "AND service_id = ? ORDER BY arrived_at, id LIMIT 1"
)
FLOOR_CALL = (
    "UPDATE ticket SET status = 'called', counter_id = ?, call_times = ? WHERE id = ? AND status = 'waiting'"
)
# start and finish: the status the counter's ticket has before and after, and the time column set.
FLOOR_STEPS = {"start": ("called", "serving", "started_at"), "finish": ("serving", "done", "ended_at")}
FLOOR_EVENT_TYPES = {"next": "called", "start": "started", "finish": "finished"}
FLOOR_CENTRE, FLOOR_SERVICE, FLOOR_PREFIX = 1, 1, "A"  # the floor's own database: one centre, one service
GENESIS = "0" * 64  # the hash before a log's first entry (eventlog/chain.py)
Answer = tuple[int, dict[str, object] | None]


def serve_baseline(port: int, floor: str | None = None) -> None:
    """A bare Starlette app with one JSON endpoint, served with the options of `dor serve`; with
    `floor` (an SQLite file or a PostgreSQL URL) also the floor's durable issue and counter actions
    (next, start, finish) at Dor's paths."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def status(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    routes = [Route(BASELINE_PATH, status, methods=["GET"])]
    if floor is not None:
        routes += floor_routes(floor)
    app = Starlette(routes=routes)
    # As server/cli.py serve: uvicorn.run(app, host=, port=, log_level=, proxy_headers=True).
    uvicorn.run(app, host=HOST, port=port, log_level="warning", proxy_headers=True)


def floor_routes(floor: str) -> list[Route]:
    """The floor's issue and counter actions on `floor`, each request one transaction and one commit,
    written on worker threads: on SQLite one writer thread with Dor's pragmas (WAL, synchronous FULL,
    BEGIN IMMEDIATE); on PostgreSQL as many connections, each on its own thread, as Dor has write
    threads. A centre's writes queue on its log head, as Dor's do."""
    import hashlib
    import queue
    import secrets

    from anyio import CapacityLimiter, to_thread
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    sys.path.insert(0, str(ROOT))  # the bare app alone needs nothing else of the project
    from config.db import SQLITE_PRAGMAS, WRITE_THREADS

    backend = "postgresql" if floor.startswith("postgresql") else "sqlite"
    schema = FLOOR_SCHEMA.format(day="DATE", json="JSON", bool="BOOLEAN", **FLOOR_TYPES[backend])
    connections: queue.SimpleQueue[Any] = queue.SimpleQueue()
    if backend == "sqlite":
        import sqlite3

        connection = sqlite3.connect(floor, check_same_thread=False, isolation_level=None)
        for pragma in SQLITE_PRAGMAS:
            connection.execute(pragma)
        connection.executescript(schema)
        connections.put(connection)
        writer, begin, mark = CapacityLimiter(1), "BEGIN IMMEDIATE", "?"  # SQLite's one writer

        def stamp(moment: datetime) -> object:  # as SQLAlchemy writes an aware time to SQLite
            return moment.replace(tzinfo=None).isoformat(" ")

        def day_of(moment: datetime) -> object:
            return moment.date().isoformat()

        def as_json(value: object) -> object:
            return json.dumps(value)
    else:
        import psycopg
        from psycopg.types.json import Json

        opened = [
            psycopg.connect(floor.replace("+psycopg", ""), autocommit=True) for _ in range(WRITE_THREADS)
        ]
        opened[0].execute(schema)
        for each in opened:
            connections.put(each)
        writer, begin, mark = CapacityLimiter(WRITE_THREADS), "BEGIN", "%s"

        def stamp(moment: datetime) -> object:
            return moment

        def day_of(moment: datetime) -> object:
            return moment.date()

        def as_json(value: object) -> object:
            return Json(value)

    statements: dict[str, str] = {}

    def run(connection: Any, statement: str, params: tuple[object, ...]) -> Any:
        if statement not in statements:
            statements[statement] = statement.replace("?", mark)
        return connection.execute(statements[statement], params)

    def append(
        connection: Any,
        type: str,
        ticket: int,
        counter: int | None,
        actor: str,
        at: datetime,
        data: Mapping[str, object],
    ) -> None:
        """Moves the centre's log head and writes its event, chained to the entry before it."""
        seq, previous = run(connection, FLOOR_HEAD, (f"events:{FLOOR_CENTRE}", FLOOR_CENTRE)).fetchone()
        previous = GENESIS if seq == 1 or previous is None else previous
        entry = {
            "centre": FLOOR_CENTRE,
            "seq": seq,
            "type": type,
            "ticket": ticket,
            "counter": counter,
            "actor": actor,
            "at": at.isoformat(timespec="microseconds"),
            "data": data,
        }
        canonical = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        digest = hashlib.sha256(bytes.fromhex(previous) + canonical).hexdigest()
        row = (FLOOR_CENTRE, seq, type, ticket, counter, actor, stamp(at), as_json(data), digest)
        run(connection, FLOOR_EVENT, row)

    def issue(connection: Any) -> Answer:
        """The queue's next number of the day, the ticket, its event."""
        now = datetime.now(UTC)
        name = f"ticket:{FLOOR_CENTRE}:{FLOOR_PREFIX}:{now.date().isoformat()}"
        (value,) = run(connection, FLOOR_NUMBER, (name,)).fetchone()
        number = f"{FLOOR_PREFIX}-{value:03d}"
        token = secrets.token_urlsafe(24)
        row = (FLOOR_CENTRE, FLOOR_SERVICE, day_of(now), number, token, "kiosk", stamp(now), stamp(now))
        (ticket,) = run(connection, FLOOR_TICKET, (*row, as_json([]), False)).fetchone()
        data = {"number": number, "service": SERVICE, "channel": "kiosk", "priority": "none"}
        append(connection, "issued", ticket, None, f"kiosk:{CENTRE}", now, data)
        return 201, {"id": ticket, "number": number}

    def act(connection: Any, counter: int, action: str) -> Answer:
        """next calls the first waiting ticket to the counter; start and finish move its ticket on."""
        now = datetime.now(UTC)
        if action == "next":
            if backend == "postgresql":  # SQLite's BEGIN IMMEDIATE has locked the whole database
                run(connection, FLOOR_LOCK, (f"events:{FLOOR_CENTRE}",))
            first = run(connection, FLOOR_FIRST_WAITING, (FLOOR_CENTRE, FLOOR_SERVICE)).fetchone()
            if first is None:
                return 204, None
            ticket, number, calls = first
            calls = calls if isinstance(calls, list) else json.loads(calls)
            call_times = as_json([*calls, now.isoformat()])
            if run(connection, FLOOR_CALL, (counter, call_times, ticket)).rowcount != 1:
                return 409, None
        else:
            before, after, column = FLOOR_STEPS[action]
            row = run(
                connection,
                f"UPDATE ticket SET status = '{after}', {column} = ? "
                f"WHERE counter_id = ? AND status = '{before}' RETURNING id, number",
                (stamp(now), counter),
            ).fetchone()
            if row is None:
                return 409, None
            ticket, number = row
        data = {"counter": counter, "number": number, "service": SERVICE}
        append(connection, FLOOR_EVENT_TYPES[action], ticket, counter, f"staff:{counter}", now, data)
        return 200, {"ticket": {"id": ticket, "number": number}}

    def write(job: Callable[..., Answer], *args: Any) -> Answer:
        """One request's transaction, committed before it answers."""
        connection = connections.get()
        try:
            connection.execute(begin)
            try:
                answer = job(connection, *args)
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        finally:
            connections.put(connection)
        return answer

    def answer(status_code: int, body: dict[str, object] | None) -> Response:
        return Response(status_code=status_code) if body is None else JSONResponse(body, status_code)

    async def issue_ticket(request: Request) -> Response:
        await request.json()
        return answer(*await to_thread.run_sync(write, issue, limiter=writer))

    async def counter_action(request: Request) -> Response:
        action = request.path_params["action"]
        if action != "next" and action not in FLOOR_STEPS:
            return Response(status_code=404)
        counter = request.path_params["counter"]
        return answer(*await to_thread.run_sync(write, act, counter, action, limiter=writer))

    return [
        Route(TICKETS_PATH, issue_ticket, methods=["POST"]),
        Route(COUNTERS_PATH + "{counter:int}/{action}", counter_action, methods=["POST"]),
    ]


# --- figures -------------------------------------------------------------------------------------


@dataclass
class Phase:
    """What one measured phase produced."""

    backend: str
    operation: str
    kind: str = ""  # "baseline", "issue", "calls" (cycles, next's latency), "cycle" (their requests)
    requests: int = 0  # answered (or failed) requests; call-next: cycles
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    client_cpu: float = 0.0  # percent of one core
    server_cpu: float = 0.0
    server_cpu_s: float = 0.0  # CPU seconds the server process used
    machine_busy: float = 0.0  # percent of one core, every process (PostgreSQL included)
    samples: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def throughput(self) -> float:
        return (self.requests - self.errors) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the latencies, in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
        return ordered[rank - 1] * 1000

    @property
    def cpu_per_request(self) -> float:
        """The server's CPU milliseconds per answered request (calls: per cycle)."""
        return 1000 * self.server_cpu_s / self.requests if self.requests else float("nan")

    def fail(self, detail: str) -> None:
        self.errors += 1
        if len(self.samples) < 5:
            self.samples.append(detail)


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) a live process has used."""
    data = Path(f"/proc/{pid}/stat").read_text()
    fields = data[data.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    return sum(values) - values[3] - values[4], sum(values)


@contextlib.contextmanager
def cpu_meter(
    phase: Phase, server_pid: int, client: Callable[[], float] = time.process_time
) -> Iterator[None]:
    """Fills the phase's CPU figures for the time the block runs; `client` reads the client's CPU."""
    wall, mine, server, (busy, total) = time.perf_counter(), client(), process_cpu(server_pid), machine_cpu()
    yield
    seconds = time.perf_counter() - wall
    busy2, total2 = machine_cpu()
    phase.client_cpu = 100 * (client() - mine) / seconds
    phase.server_cpu_s = process_cpu(server_pid) - server
    phase.server_cpu = 100 * phase.server_cpu_s / seconds
    phase.machine_busy = 100 * (os.cpu_count() or 1) * (busy2 - busy) / max(total2 - total, 1)


@dataclass(frozen=True)
class Job:
    """One phase's load: what each client sends, how much, for how long, against which server."""

    base: str
    mode: str  # "get" (baseline), "issue", "cycle"
    total: int
    concurrency: int
    time_limit: float
    server_pid: int
    agents: tuple[dict[str, str], ...] = ()  # cycle: each client's Cookie and X-CSRF-Token


# --- generator 1: asyncio + httpx2 -------------------------------------------------------------


async def python_load(job: Job, phase: Phase, cycle_requests: Phase | None = None) -> None:
    """Keeps `concurrency` requests in flight with httpx2 until `total` have run or time is up."""
    limits = httpx2.Limits(max_connections=job.concurrency, max_keepalive_connections=job.concurrency)
    # trust_env=False: never a proxy, the load goes to 127.0.0.1 only.
    async with httpx2.AsyncClient(base_url=job.base, limits=limits, timeout=60.0, trust_env=False) as client:
        claimed = 0
        deadline = time.perf_counter() + job.time_limit

        async def timed(method: str, path: str, **kwargs: object) -> tuple[httpx2.Response, float]:
            t0 = time.perf_counter()
            response = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
            return response, time.perf_counter() - t0

        def describe(response: httpx2.Response) -> str:
            request = response.request
            return f"{request.method} {request.url.path} -> {response.status_code} {response.text[:160]}"

        async def one(index: int) -> tuple[bool, float, str]:
            if job.mode == "get":
                response, latency = await timed("GET", BASELINE_PATH)
                ok = response.status_code == 200
                return ok, latency, "" if ok else describe(response)
            if job.mode == "issue":
                response, latency = await timed("POST", TICKETS_PATH, json=ISSUE_BODY, headers=KIOSK_HEADERS)
                ok = response.status_code == 201
                return ok, latency, "" if ok else describe(response)
            # As the Lua script: a failed step is tried again up to twice, the cycle counts as an error.
            failure, times = "", []
            for action in CYCLE:
                path = f"{COUNTERS_PATH}{FIRST_COUNTER + index}/{action}"
                for _ in range(3):
                    response, spent = await timed("POST", path, headers=job.agents[index])
                    if cycle_requests is not None:
                        cycle_requests.requests += 1
                        cycle_requests.errors += response.status_code != 200
                    if response.status_code == 200:
                        times.append(spent)
                        break
                    failure = failure or describe(response)  # `next` answering 204 included
                else:
                    return False, 0.0, failure
            if failure:
                return False, 0.0, failure
            if cycle_requests is not None:
                cycle_requests.latencies.extend(times)
            return True, times[0], ""

        async def worker(index: int) -> None:
            nonlocal claimed
            while claimed < job.total and time.perf_counter() < deadline:
                claimed += 1
                try:
                    ok, latency, failure = await one(index)
                except httpx2.HTTPError as exc:
                    ok, latency, failure = False, 0.0, f"{type(exc).__name__}: {exc}"
                phase.requests += 1
                if ok:
                    phase.latencies.append(latency)
                else:
                    phase.fail(failure)

        with cpu_meter(phase, job.server_pid):
            started = time.perf_counter()
            await asyncio.gather(*(worker(i) for i in range(job.concurrency)))
            phase.elapsed = time.perf_counter() - started
        if claimed < job.total:
            phase.note = f"stopped by the {job.time_limit:.0f} s limit"


# --- generator 2: wrk ----------------------------------------------------------------------------

# One wrk thread per client, one connection per thread, so a thread's Lua state is one client's state
# (an agent's counter, cookie and CSRF token). Requests are timed here with CLOCK_MONOTONIC (LuaJIT
# FFI), the clock of Python's time.monotonic. A thread that has sent its share drops a marker file and
# stops; the script then interrupts wrk, whose done() writes every thread's figures to one file.
WRK_SCRIPT = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } dor_timespec;
int clock_gettime(int clock, dor_timespec *tp);
]]
local clock = ffi.new("dor_timespec")
local function now_us()
  ffi.C.clock_gettime(1, clock)  -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end

local mode = os.getenv("DOR_BENCH_MODE")
local folder = os.getenv("DOR_BENCH_DIR")
local total = tonumber(os.getenv("DOR_BENCH_TOTAL"))
local nthreads = tonumber(os.getenv("DOR_BENCH_THREADS"))

-- main state: give each thread its index, share and credentials
local threads, created = {}, 0
function setup(thread)
  local id = created
  created = created + 1
  thread:set("id", id)
  thread:set("share", math.floor(total / nthreads) + ((id < total % nthreads) and 1 or 0))
  if mode == "cycle" then
    local f = assert(io.open(folder .. "/agents.txt"))
    local n = 0
    for line in f:lines() do
      if n == id then
        local cookie, csrf = line:match("^([^\t]*)\t(.*)$")
        thread:set("cookie", cookie)
        thread:set("csrf", csrf)
      end
      n = n + 1
    end
    f:close()
  end
  table.insert(threads, thread)
end

-- thread state: one client. Globals, so that done() can read them through thread:get.
step, attempts, done_n, errors, failed, t0, first_us, last_us = 0, 0, 0, 0, false, 0, nil, 0
answered, bad = 0, 0  -- every HTTP answer, and those not as expected
lat, all, samples = {}, {}, {}
local times, requests = {}, {}

function init(args)
  if mode == "get" then
    requests[0] = wrk.format("GET", "__BASELINE__")
  elseif mode == "issue" then
    requests[0] = wrk.format("POST", "__TICKETS__", {
      ["Authorization"] = "Bearer __KIOSK__", ["Content-Type"] = "application/json"
    }, '__BODY__')
  else
    local headers = {["Cookie"] = cookie, ["X-CSRF-Token"] = csrf}
    local base = "__COUNTERS__" .. (__FIRST__ + id) .. "/"
    for i, action in ipairs({"next", "start", "finish"}) do
      requests[i - 1] = wrk.format("POST", base .. action, headers, "")
    end
  end
  if share == 0 then finish() end
end

-- Idempotent: wrk calls it once more on thread 0 to check the script; state moves in response().
function request()
  t0 = now_us()
  return requests[step]
end

function finish()
  local marker = io.open(folder .. "/done-" .. id, "w")
  marker:close()
  wrk.thread:stop()
end

local function fail(status, body)
  errors = errors + 1
  if #samples < 3 then
    local text = string.sub((body or ""):gsub("%s+", " "), 1, 160)
    samples[#samples + 1] = mode .. " step " .. step .. " -> " .. status .. " " .. text
  end
end

function response(status, headers, body)
  local t1 = now_us()
  if first_us == nil then first_us = t0 end
  last_us = t1
  local spent = t1 - t0
  answered = answered + 1
  if mode ~= "cycle" then
    local ok = (mode == "get" and status == 200) or (mode == "issue" and status == 201)
    if ok then lat[#lat + 1] = spent else fail(status, body) end
    done_n = done_n + 1
  else
    -- A cycle is next, start, finish, each 200. A failed step is tried again up to twice (so that the
    -- counter is left free); the cycle then counts as one error and its latencies are not kept.
    if status == 200 then
      times[step + 1] = spent
      step, attempts = step + 1, 0
    else
      if not failed then fail(status, body) end
      failed, attempts, bad = true, attempts + 1, bad + 1
      if attempts >= 3 then step = 3 end
    end
    if step == 3 then
      if not failed then
        lat[#lat + 1] = times[1]
        for i = 1, 3 do all[#all + 1] = times[i] end
      end
      done_n, step, failed, attempts = done_n + 1, 0, false, 0
    end
  end
  if done_n >= share and step == 0 then finish() end
end

function done(summary, latency, requests)
  local out = assert(io.open(folder .. "/results.txt", "w"))
  for _, thread in ipairs(threads) do
    out:write(string.format("T %d %d %.0f %.0f %d %d\n", thread:get("done_n") or 0, thread:get("errors") or 0,
      thread:get("first_us") or -1, thread:get("last_us") or -1, thread:get("answered") or 0,
      thread:get("bad") or 0))
    for _, v in ipairs(thread:get("lat") or {}) do out:write(string.format("L %.0f\n", v)) end
    for _, v in ipairs(thread:get("all") or {}) do out:write(string.format("A %.0f\n", v)) end
    for _, v in ipairs(thread:get("samples") or {}) do out:write("E ", (v:gsub("\n", " ")), "\n") end
  end
  local e = summary.errors
  out:write(string.format("W %d %d %d %d %d\n", e.connect, e.read, e.write, e.status, e.timeout))
  out:close()
end
"""


def wrk_script() -> str:
    """The Lua script, with this benchmark's paths and payloads filled in."""
    script = WRK_SCRIPT
    for key, value in {
        "__BASELINE__": BASELINE_PATH,
        "__TICKETS__": TICKETS_PATH,
        "__KIOSK__": KIOSK_TOKEN,
        "__BODY__": json.dumps(ISSUE_BODY),
        "__COUNTERS__": COUNTERS_PATH,
        "__FIRST__": str(FIRST_COUNTER),
    }.items():
        script = script.replace(key, value)
    return script


async def wrk_load(job: Job, phase: Phase, cycle_requests: Phase | None = None) -> None:
    """Runs wrk with one thread and connection per client until every thread sent its share."""
    with tempfile.TemporaryDirectory(prefix="dor-bench-wrk-") as tmp:
        folder = Path(tmp)
        (folder / "script.lua").write_text(wrk_script())
        if job.mode == "cycle":
            lines = (f"{a['Cookie']}\t{a['X-CSRF-Token']}" for a in job.agents)
            (folder / "agents.txt").write_text("\n".join(lines) + "\n")
        env = {
            **os.environ,
            "DOR_BENCH_MODE": job.mode,
            "DOR_BENCH_DIR": str(folder),
            "DOR_BENCH_TOTAL": str(job.total),
            "DOR_BENCH_THREADS": str(job.concurrency),
        }
        n = job.concurrency
        command = ["wrk", f"-t{n}", f"-c{n}", f"-d{int(job.time_limit) + 30}s", "--timeout", "60s"]
        command += ["-s", str(folder / "script.lua"), job.base]
        deadline = time.monotonic() + job.time_limit
        with (folder / "wrk.log").open("wb") as log:
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        usage: list[float] = []  # wrk's CPU seconds, once it has exited

        def wrk_cpu() -> float:
            return usage[0] if usage else process_cpu(process.pid)

        def reap(flags: int) -> bool:
            """Waits for wrk with os.wait4, which returns its CPU time; True once it has exited."""
            pid, status, rusage = os.wait4(process.pid, flags)
            if pid == 0:
                return False
            process.returncode = os.waitstatus_to_exitcode(status)
            usage.append(rusage.ru_utime + rusage.ru_stime)
            return True

        with cpu_meter(phase, job.server_pid, client=wrk_cpu):
            try:
                while not reap(os.WNOHANG):
                    if time.monotonic() > deadline:
                        phase.note = f"stopped by the {job.time_limit:.0f} s limit"
                        break
                    if len(list(folder.glob("done-*"))) >= n:
                        break
                    await asyncio.sleep(0.02)
            finally:
                if not usage:
                    process.send_signal(signal.SIGINT)  # wrk stops its threads and runs done()
                    reap(0)
        results = folder / "results.txt"
        if not results.exists():
            raise SystemExit(f"wrk wrote no results:\n{(folder / 'wrk.log').read_text()[-2000:]}")
        first, last = [], []
        for line in results.read_text().splitlines():
            kind, _, rest = line.partition(" ")
            if kind == "T":
                done_n, errors, start_us, end_us, answered, bad = (int(float(v)) for v in rest.split())
                if cycle_requests is not None:
                    cycle_requests.requests += answered
                    cycle_requests.errors += bad
                phase.requests += done_n
                phase.errors += errors
                if start_us >= 0:
                    first.append(start_us)
                    last.append(end_us)
            elif kind == "L":
                phase.latencies.append(int(rest) / 1e6)
            elif kind == "A" and cycle_requests is not None:
                cycle_requests.latencies.append(int(rest) / 1e6)
            elif kind == "E" and len(phase.samples) < 5:
                phase.samples.append(rest)
            elif kind == "W" and any(int(v) for v in rest.split()[:3]):
                phase.note += f" wrk socket errors connect/read/write {'/'.join(rest.split()[:3])}"
        phase.elapsed = (max(last) - min(first)) / 1e6 if first else 0.0


# --- processes -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx2.HTTPError):
            if httpx2.get(url, timeout=2.0, trust_env=False).status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"server did not answer {url} within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stops a server this script started (through its own handle), gracefully first."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def dor(args: list[str], env: dict[str, str]) -> None:
    """Runs `python -m server.cli ARGS` to completion."""
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"dor {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


@contextlib.contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    """A fresh, empty database URL (an SQLite file in `folder`); a PostgreSQL database is dropped
    afterwards."""
    if backend == "sqlite":
        folder.mkdir(exist_ok=True)
        yield f"sqlite:///{folder / 'dor.sqlite3'}"
        return
    import psycopg

    name = f"dor_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.format(name=name)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def add_agents_and_counters(url: str, count: int, history: int) -> None:
    """`count` agents of the centre and as many counters serving CR (weight 1.0), and `history`
    tickets served on the days before (1,000 a day), straight into the DB."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import insert
    from sqlmodel import select

    from config.db import Database
    from config.secrets import hash_password
    from config.sql import id_of
    from organisation.models import Centre, Counter, CounterService, Role, Service, Staff, StaffCentre
    from queueing.models import Ticket

    db = Database(url)
    password_hash = hash_password(AGENT_PASSWORD)  # argon2 is slow on purpose: hash once, reuse
    try:
        with db.write() as session:
            centre = session.exec(select(Centre).where(Centre.code == CENTRE)).one()
            service = session.exec(select(Service).where(Service.code == SERVICE)).one()
            staff = [
                Staff(
                    username=agent_name(i),
                    display_name=f"Bench agent {i + 1}",
                    password_hash=password_hash,
                    role=Role.AGENT.value,
                )
                for i in range(count)
            ]
            counters = [
                Counter(centre_id=id_of(centre), number=FIRST_COUNTER + i, label=f"bench {i + 1}")
                for i in range(count)
            ]
            session.add_all([*staff, *counters])
            session.flush()
            session.add_all([StaffCentre(staff_id=id_of(s), centre_id=id_of(centre)) for s in staff])
            session.add_all(
                [CounterService(counter_id=id_of(c), service_id=id_of(service), weight=1.0) for c in counters]
            )
            if history:
                session.execute(insert(Ticket), served_before(id_of(centre), id_of(service), history))
        if not db.is_sqlite:
            # A live database has its statistics, kept by autovacuum; a new one has none until
            # autovacuum's first pass, a minute or more in. Without them, PostgreSQL plans every
            # statement as for empty tables, and a plan it keeps then is used for the whole run:
            # the lookup of an event by its seq read every event of the centre (2026-12-03).
            with db.engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE")
    finally:
        db.dispose()


def served_before(centre_id: int, service_id: int, count: int) -> list[dict[str, object]]:
    """`count` tickets served on the days before today, 1,000 a day from 08:00, one a second."""
    today = datetime.now(UTC).replace(hour=5, minute=0, second=0, microsecond=0)  # 08:00 in Damascus
    rows = []
    for i in range(count):
        arrived = today - timedelta(days=i // 1000 + 1) + timedelta(seconds=i % 1000)
        rows.append(
            {
                "centre_id": centre_id,
                "service_id": service_id,
                "day": arrived.date(),
                "number": f"H-{i % 1000:03d}",
                "token": uuid.uuid4().hex,
                "status": "done",
                "channel": "kiosk",
                "priority": "none",
                "language": "ar",
                "arrived_at": arrived,
                "issued_at": arrived,
                "call_times": [(arrived + timedelta(minutes=5)).isoformat()],
                "started_at": arrived + timedelta(minutes=6),
                "ended_at": arrived + timedelta(minutes=10),
            }
        )
    return rows


def agent_name(index: int) -> str:
    return f"bench-agent-{index + 1:03d}"


def report_server_errors(backend: str, log: Path) -> None:
    """Prints how many errors the server logged, and the first one with the end of its traceback."""
    lines = log.read_text(errors="replace").splitlines()
    starts = [i for i, line in enumerate(lines) if " ERROR " in line]
    if not starts:
        return
    first = lines[starts[0] : starts[1] if len(starts) > 1 else None]
    print(f"  [{backend}] the server logged {len(starts)} errors; the first:")
    print("\n".join("    " + line for line in [first[0], *first[-4:]] if line))


@contextlib.contextmanager
def profiled(args: argparse.Namespace, pid: int, name: str, url: str | None) -> Iterator[None]:
    """With --py-spy: samples the Dor process (its running threads) while the block runs, and
    on PostgreSQL what Dor's database sessions are doing."""
    if not args.py_spy:
        yield
        return
    output = Path(args.profile_dir) / f"{name}.txt"
    # Every running thread (py-spy leaves out idle ones), not only the one holding the GIL: a thread
    # inside SQLite has released it, and --gil hid the costliest statement of an issue (2026-12-03).
    command = [args.py_spy, "record", "--pid", str(pid), "--nonblocking", "--rate", str(PY_SPY_RATE)]
    command += ["--format", "raw", "--output", str(output)]
    with (Path(args.profile_dir) / "py-spy.log").open("ab") as log:
        spy = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    time.sleep(0.5)  # let it attach
    sessions = PgSessions(url) if url else None
    began = time.monotonic()
    try:
        yield
    finally:
        seconds = time.monotonic() - began
        spy.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
        spy.wait(timeout=60)
        if sessions:
            sessions.stop()
    print(profile_summary(output, name, seconds))
    if sessions:
        print(sessions.summary())


class PgSessions(threading.Thread):
    """Samples what the Dor database's sessions are doing, ten times a second."""

    QUERY = (
        "SELECT pid, state, wait_event_type, wait_event FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
    )

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.database = url.rsplit("/", 1)[1]
        self.counts: dict[str, int] = {}
        self.pids: set[int] = set()
        self.samples = 0
        self.done = threading.Event()
        self.start()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            while not self.done.wait(0.1):
                for pid, state, kind, event in connection.execute(self.QUERY, (self.database,)).fetchall():
                    self.pids.add(pid)
                    if state == "active" and kind == "Lock":
                        label = f"waiting for a lock ({event})"
                    elif state == "idle in transaction":
                        label = "idle in transaction (waiting for Dor)"
                    elif state == "active":
                        label = "active" if kind is None else f"active ({kind}:{event})"
                    else:
                        label = state or "?"
                    self.counts[label] = self.counts.get(label, 0) + 1
                self.samples += 1

    def stop(self) -> None:
        self.done.set()
        self.join()

    def summary(self) -> str:
        shares = sorted(self.counts.items(), key=lambda item: -item[1])
        return (
            f"    Dor's PostgreSQL sessions, mean over {self.samples} samples: "
            + ", ".join(f"{n / max(self.samples, 1):.1f} {state}" for state, n in shares)
            + f"; {len(self.pids)} server processes seen (the pool holds at most 30 connections at once)"
        )


def profile_summary(path: Path, name: str, seconds: float, top: int = 12) -> str:
    """Where the CPU went: event loop or request threads, Dor's functions, and the leaves' packages."""
    if not path.exists():
        return f"  no profile for {name} (see py-spy.log)"
    inclusive: dict[str, int] = {}
    leaves: dict[str, int] = {}
    total = loop = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples, frames = int(count), stack.split(";")
        total += samples
        if not any(f.startswith("WorkerThread.run ") for f in frames):
            loop += samples  # the event loop: uvicorn, Starlette routing, responses, the bus
        for frame in set(frames):
            function, _, where = frame.partition(" (")
            if where.startswith(("queueing/", "config/")):
                key = f"{function} ({where.rsplit(':', 1)[0]})"
                inclusive[key] = inclusive.get(key, 0) + samples
        where = frames[-1].partition(" (")[2]
        package = where.split("/")[0] if "/" in where else "stdlib/other"
        leaves[package] = leaves.get(package, 0) + samples

    def share(count: int) -> str:
        return f"{100 * count / max(total, 1):5.1f} %"

    lines = [
        f"  profile of Dor during {name}: {total} samples of running threads "
        f"({100 * total / (seconds * PY_SPY_RATE):.0f} % of one core on average)",
        f"    {share(loop)}  event loop thread (uvicorn, Starlette, responses, bus)",
        f"    {share(total - loop)}  request threads (database work); inclusive shares in Dor's code:",
    ]
    ranked = sorted(inclusive.items(), key=lambda item: -item[1])
    lines += [f"      {share(c)}  {n}" for n, c in ranked[:top]]
    packages = sorted(leaves.items(), key=lambda item: -item[1])[:8]
    lines.append(
        "    innermost frame by package: " + ", ".join(f"{p} {share(c).strip()}" for p, c in packages)
    )
    return "\n".join(lines)


# --- the phases ----------------------------------------------------------------------------------

Load = Callable[[Job, Phase, Phase | None], Awaitable[None]]


async def measure_baseline(args: argparse.Namespace, load: Load, backend: str, folder: Path) -> Phase:
    """The bare endpoint, `--baseline-runs` times N requests: the run of median throughput."""
    with baseline_server(folder) as (base, pid):
        job = Job(base, "get", args.requests, args.concurrency, args.time_limit, pid)
        await load(replace(job, total=args.warmup), Phase("", ""), None)
        runs = []
        for _ in range(args.baseline_runs):
            runs.append(Phase(backend, "bare Starlette GET /status", "baseline"))
            await load(job, runs[-1], None)
    speeds = [f"{r.throughput:.0f}" for r in runs]
    chosen = sorted(runs, key=lambda r: r.throughput)[len(runs) // 2]
    chosen.note = f"median of {len(runs)} runs: {', '.join(speeds)} req/s. " + chosen.note
    if chosen.elapsed < 0.1:
        chosen.note += f" Only {chosen.elapsed:.2f} s: too short to be steady, use more --requests."
    return chosen


async def measure_floor(args: argparse.Namespace, load: Load, backend: str, folder: Path) -> list[Phase]:
    """The floor's durable issue (N requests) and counter cycles (N), a commit per request."""
    n = args.concurrency
    agents = tuple({"Cookie": "floor=1", "X-CSRF-Token": "floor"} for _ in range(n))  # not checked
    driver = "sqlite3" if backend == "sqlite" else "psycopg"
    with (
        database(backend, folder / "floor") as url,
        baseline_server(folder, url.removeprefix("sqlite:///")) as (base, pid),
    ):
        job = Job(base, "issue", args.requests, n, args.time_limit, pid)
        await load(replace(job, total=args.warmup), Phase("", ""), None)
        issued = Phase(backend, f"floor issue, {driver} (no Dor)", "issue")
        await load(job, issued, None)
        # As for Dor: enough waiting tickets that `next` never answers 204 (not measured).
        await load(replace(job, total=args.warmup + n), Phase("", ""), None)
        cycles = replace(job, mode="cycle", agents=agents)
        await load(replace(cycles, total=args.warmup), Phase("", ""), None)
        calls = Phase(backend, "floor call-next (next latency; cycles/s)", "calls")
        requests = Phase(backend, "floor cycle next+start+finish (req/s)", "cycle")
        await load(cycles, calls, requests)
        same_run(calls, requests)
    return [issued, calls, requests]


@contextlib.contextmanager
def baseline_server(folder: Path, floor: str | None = None) -> Iterator[tuple[str, int]]:
    """The bare app in a process of its own: its base URL and pid."""
    port = free_port()
    log = folder / "baseline.log"
    command = [sys.executable, str(Path(__file__).resolve()), "--serve-baseline", str(port)]
    if floor is not None:
        command += ["--floor", floor]
    process = start(command, {**os.environ}, log)
    try:
        base = f"http://{HOST}:{port}"
        wait_until_up(f"{base}{BASELINE_PATH}", process, log)
        yield base, process.pid
    finally:
        stop(process)


async def measure_dor(args: argparse.Namespace, load: Load, backend: str, folder: Path) -> list[Phase]:
    with database(backend, folder) as url:
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DOR_")},
            "DOR_DATABASE_URL": url,
            "DOR_DEV": "1",
            "DOR_ALWAYS_OPEN": "true",
            "DOR_HOST": HOST,
            "DOR_PORT": str(port),
            "DOR_LOG_LEVEL": "WARNING",
        }
        dor(["migrate"], env)
        dor(["seed", "--demo"], env)
        add_agents_and_counters(url, args.concurrency, args.history)
        log = folder / f"dor-{backend}.log"
        process = start([sys.executable, "-m", "server.cli", "serve"], env, log)
        try:
            base = f"http://{HOST}:{port}"
            wait_until_up(f"{base}/healthz", process, log)
            pg_url = None if backend == "sqlite" else url
            phases = await dor_phases(args, load, backend, base, process.pid, pg_url)
            if process.poll() is not None:
                raise SystemExit(f"Dor exited during the run:\n{log.read_text()[-3000:]}")
            return phases
        finally:
            stop(process)
            report_server_errors(backend, log)


async def dor_phases(
    args: argparse.Namespace, load: Load, backend: str, base: str, pid: int, pg_url: str | None
) -> list[Phase]:
    n = args.concurrency

    def job(mode: str, total: int, agents: tuple[dict[str, str], ...] = ()) -> Job:
        return Job(base, mode, total, n, args.time_limit, pid, agents)

    await load(job("issue", args.warmup), Phase("", ""), None)
    before = await waiting_count(base)
    issued = Phase(backend, "Dor issue POST /tickets", "issue")
    with profiled(args, pid, f"{backend}-issue", pg_url):
        await load(job("issue", args.requests), issued, None)

    agents = await sign_in_and_open(base, n)
    # Enough waiting tickets that `next` never answers 204, warm-up cycles included (not measured).
    needed = args.requests + args.warmup + n
    waiting = await waiting_count(base)
    issued.note = f"queue {before} -> {waiting} waiting. " + issued.note
    if waiting < needed:
        topped = Phase("", "")
        await load(job("issue", max(needed - waiting, n)), topped, None)
        if topped.errors:
            print(f"  [{backend}] {topped.errors} errors while topping up the queue: {topped.samples[:2]}")
    depth = await waiting_count(base)

    await load(job("cycle", args.warmup, agents), Phase("", ""), None)
    calls = Phase(backend, "Dor call-next (next latency; cycles/s)", "calls")
    cycle_requests = Phase(backend, "Dor cycle next+start+finish (req/s)", "cycle")
    with profiled(args, pid, f"{backend}-call-next", pg_url):
        await load(job("cycle", args.requests, agents), calls, cycle_requests)
    calls.note = f"queue {depth} -> {await waiting_count(base)} waiting. " + calls.note
    same_run(calls, cycle_requests)
    return [issued, calls, cycle_requests]


def same_run(calls: Phase, cycle_requests: Phase) -> None:
    """The cycles' requests were measured in the cycles' run: its time and CPU are theirs."""
    cycle_requests.elapsed = calls.elapsed
    cycle_requests.client_cpu, cycle_requests.server_cpu = calls.client_cpu, calls.server_cpu
    cycle_requests.server_cpu_s = calls.server_cpu_s
    cycle_requests.machine_busy = calls.machine_busy
    cycle_requests.note = "the call-next run counted in HTTP requests (retries of failed steps included)"


async def sign_in_and_open(base: str, count: int) -> tuple[dict[str, str], ...]:
    """Each agent signs in (argon2: a few at a time, not measured) and opens its own counter."""
    gate = asyncio.Semaphore(4)

    async def one(index: int) -> dict[str, str]:
        async with gate, httpx2.AsyncClient(base_url=base, timeout=60.0, trust_env=False) as client:
            login = {"username": agent_name(index), "password": AGENT_PASSWORD}
            response = await client.post("/api/v1/auth/login", json=login)
            if response.status_code != 200:
                raise SystemExit(f"sign-in failed: {response.status_code} {response.text[:200]}")
            headers = {
                "Cookie": f"dor_session={response.cookies['dor_session']}",
                "X-CSRF-Token": response.json()["csrf_token"],
            }
            client.cookies.clear()
            response = await client.post(f"{COUNTERS_PATH}{FIRST_COUNTER + index}/open", headers=headers)
            if response.status_code != 200:
                raise SystemExit(f"could not open a counter: {response.status_code} {response.text[:200]}")
            return headers

    return tuple(await asyncio.gather(*(one(i) for i in range(count))))


async def waiting_count(base: str) -> int:
    async with httpx2.AsyncClient(base_url=base, timeout=60.0, trust_env=False) as client:
        response = await client.get(f"/api/v1/centres/{CENTRE}/status")
        response.raise_for_status()
        return int(next(s["waiting"] for s in response.json()["services"] if s["code"] == SERVICE))


# --- report --------------------------------------------------------------------------------------


@dataclass
class Backend:
    """One backend's measurements: the bare GET, the floor's phases and Dor's, by kind."""

    name: str
    baseline: Phase
    floor: dict[str, Phase]
    dor: dict[str, Phase]

    def phases(self) -> list[Phase]:
        return [self.baseline, *self.floor.values(), *self.dor.values()]


def markdown(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table, its columns padded so that it reads in a terminal too."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [header, ["-" * w for w in widths], *rows]
    return "\n".join(
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in lines
    )


def verdict(value: float, ok: bool) -> str:
    return f"{value:.2f} {'PASS' if ok else 'FAIL'}"


# The operations judged, each a Dor phase beside the floor's phase of the same kind: (kind, short name,
# label, the kind of phase whose HTTP requests the server's CPU is divided by).
JUDGED = [
    ("issue", "issue", "issue POST /tickets (req/s; p99 of the POST)", "issue"),
    ("calls", "call-next", "call-next (cycles/s; p99 of next)", "cycle"),
    ("cycle", "cycle", "counter cycle next+start+finish (req/s; p99 of all three)", "cycle"),
]


def judge(backend: Backend) -> tuple[str, list[str]]:
    """The backend's results table against the targets, and the targets it missed."""
    header = [
        "operation",
        "Dor req/s",
        "floor req/s",
        f"Dor/floor (>= {FLOOR_TARGET})",
        "Dor p99 ms",
        "floor p99 ms",
        f"p99 Dor/floor (<= {P99_TARGET:g})",
        "Dor CPU ms/req" + (f" (<= {CPU_TARGET_MS:g})" if backend.name == "postgresql" else " (no target)"),
        "Dor / bare GET",
        "errors Dor/floor",
    ]
    rows, misses = [], []
    bare = backend.baseline.throughput
    for kind, short, label, per in JUDGED:
        dor, floor = backend.dor[kind], backend.floor[kind]
        speed = dor.throughput / floor.throughput if floor.throughput else float("nan")
        p99 = dor.percentile(99) / floor.percentile(99)
        cpu = backend.dor[per].cpu_per_request
        fast, quick = speed >= FLOOR_TARGET, p99 <= P99_TARGET
        lean = backend.name != "postgresql" or cpu <= CPU_TARGET_MS
        if not fast:
            misses.append(f"{backend.name} {short} throughput {speed:.2f} x floor < {FLOOR_TARGET}")
        if not quick:
            misses.append(f"{backend.name} {short} p99 {p99:.2f} x floor > {P99_TARGET:g}")
        if not lean:
            misses.append(f"{backend.name} {short} CPU {cpu:.2f} ms/req > {CPU_TARGET_MS:g}")
        rows.append(
            [
                label,
                f"{dor.throughput:.1f}",
                f"{floor.throughput:.1f}",
                verdict(speed, fast),
                f"{dor.percentile(99):.1f}",
                f"{floor.percentile(99):.1f}",
                verdict(p99, quick),
                verdict(cpu, lean) if backend.name == "postgresql" else f"{cpu:.2f}",
                f"{dor.throughput / bare:.3f}" if bare else "-",
                f"{dor.errors}/{floor.errors}",
            ]
        )
    base = backend.baseline
    rows.append(
        [
            "bare GET /status (context; its req/s, p99, CPU in the Dor columns)",
            f"{base.throughput:.1f}",
            "-",
            "-",
            f"{base.percentile(99):.1f}",
            "-",
            "-",
            f"{base.cpu_per_request:.2f}",
            "1.000",
            f"{base.errors}/-",
        ]
    )
    return markdown(header, rows), misses


def measurements_table(backends: list[Backend]) -> str:
    """Every measured phase, and who was busy, in percent of one core; the machine's total counts
    PostgreSQL and the rest too."""
    header = [
        "backend",
        "phase",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "client CPU %",
        "server CPU %",
        "server CPU ms/req",
        f"machine CPU % (of {100 * (os.cpu_count() or 1)})",
        "note",
    ]
    rows = [
        [
            p.backend,
            p.operation,
            str(p.requests),
            f"{p.throughput:.1f}",
            f"{p.percentile(50):.1f}",
            f"{p.percentile(99):.1f}",
            str(p.errors),
            f"{p.client_cpu:.0f}",
            f"{p.server_cpu:.0f}",
            f"{p.cpu_per_request:.2f}" if p.kind != "calls" else "(cycle row)",
            f"{p.machine_busy:.0f}",
            p.note,
        ]
        for b in backends
        for p in b.phases()
    ]
    return markdown(header, rows)


async def run(args: argparse.Namespace) -> int:
    load: Load = wrk_load if args.generator == "wrk" else python_load
    names = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    backends: list[Backend] = []
    began = time.monotonic()
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"dor-bench-{name}-") as tmp:
            print(f"[{name}] baseline ...", flush=True)
            baseline = await measure_baseline(args, load, name, Path(tmp))
            print(f"[{name}] floor ...", flush=True)
            floor = await measure_floor(args, load, name, Path(tmp))
            print(f"[{name}] Dor ...", flush=True)
            dor_measured = await measure_dor(args, load, name, Path(tmp))
            by_kind = {p.kind: p for p in floor}, {p.kind: p for p in dor_measured}
            backends.append(Backend(name, baseline, *by_kind))
    generator = "wrk (Lua, 1 thread per connection)" if args.generator == "wrk" else "asyncio + httpx2"
    print(
        f"\nTicket engine: {args.concurrency} clients, {args.requests} requests (call-next: cycles) per "
        f"operation; generator {generator}; {os.cpu_count()} cores; {time.monotonic() - began:.0f} s"
    )
    misses = []
    for backend in backends:
        table, missed = judge(backend)
        misses += missed
        print(f"\n{backend.name}: Dor against the floor (targets of issue #31)\n")
        print(table)
    print("\nEvery phase measured\n")
    print(measurements_table(backends))
    failed = [p for b in backends for p in b.phases() if p.errors]
    for phase in failed:
        print(f"errors in {phase.backend} {phase.operation}: {phase.samples}")
    print(
        f"\ntargets (Dor >= {FLOOR_TARGET} x the floor's req/s, p99 <= {P99_TARGET:g} x the floor's, "
        f"<= {CPU_TARGET_MS:g} ms CPU per request on PostgreSQL): "
        + ("met" if not misses else "MISSED: " + "; ".join(misses))
    )
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--requests", type=int, default=1000, help="requests (call-next: cycles) per operation"
    )
    parser.add_argument("--concurrency", type=int, default=50, help="clients: requests in flight, agents")
    parser.add_argument(
        "--history", type=int, default=0, help="tickets served at DAM-01 on the days before (1,000 a day)"
    )
    parser.add_argument("--generator", choices=["wrk", "python"], default="wrk")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured requests before each phase")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds at most per measured phase")
    parser.add_argument(
        "--baseline-runs", type=int, default=5, help="baseline measurements; the median counts"
    )
    parser.add_argument("--py-spy", metavar="PATH", help="profile Dor with this py-spy during the phases")
    parser.add_argument(
        "--profile-dir", metavar="DIR", help="where py-spy's raw stacks go (default: a temp dir)"
    )
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--floor", metavar="SQLITE_FILE_OR_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline, args.floor)
        return 0
    if not 1 <= args.concurrency <= 500:
        parser.error("--concurrency: 1 to 500")
    if args.requests < args.concurrency or args.warmup < args.concurrency:
        parser.error("--requests and --warmup: at least --concurrency")
    if args.py_spy and not args.profile_dir:
        args.profile_dir = tempfile.mkdtemp(prefix="dor-bench-profile-")
    if args.profile_dir:
        Path(args.profile_dir).mkdir(parents=True, exist_ok=True)
        print(f"profiles go to {args.profile_dir}")
    if args.generator == "wrk" and shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install -y wrk), or use --generator python")
    return fastest_loop(run(args))


def fastest_loop(main: Coroutine[Any, Any, int]) -> int:
    """Runs the benchmark's coroutine on uvloop where it is installed (a faster generator), else on
    asyncio's own loop."""
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    with runner:
        return runner.run(main)


if __name__ == "__main__":
    raise SystemExit(main())
