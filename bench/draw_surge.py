"""Draws at national scale (issue #36): 100,000 applications over a window, 10,000 of them in one
minute, then the draw over all of them, each beside the floor of the stack for the same work.

    .venv/bin/python bench/draw_surge.py [--backend sqlite|postgresql|both] [--applications 100000]
        [--minute 10000] [--seconds 60] [--concurrency 50] [--chunk 10000] [--processes 1]

For each backend it starts Dor as real processes (`server.cli migrate`, `seed --demo`, then
`--processes` x `serve`) on a fresh database, as bench/booking_surge.py does (DOR_OTP_PER_ADDRESS_HOUR
raised: every client is 127.0.0.1), and opens a draw for passports (PP) at DAM-01, the demo centre
with places for them, through `booking.draws.open_draw` on the database, its window open now
and its days from the day after the window to 21 days on. Every applicant is a citizen of its own:
its own phone and 11-digit national ID (bench/booking_surge.py's citizens), and 1 to 3 choices drawn
at random among `CENTRE@*` and `CENTRE@DAY` for the days the draw has places.

- **one minute** (phase A): `--minute` applicants arrive evenly over `--seconds` s (open loop: each at
  its time, however long the others take, each on a keep-alive connection of its own while in
  flight). Each one's code was asked (`POST /api/v1/otp`, purpose `draw`) and read from the outbox
  before the phase; the phase is `POST /api/v1/draws/{code}/applications`, 201 expected. Latency is
  counted from the arrival's scheduled time, so a client that falls behind shows in it.
- **the window** (phase B): the rest up to `--applications`, `--concurrency` clients each sending its
  next application as soon as the last is answered (closed loop). A code lives 10 minutes, so phase B
  runs in chunks of `--chunk` applicants: their codes asked (not timed), then their applications
  (timed); the report gives both.
- **bare**: bench/ticket_engine.py's bare Starlette app (`GET /status`), the same generator with the
  same arrivals (phase A) and the same concurrency and number of requests (phase B).
- **the draw**: Dor's processes stopped (their jobs would run it), the window closed on the database
  (`closes_at` in the past), then `booking.draw_results.run_due_draws` timed in this process; then one
  `dor serve` (jobs off, so that draining the draw's 100,000 SMS does not share the machine) for
  `GET /api/v1/draws/{code}/record` (time and size) and `dor draw verify <record URL>` (time).
- **floor of the draw**: the same work with no Dor in it, on the same database: the applications read
  (the columns the draw needs), `booking.lottery.run` over them, and the rows Dor wrote (each
  application's result by id, the winners' appointments, one SMS per applicant) written by plain
  SQLAlchemy Core `executemany` into scratch tables of the same columns, keys and indexes (no foreign
  keys), in one transaction. The scratch application table is a copy of Dor's taken just before the
  draw, and the rows written are those Dor wrote, read back (neither timed).

Targets: no 5xx in either phase; the draw over 100,000 applications in under 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import random
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
from booking_surge import dor_env, dor_servers
from ticket_engine import (
    HOST,
    ROOT,
    Phase,
    cpu_meter,
    database,
    dor,
    fastest_loop,
    free_port,
    markdown,
    start,
    stop,
    wait_until_up,
)

DRAW = "BENCH-PP"
SERVICE = "PP"
CENTRES = ("DAM-01",)  # the demo centre with places for passports (a draw refuses one without)
TIMEZONE = ZoneInfo("Asia/Damascus")
DAYS = 21
BARE_PATH = "/status"
TARGET_DRAW_S = 10.0
OPEN_LOOP_READY = 200  # clients made before an open-loop phase; more if more are in flight
FIRST_CITIZEN = 2_000_000  # citizens numbered from here: none of the demo's or the race test's


@dataclass
class Load:
    """One phase of requests: bench/ticket_engine.py's Phase (latencies, CPU) and every answer."""

    phase: Phase
    statuses: Tally[tuple[int, str]] = field(default_factory=Tally)
    lag: list[float] = field(default_factory=list)  # open loop: sent after the scheduled time, s
    span: float = 0.0  # open loop: from the first scheduled arrival to the last answer, s
    connections: int = 0  # the most in flight at once

    @property
    def server_errors(self) -> int:
        return sum(n for (status, _), n in self.statuses.items() if status >= 500)

    def answers(self) -> str:
        return ", ".join(f"{s}{' ' + e if e else ''}: {n}" for (s, e), n in sorted(self.statuses.items()))


class Pool:
    """Keep-alive clients of one connection each, one per request in flight, made as needed: an
    arrival never waits for a connection (one shared pool of thousands of connections costs httpx2
    O(pool) per request, bench/booking_surge.py). They share one TLS context (unused: the load is
    plain HTTP), which each would otherwise build, loading the CA certificates: milliseconds of the
    event loop and a megabyte each, with thousands in flight. `ready` are made before the load."""

    def __init__(self, urls: Sequence[str], timeout: float, ready: int) -> None:
        self.urls, self.timeout = urls, timeout
        self.tls = ssl.create_default_context()
        self.made = 0
        self.idle: list[httpx2.AsyncClient] = []
        self.idle = [self.take() for _ in range(ready)]

    def take(self) -> httpx2.AsyncClient:
        if self.idle:
            return self.idle.pop()
        self.made += 1
        limits = httpx2.Limits(max_connections=1, max_keepalive_connections=1)
        return httpx2.AsyncClient(
            base_url=self.urls[self.made % len(self.urls)],
            limits=limits,
            timeout=self.timeout,
            trust_env=False,
        )  # trust_env=False: never a proxy, the load goes to 127.0.0.1 only

    def give(self, client: httpx2.AsyncClient) -> None:
        self.idle.append(client)

    async def close(self) -> None:
        for client in self.idle:
            await client.aclose()


Send = Callable[[httpx2.AsyncClient, Any], Awaitable[httpx2.Response]]


async def timed(load: Load, client: httpx2.AsyncClient, send: Send, item: Any, since: float, ok: int) -> None:
    """One request; its latency from `since` (perf_counter) when answered `ok`."""
    try:
        response = await send(client, item)
    except httpx2.HTTPError as exc:
        load.statuses[(0, type(exc).__name__)] += 1
        load.phase.requests += 1
        load.phase.fail(repr(exc))
        return
    spent = time.perf_counter() - since
    load.phase.requests += 1
    error = ""
    if response.status_code != ok:
        with contextlib.suppress(ValueError, AttributeError):
            error = response.json().get("error", {}).get("code", "")
        load.phase.fail(f"{response.status_code} {response.text[:160]}")
    else:
        load.phase.latencies.append(spent)
    load.statuses[(response.status_code, error)] += 1


@contextlib.contextmanager
def instrument(load: Load, server_pid: int) -> Iterator[None]:
    """The phase's CPU figures. What this process holds before is frozen out of its garbage
    collections, which stay short; they stay on, since a phase of 10,000 requests without any kept
    gigabytes of httpx2's cycles."""
    gc.collect()
    gc.freeze()
    try:
        with cpu_meter(load.phase, server_pid):
            yield
    finally:
        gc.unfreeze()


async def open_loop(
    load: Load, urls: Sequence[str], items: Sequence[Any], send: Send, seconds: float, ok: int, pid: int
) -> None:
    """Each item sent at its scheduled time, `seconds` / len(items) apart, whatever is in flight."""
    pool, in_flight = Pool(urls, timeout=120.0, ready=OPEN_LOOP_READY), 0
    loop = asyncio.get_running_loop()
    step = seconds / len(items)

    release = asyncio.Event()
    first = first_perf = 0.0  # set at the release, once every arrival's task is waiting

    async def one(index: int, item: Any) -> None:
        nonlocal in_flight
        await release.wait()
        await asyncio.sleep(max(0.0, first + index * step - loop.time()))
        scheduled = first_perf + index * step
        load.lag.append(time.perf_counter() - scheduled)
        client = pool.take()
        in_flight += 1
        load.connections = max(load.connections, in_flight)
        try:
            await timed(load, client, send, item, scheduled, ok)
        finally:
            in_flight -= 1
            pool.give(client)

    tasks = [asyncio.create_task(one(i, item)) for i, item in enumerate(items)]
    await asyncio.sleep(0)
    try:
        with instrument(load, pid):
            first, first_perf = loop.time() + 0.1, time.perf_counter() + 0.1
            release.set()
            await asyncio.gather(*tasks)
            load.span = time.perf_counter() - first_perf
        load.phase.elapsed = load.span
    finally:
        await pool.close()


async def closed_loop(
    load: Load, urls: Sequence[str], items: Sequence[Any], send: Send, concurrency: int, ok: int, pid: int
) -> None:
    """`concurrency` clients, each sending its next item as soon as its last is answered; adds the
    time to the phase's elapsed (a phase may run in several chunks)."""
    pool, queue = Pool(urls, timeout=120.0, ready=concurrency), iter(items)
    load.connections = max(load.connections, concurrency)

    async def client_loop() -> None:
        client = pool.take()
        try:
            for item in queue:
                await timed(load, client, send, item, time.perf_counter(), ok)
        finally:
            pool.give(client)

    chunk = Phase(load.phase.backend, load.phase.operation)
    try:
        with instrument(Load(chunk), pid):
            began = time.perf_counter()
            await asyncio.gather(*(client_loop() for _ in range(concurrency)))
            spent = time.perf_counter() - began
    finally:
        await pool.close()
    # CPU figures weighted by each chunk's time.
    total = load.phase.elapsed + spent
    for name in ("client_cpu", "server_cpu", "machine_busy"):
        mixed = (getattr(load.phase, name) * load.phase.elapsed + getattr(chunk, name) * spent) / total
        setattr(load.phase, name, mixed)
    load.phase.server_cpu_s += chunk.server_cpu_s
    load.phase.elapsed = total


# --- preparing ------------------------------------------------------------------------------------


def open_bench_draw(url: str) -> tuple[int, list[tuple[str, date]]]:
    """Opens the draw (window open from 30 s ago, 3 hours long) and returns its places and the
    (centre, day) pairs that have places."""
    from sqlmodel import select

    from booking.appointments import national_rules
    from booking.draws import DrawSpec, open_draw, places_left
    from config.db import Database
    from config.settings import Settings
    from organisation.models import Centre, Service

    now = datetime.now(UTC)
    db = Database(url)
    try:
        with db.write() as session:
            centres = [session.exec(select(Centre).where(Centre.code == c)).one() for c in CENTRES]
            closes = now + timedelta(hours=3)
            first = closes.astimezone(TIMEZONE).date() + timedelta(days=1)
            spec = DrawSpec(
                code=DRAW,
                service=session.exec(select(Service).where(Service.code == SERVICE)).one(),
                centres=centres,
                opens_at=now - timedelta(seconds=30),
                closes_at=closes,
                first_day=first,
                last_day=first + timedelta(days=DAYS - 1),
                offer_hours=24,
                reason="bench/draw_surge.py",
            )
            rules = national_rules(Settings(database_url=url, dev=True))
            draw = open_draw(
                session, spec=spec, rules=rules, actor="staff:bench", now=now - timedelta(minutes=1)
            )
            places = places_left(session, draw)
    finally:
        db.dispose()
    days = sorted({(p.centre, p.day) for p in places if p.places > 0})
    return sum(p.places for p in places), days


def applicants(count: int, first: int, days: Sequence[tuple[str, date]]) -> list[dict[str, Any]]:
    """Application bodies without their codes: each citizen's phone, national ID and 1-3 choices."""
    from tests.integration.test_booking_race import citizens

    rng = random.Random(first)
    options = [f"{c}@*" for c in CENTRES] + [f"{c}@{d.isoformat()}" for c, d in days]
    return [
        {"phone": p.phone, "national_id": p.national_id, "choices": rng.sample(options, rng.randint(1, 3))}
        for p in citizens(count, first=first)
    ]


async def with_codes(
    urls: Sequence[str], url: str, bodies: list[dict[str, Any]], seconds: list[float]
) -> None:
    """Asks each body's phone a code of purpose `draw` through the API and reads it from the outbox;
    adds the time taken to `seconds`."""
    from tests.integration.test_booking_race import Citizen, Clients, verify

    began = time.perf_counter()
    clients = Clients(urls, 100)
    try:
        for at in range(0, len(bodies), 5000):  # each batch within the helper's 120 s
            part = bodies[at : at + 5000]
            people = [Citizen(b["phone"], b["national_id"]) for b in part]
            codes = await verify(clients, url, people, purpose="draw")
            for body in part:
                body["otp"] = codes[body["phone"]]
    finally:
        await clients.close()
    seconds.append(time.perf_counter() - began)


async def apply_one(client: httpx2.AsyncClient, body: dict[str, Any]) -> httpx2.Response:
    return await client.post(f"/api/v1/draws/{DRAW}/applications", json=body)


async def bare_one(client: httpx2.AsyncClient, _: Any) -> httpx2.Response:
    return await client.get(BARE_PATH)


# --- the draw and its floor -----------------------------------------------------------------------


@dataclass
class DrawFigures:
    applications: int = 0
    places: int = 0
    winners: int = 0
    waiting: int = 0
    dor_s: float = 0.0
    floor_read_s: float = 0.0
    floor_lottery_s: float = 0.0
    floor_write_s: float = 0.0
    rows_updated: int = 0
    rows_appointments: int = 0
    rows_sms: int = 0
    record_s: float = 0.0
    record_bytes: int = 0
    verify_s: float = 0.0
    verify_said: str = ""

    @property
    def floor_s(self) -> float:
        return self.floor_read_s + self.floor_lottery_s + self.floor_write_s


def scratch_copy(table: Any, metadata: Any) -> Any:
    """A table of `table`'s columns, primary key, unique constraints and indexes, named floor_*, with
    no foreign keys."""
    from sqlalchemy import Column, Index, Table, UniqueConstraint

    copy = Table(
        f"floor_{table.name}",
        metadata,
        *[
            Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable, unique=c.unique)
            for c in table.c
        ],
    )
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint) and len(constraint.columns) > 1:
            copy.append_constraint(UniqueConstraint(*[c.name for c in constraint.columns]))
    for index in table.indexes:
        Index(f"floor_{index.name}", *[copy.c[c.name] for c in index.columns], unique=index.unique)
    return copy


def draw_and_floor(url: str) -> DrawFigures:
    """Closes the window, runs Dor's draw (timed), then the floor of the same work (timed)."""
    from sqlalchemy import MetaData, bindparam, func, insert, text, update
    from sqlalchemy import select as sa_select

    from booking import lottery
    from booking.appointments import national_rules
    from booking.draw_results import run_due_draws
    from booking.draws import places_left
    from booking.models import Appointment, Draw, DrawApplication
    from config.db import Database
    from config.settings import Settings
    from sms_gateway.models import SmsMessage

    settings = Settings(database_url=url, dev=True)
    figures = DrawFigures()
    apps, appointments, sms = DrawApplication.__table__, Appointment.__table__, SmsMessage.__table__  # type: ignore[attr-defined]
    metadata = MetaData()
    floor_apps, floor_appointments, floor_sms = (scratch_copy(t, metadata) for t in (apps, appointments, sms))
    db = Database(url)
    try:
        with db.write() as session:
            draw = session.exec(sa_select(Draw).where(Draw.code == DRAW)).scalar_one()
            draw.closes_at = datetime.now(UTC) - timedelta(seconds=1)
            session.add(draw)
            draw_id = draw.id
            places = places_left(session, draw)
            figures.places = sum(p.places for p in places)
            seed = bytes.fromhex(draw.seed)
        metadata.create_all(db.engine)
        with db.write() as session:
            session.execute(floor_apps.insert().from_select(list(apps.c.keys()), sa_select(apps)))
            appointments_before = session.execute(
                sa_select(func.coalesce(func.max(appointments.c.id), 0))
            ).scalar()
            sms_before = session.execute(sa_select(func.coalesce(func.max(sms.c.id), 0))).scalar()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as connection:  # as after any bulk load: the planner's statistics
                connection.execute(text("ANALYZE"))
                connection.commit()

        began = time.perf_counter()
        done = run_due_draws(
            db, rules=national_rules(settings), base_url=settings.base_url, now=datetime.now(UTC)
        )
        figures.dor_s = time.perf_counter() - began
        assert len(done) == 1, done
        figures.applications, figures.winners, figures.waiting = (
            done[0].applications,
            done[0].winners,
            done[0].waiting,
        )

        with db.read() as session:  # what Dor wrote, to write again (not timed)
            results = [
                dict(r._mapping)
                for r in session.execute(
                    sa_select(
                        apps.c.id,
                        apps.c.status,
                        apps.c.rank,
                        apps.c.waiting,
                        apps.c.won_centre,
                        apps.c.won_start,
                        apps.c.appointment_id,
                    ).where(apps.c.draw_id == draw_id)
                )
            ]
            new_appointments = [
                {k: v for k, v in r._mapping.items() if k != "id"}
                for r in session.execute(
                    sa_select(appointments).where(appointments.c.id > appointments_before)
                )
            ]
            new_sms = [
                {k: v for k, v in r._mapping.items() if k != "id"}
                for r in session.execute(sa_select(sms).where(sms.c.id > sms_before))
            ]
        figures.rows_updated, figures.rows_appointments, figures.rows_sms = (
            len(results),
            len(new_appointments),
            len(new_sms),
        )
        with db.engine.connect() as connection:
            began = time.perf_counter()
            rows = connection.execute(
                sa_select(floor_apps.c.id, floor_apps.c.pseudonym, floor_apps.c.choices).where(
                    floor_apps.c.draw_id == draw_id, floor_apps.c.status == "applied"
                )
            ).all()
            entries = [
                lottery.Application(p, tuple(lottery.Choice.parse(c) for c in choices))
                for _, p, choices in rows
            ]
            figures.floor_read_s = time.perf_counter() - began
            began = time.perf_counter()
            lottery.run(seed, entries, places)
            figures.floor_lottery_s = time.perf_counter() - began
            began = time.perf_counter()
            columns = [c for c in results[0] if c != "id"]
            connection.execute(
                update(floor_apps)
                .where(floor_apps.c.id == bindparam("_id"))
                .values({c: bindparam(c) for c in columns}),
                [{"_id": r["id"], **{c: r[c] for c in columns}} for r in results],
            )
            if new_appointments:
                connection.execute(insert(floor_appointments), new_appointments)
            connection.execute(insert(floor_sms), new_sms)
            connection.commit()
            figures.floor_write_s = time.perf_counter() - began
        metadata.drop_all(db.engine)
    finally:
        db.dispose()
    return figures


def record_and_verify(env: dict[str, str], folder: Path, backend: str, figures: DrawFigures) -> None:
    """The published record's time and size from one `dor serve` (jobs off), and `dor draw verify`."""
    with dor_servers({**env, "DOR_JOBS": "false"}, folder, f"{backend}-record", 1) as (_, urls):
        record = f"{urls[0]}/api/v1/draws/{DRAW}/record"
        began = time.perf_counter()
        response = httpx2.get(record, timeout=600.0, trust_env=False)
        figures.record_s = time.perf_counter() - began
        assert response.status_code == 200, response.text[:300]
        figures.record_bytes = len(response.content)
        began = time.perf_counter()
        checked = subprocess.run(
            [sys.executable, "-m", "server.cli", "draw", "verify", record],
            cwd=ROOT,
            env={k: v for k, v in os.environ.items() if not k.startswith("DOR_")},
            capture_output=True,
            text=True,
            check=False,
        )
        figures.verify_s = time.perf_counter() - began
        figures.verify_said = (checked.stdout + checked.stderr).strip()
        assert checked.returncode == 0, figures.verify_said


# --- the runs -------------------------------------------------------------------------------------


@dataclass
class Backend:
    name: str
    minute: Load
    window: Load
    bare_minute: Load
    bare_window: Load
    draw: DrawFigures = field(default_factory=DrawFigures)
    places: int = 0
    code_seconds: list[float] = field(default_factory=list)
    codes: int = 0


def new_backend(name: str) -> Backend:
    return Backend(
        name,
        minute=Load(Phase(name, "Dor: one minute")),
        window=Load(Phase(name, "Dor: the window")),
        bare_minute=Load(Phase(name, "bare: one minute")),
        bare_window=Load(Phase(name, "bare: the window")),
    )


async def measure_bare(args: argparse.Namespace, result: Backend, folder: Path) -> None:
    port = free_port()
    log = folder / "bare.log"
    process = start(
        [sys.executable, str(ROOT / "bench" / "ticket_engine.py"), "--serve-baseline", str(port)],
        {**os.environ},
        log,
    )
    try:
        base = f"http://{HOST}:{port}"
        wait_until_up(f"{base}{BARE_PATH}", process, log)
        await closed_loop(
            Load(Phase(result.name, "warm-up")), [base], [None] * 500, bare_one, 20, 200, process.pid
        )
        await open_loop(
            result.bare_minute, [base], [None] * args.minute, bare_one, args.seconds, 200, process.pid
        )
        rest = args.applications - args.minute
        await closed_loop(
            result.bare_window, [base], [None] * rest, bare_one, args.concurrency, 200, process.pid
        )
    finally:
        stop(process)


async def measure_dor(args: argparse.Namespace, result: Backend, folder: Path) -> None:
    with database(result.name, folder) as url:
        env = dor_env(url)
        dor(["migrate"], env)
        dor(["seed", "--demo"], env)
        result.places, days = open_bench_draw(url)
        print(f"[{result.name}] draw {DRAW}: {result.places} places on {len(days)} centre-days", flush=True)
        with dor_servers(env, folder, result.name, args.processes) as (processes, urls):
            pid = processes[0].pid
            bodies = applicants(args.minute, FIRST_CITIZEN, days)
            await with_codes(urls, url, bodies, result.code_seconds)
            print(f"[{result.name}] one minute: {len(bodies)} applications ...", flush=True)
            await open_loop(result.minute, urls, bodies, apply_one, args.seconds, 201, pid)
            done = args.minute
            while done < args.applications:
                bodies = applicants(min(args.chunk, args.applications - done), FIRST_CITIZEN + done, days)
                await with_codes(urls, url, bodies, result.code_seconds)
                print(
                    f"[{result.name}] the window: applications {done + 1} to {done + len(bodies)} ...",
                    flush=True,
                )
                await closed_loop(result.window, urls, bodies, apply_one, args.concurrency, 201, pid)
                done += len(bodies)
        result.codes = args.applications
        print(f"[{result.name}] the draw ...", flush=True)
        result.draw = draw_and_floor(url)
        record_and_verify(env, folder, result.name, result.draw)


# --- report ---------------------------------------------------------------------------------------


def ratio(value: float, reference: float) -> str:
    return f"{value / reference:.1f}" if reference else "-"


def minute_table(backends: list[Backend], args: argparse.Namespace) -> str:
    header = [
        "backend",
        "run",
        "requests",
        "answers",
        "5xx",
        "p50 ms",
        "p99 ms",
        "max ms",
        "p99 x bare",
        "latest send s",
        "last answer s",
        "most in flight",
        "server CPU %",
    ]
    rows = []
    for b in backends:
        for load, reference in ((b.bare_minute, None), (b.minute, b.bare_minute)):
            p = load.phase
            rows.append(
                [
                    b.name,
                    p.operation,
                    str(p.requests),
                    load.answers(),
                    str(load.server_errors),
                    f"{p.percentile(50):.1f}",
                    f"{p.percentile(99):.1f}",
                    f"{p.percentile(100):.1f}",
                    ratio(p.percentile(99), reference.phase.percentile(99)) if reference else "",
                    f"{max(load.lag):.3f}",
                    f"{load.span:.1f}",
                    str(load.connections),
                    f"{p.server_cpu:.0f}",
                ]
            )
    return markdown(header, rows)


def window_table(backends: list[Backend]) -> str:
    header = [
        "backend",
        "run",
        "clients",
        "requests",
        "answers",
        "5xx",
        "elapsed s",
        "req/s",
        "x bare",
        "p50 ms",
        "p99 ms",
        "max ms",
        "client CPU %",
        "server CPU %",
    ]
    rows = []
    for b in backends:
        for load, reference in ((b.bare_window, None), (b.window, b.bare_window)):
            p = load.phase
            rows.append(
                [
                    b.name,
                    p.operation,
                    str(load.connections),
                    str(p.requests),
                    load.answers(),
                    str(load.server_errors),
                    f"{p.elapsed:.1f}",
                    f"{p.throughput:.0f}",
                    ratio(p.throughput, reference.phase.throughput) if reference else "",
                    f"{p.percentile(50):.1f}",
                    f"{p.percentile(99):.1f}",
                    f"{p.percentile(100):.1f}",
                    f"{p.client_cpu:.0f}",
                    f"{p.server_cpu:.0f}",
                ]
            )
    return markdown(header, rows)


def draw_table(backends: list[Backend]) -> str:
    header = [
        "backend",
        "applications",
        "places",
        "winners",
        "waiting",
        "Dor's draw s",
        "floor s",
        "x floor",
        "floor: read s",
        "floor: lottery.run s",
        "floor: writes s",
        "rows written",
    ]
    rows = [
        [
            b.name,
            f"{d.applications:,}",
            f"{d.places:,}",
            f"{d.winners:,}",
            f"{d.waiting:,}",
            f"{d.dor_s:.2f}",
            f"{d.floor_s:.2f}",
            ratio(d.dor_s, d.floor_s),
            f"{d.floor_read_s:.2f}",
            f"{d.floor_lottery_s:.2f}",
            f"{d.floor_write_s:.2f}",
            f"{d.rows_updated:,} + {d.rows_appointments:,} + {d.rows_sms:,}",
        ]
        for b in backends
        for d in [b.draw]
    ]
    return markdown(header, rows)


def record_table(backends: list[Backend]) -> str:
    header = ["backend", "GET record s", "record MB", "dor draw verify s", "x lottery.run"]
    rows = [
        [
            b.name,
            f"{b.draw.record_s:.2f}",
            f"{b.draw.record_bytes / 1e6:.1f}",
            f"{b.draw.verify_s:.2f}",
            ratio(b.draw.verify_s, b.draw.floor_lottery_s),
        ]
        for b in backends
    ]
    return markdown(header, rows)


async def run(args: argparse.Namespace) -> int:
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results, verdicts = [], []
    began = time.monotonic()
    for name in backends:
        result = new_backend(name)
        with tempfile.TemporaryDirectory(prefix=f"dor-draw-{name}-") as tmp:
            print(f"[{name}] bare ...", flush=True)
            await measure_bare(args, result, Path(tmp))
            print(f"[{name}] Dor ...", flush=True)
            await measure_dor(args, result, Path(tmp))
        results.append(result)
        errors = result.minute.server_errors + result.window.server_errors
        met = errors == 0 and result.draw.dor_s < TARGET_DRAW_S
        verdicts.append(
            f"{name}: 5xx {errors} (one minute {result.minute.server_errors}, the window "
            f"{result.window.server_errors}); the draw over {result.draw.applications:,} applications "
            f"{result.draw.dor_s:.2f} s (target < {TARGET_DRAW_S:.0f} s): {'met' if met else 'MISSED'}"
        )
        print(verdicts[-1], flush=True)
    print(
        f"\nDraws at national scale: {args.applications:,} applications, {args.minute:,} of them over "
        f"{args.seconds:.0f} s (open loop), the rest by {args.concurrency} clients (closed loop); "
        f"{args.processes} Dor process(es); generator asyncio + httpx2; {os.cpu_count()} cores; "
        f"{time.monotonic() - began:.0f} s\n"
    )
    for b in results:
        print(
            f"{b.name}: codes for {b.codes:,} phones asked and read from the outbox in "
            f"{sum(b.code_seconds):.0f} s (not timed in the phases)"
        )
    print("\nOne minute\n")
    print(minute_table(results, args))
    print("\nThe window\n")
    print(window_table(results))
    print("\nThe draw\n")
    print(draw_table(results))
    print("\nThe record\n")
    print(record_table(results))
    for b in results:
        for load in (b.minute, b.window):
            if load.phase.samples:
                print(f"errors in {b.name} {load.phase.operation}: {load.phase.samples}")
        print(f"{b.name}: {b.draw.verify_said}")
    print()
    print("\n".join(verdicts))
    return 0 if all(v.endswith("met") for v in verdicts) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--applications", type=int, default=100_000, help="applications in all")
    parser.add_argument("--minute", type=int, default=10_000, help="applications of phase A")
    parser.add_argument("--seconds", type=float, default=60.0, help="phase A's arrivals spread over this")
    parser.add_argument("--concurrency", type=int, default=50, help="phase B's clients")
    parser.add_argument("--chunk", type=int, default=10_000, help="phase B's applicants per batch of codes")
    parser.add_argument("--processes", type=int, default=1, help="`dor serve` processes on the database")
    args = parser.parse_args()
    if not 0 < args.minute < args.applications:
        parser.error("--minute: more than 0 and fewer than --applications")
    sys.path.insert(0, str(ROOT))  # the project's packages and the race test's helpers
    return fastest_loop(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
