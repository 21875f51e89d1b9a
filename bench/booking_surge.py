"""Booking release surge: 2,000 clients list slots and book at the same instant, beside the same flows
unloaded and a bare Starlette endpoint.

    .venv/bin/python bench/booking_surge.py [--backend sqlite|postgresql|both] [--clients 2000]
        [--unloaded-clients 300] [--processes 1] [--earliest 10] [--time-limit 180]

For each backend it starts Dor as real processes (`server.cli migrate`, `seed --demo`, then
`--processes` x `serve`, one by default) on a fresh database, as bench/ticket_engine.py does, with
DOR_OTP_PER_ADDRESS_HOUR raised (every client is 127.0.0.1; the per-phone caps stay as shipped).

Each client is a citizen with its own phone and national ID. Before a run (not timed) every client asks
for a booking code (`POST /api/v1/otp`) and the code is read from its SMS in the outbox. Then the flow
of one client is

1. `GET /api/v1/centres/DAM-01/services/CR/slots?from=D&days=7` (200), a week from the release day D;
2. `POST /api/v1/appointments` for one of the `--earliest` first slots with places left in that list,
   chosen at random (everyone wants the earliest slots): 201, or 409 `slot_full` when others were
   faster. Both are expected answers; anything else counts as an error, a 5xx above all.

- **surge**: all `--clients` flows start at the same instant, each on its own keep-alive connection;
- **unloaded**: `--unloaded-clients` other citizens, the same flow one client at a time, on the week
  after (so that they meet free slots as the first surge clients did). One at a time, every client
  sees the true places left and gets 201, and a week of CR at DAM-01 has ~350 places (hence 300 by
  default); in the surge most get 409, which is cheaper, so the table also shows the surge's 201s
  alone;
- **bare**: bench/ticket_engine.py's bare Starlette app (`--serve-baseline`, uvicorn with `dor serve`'s
  options), the same client making the same two requests per flow (`GET /status` twice, the app has
  no other route), at the surge's concurrency and one at a time: the client's own limit.

The load generator is this script (asyncio + httpx2, uvloop if installed), not wrk: each flow's second
request depends on the first's answer and carries a per-client body (phone, code, national ID), and
2,000 concurrent clients would be 2,000 wrk threads. Its limit is the bare rows; its CPU is shown.

Checks, from the database after the runs: no slot with booked > capacity (overbooked), booked equals
the slot's booked appointments, and no 5xx. Targets (issue #37), each against a baseline of the same
run:

- listings/s in the surge >= 0.5 x the bare endpoint's first requests/s in its surge, each counted as
  the answers over the time from the release to the last one's answer (how fast they drain);
- flow p99 in the surge <= 3 x the bare flow's p99 in its surge;
- booking p99 in the surge <= 10 x the unloaded booking p99.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
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
    report_server_errors,
    start,
    stop,
    wait_until_up,
)

CENTRE = "DAM-01"
SERVICE = "CR"
SLOTS_PATH = f"/api/v1/centres/{CENTRE}/services/{SERVICE}/slots"
BOOK_PATH = "/api/v1/appointments"
BARE_PATH = "/status"  # bench/ticket_engine.py's bare app
TIMEZONE = ZoneInfo("Asia/Damascus")  # DAM-01's
TARGET = 10.0  # booking: surge p99 at most this x unloaded p99
LISTING_TARGET = 0.5  # listings/s in the surge at least this x the bare endpoint's
FLOW_TARGET = 3.0  # flow p99 in the surge at most this x the bare flow's
LIST_DAYS = 7
UNLOADED_OFFSET = 1_000_000  # the unloaded run's citizens are numbered from here


@dataclass
class Run:
    """One run of flows: latencies per request kind, every answer's status, what went wrong."""

    backend: str
    name: str  # surge, unloaded, bare surge, bare unloaded
    concurrency: int
    listing: Phase = field(init=False)
    booking: Phase = field(init=False)
    booked: Phase = field(init=False)  # the bookings answered 201 only
    flow: Phase = field(init=False)
    statuses: Tally[tuple[str, int, str]] = field(default_factory=Tally)
    server_pids: tuple[int, ...] = ()
    released: float = 0.0  # perf_counter at the release
    listed_in: float = 0.0  # seconds from the release to the last listing's answer

    def __post_init__(self) -> None:
        self.listing = Phase(self.backend, f"{self.name}: list slots")
        self.booking = Phase(self.backend, f"{self.name}: book")
        self.booked = Phase(self.backend, f"{self.name}: book, 201 only")
        self.flow = Phase(self.backend, f"{self.name}: flow (list + book)")

    @property
    def server_errors(self) -> int:
        return sum(n for (_, status, _), n in self.statuses.items() if status >= 500)

    @property
    def listings_per_s(self) -> float:
        """How fast the listings drained: those answered over the time the last one took to come."""
        answered = self.listing.requests - self.listing.errors
        return answered / self.listed_in if self.listed_in else 0.0


@dataclass(frozen=True)
class Flow:
    """What one client knows before the release: its identity, its code, which week it looks at."""

    index: int
    body: dict[str, str]  # the booking body without `start`
    first_day: date


async def run_flows(
    run: Run, urls: Sequence[str], flows: Sequence[Flow], *, bare: bool, limit: float, earliest: int = 1
) -> None:
    """Runs the flows `run.concurrency` at a time, every client on its own keep-alive connection."""
    n = min(run.concurrency, len(flows))
    # One httpx2 client (one connection) per concurrent client, as browsers would be: one shared pool of
    # 2,000 connections costs httpx2 O(pool) per request, and hands a flow a connection idle for
    # longer than uvicorn's 5 s keep-alive, which the server may be closing (ReadError).
    limits = httpx2.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [
        httpx2.AsyncClient(base_url=urls[i % len(urls)], limits=limits, timeout=limit, trust_env=False)
        for i in range(n)
    ]  # trust_env=False: never a proxy, the load goes to 127.0.0.1 only
    free: asyncio.Queue[httpx2.AsyncClient] = asyncio.Queue()
    for client in clients:
        free.put_nowait(client)
    gate = asyncio.Semaphore(n)
    release = asyncio.Event()

    async def timed(phase: Phase, kind: str, send: Callable[[], Awaitable[httpx2.Response]], *ok: int) -> Any:
        t0 = time.perf_counter()
        try:
            response = await send()
        except httpx2.HTTPError as exc:
            run.statuses[(kind, 0, type(exc).__name__)] += 1
            phase.requests += 1
            phase.fail(f"{kind}: {exc!r}")
            return None
        spent = time.perf_counter() - t0
        phase.requests += 1
        if kind == "list":
            run.listed_in = max(run.listed_in, t0 + spent - run.released)
        body = (
            response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        )
        error = body.get("error", {}).get("code", "") if isinstance(body, dict) else ""
        run.statuses[(kind, response.status_code, error)] += 1
        if response.status_code not in ok:
            phase.fail(f"{kind} -> {response.status_code} {response.text[:160]}")
            return None
        phase.latencies.append(spent)
        if kind == "book" and response.status_code == 201:
            run.booked.requests += 1
            run.booked.latencies.append(spent)
        return body if body != {} else True

    async def one(flow: Flow) -> None:
        await release.wait()
        async with gate:
            client = free.get_nowait()
            try:
                await steps(flow, client)
            finally:
                free.put_nowait(client)

    async def steps(flow: Flow, client: httpx2.AsyncClient) -> None:
        t0 = time.perf_counter()
        if bare:
            listed = await timed(run.listing, "list", lambda: client.get(BARE_PATH), 200)
            booked = listed and await timed(run.booking, "book", lambda: client.get(BARE_PATH), 200)
        else:
            query = {"from": flow.first_day.isoformat(), "days": str(LIST_DAYS)}
            listed = await timed(run.listing, "list", lambda: client.get(SLOTS_PATH, params=query), 200)
            if not listed:
                return
            open_slots = [s["start"] for s in listed if s["available"] > 0][:earliest]
            if not open_slots:
                run.statuses[("book", 0, "no slot left to try")] += 1
                return
            body = {**flow.body, "start": random.Random(flow.index).choice(open_slots)}
            booked = await timed(run.booking, "book", lambda: client.post(BOOK_PATH, json=body), 201, 409)
        run.flow.requests += 1
        if booked:
            run.flow.latencies.append(time.perf_counter() - t0)
        else:
            run.flow.errors += 1

    tasks = [asyncio.create_task(one(f)) for f in flows]
    await asyncio.sleep(0)  # every client is waiting for the release
    client_cpu = time.process_time
    # This process is the instrument. Its full collections with 2,000 clients took 40-300 ms each in
    # the first seconds of a surge, every answer in flight waiting, and counted as the server's time:
    # no collection runs while the flows do.
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        with cpu_meter(run.flow, run.server_pids[0], client=client_cpu):  # the first process's CPU
            began = run.released = time.perf_counter()
            release.set()
            done, pending = await asyncio.wait(tasks, timeout=limit)
            elapsed = time.perf_counter() - began
        for task in pending:
            task.cancel()
        if pending:
            run.flow.note = f"{len(pending)} flows still running after {limit:.0f} s, cancelled"
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        for phase in (run.listing, run.booking, run.booked, run.flow):
            phase.elapsed = elapsed
    finally:
        gc.enable()
        gc.unfreeze()
        for client in clients:
            await client.aclose()


# --- preparing ------------------------------------------------------------------------------------


def release_day(weeks_later: int = 0) -> date:
    """The first day from the day after tomorrow (Damascus time), plus whole weeks: far enough for
    the 2-hour notice, and the list of 7 days always holds working days."""
    return datetime.now(TIMEZONE).date() + timedelta(days=2 + 7 * weeks_later)


async def prepare(urls: Sequence[str], url: str, count: int, first: int, day: date) -> list[Flow]:
    """Citizens numbered from `first`, each with a booking code asked through the API (not timed)."""
    from tests.integration.test_booking_race import Clients, citizens, verify

    people = citizens(count, first=first)
    clients = Clients(urls, 100)
    try:
        codes = await verify(clients, url, people)
    finally:
        await clients.close()
    return [
        Flow(
            index=i,
            body={
                "centre": CENTRE,
                "service": SERVICE,
                "phone": p.phone,
                "otp": codes[p.phone],
                "national_id": p.national_id,
            },
            first_day=day,
        )
        for i, p in enumerate(people)
    ]


@dataclass
class Audit:
    slots: int = 0
    booked: int = 0
    capacity: int = 0
    overbooked: int = 0  # slots with booked > capacity
    mismatched: int = 0  # slots whose booked differs from their booked appointments


def audit(url: str) -> Audit:
    """Every slot row against its capacity and its appointments."""
    from sqlalchemy import func
    from sqlmodel import col, select

    from booking.models import Appointment, AppointmentStatus, BookingSlot
    from config.db import Database

    db = Database(url)
    try:
        with db.read() as session:
            slots = session.exec(select(BookingSlot)).all()
            counts = dict(
                session.exec(
                    select(Appointment.start, func.count())
                    .where(Appointment.status == AppointmentStatus.BOOKED.value)
                    .group_by(col(Appointment.start))
                ).all()
            )
    finally:
        db.dispose()
    result = Audit(slots=len(slots))
    for slot in slots:
        result.booked += slot.booked
        result.capacity += slot.capacity
        result.overbooked += slot.booked > slot.capacity
        result.mismatched += slot.booked != counts.get(slot.start, 0)
    return result


# --- the runs -------------------------------------------------------------------------------------


async def measure_bare(args: argparse.Namespace, backend: str, folder: Path) -> list[Run]:
    """The bare app: the same client and flow shape, at the surge's concurrency and at 1."""
    port = free_port()
    log = folder / "bare.log"
    command = [sys.executable, str(ROOT / "bench" / "ticket_engine.py"), "--serve-baseline", str(port)]
    process = start(command, {**os.environ}, log)
    try:
        base = f"http://{HOST}:{port}"
        wait_until_up(f"{base}{BARE_PATH}", process, log)
        flows = [Flow(i, {}, date.today()) for i in range(args.clients)]
        runs = [Run(backend, "bare surge", args.clients, server_pids=(process.pid,))]
        runs.append(Run(backend, "bare unloaded", 1, server_pids=(process.pid,)))
        await run_flows(
            Run(backend, "warm-up", 50, server_pids=(process.pid,)), [base], flows[:200], bare=True, limit=60
        )
        for run in runs:
            count = args.clients if run.concurrency > 1 else args.unloaded_clients
            await run_flows(run, [base], flows[:count], bare=True, limit=args.time_limit)
        return runs
    finally:
        stop(process)


def dor_env(url: str, **settings: str) -> dict[str, str]:
    """The environment of Dor's processes on `url`: this one's without its DOR_ settings, the dev
    mode, and the per-address OTP cap raised (every client is 127.0.0.1; the per-phone caps stay)."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("DOR_")},
        "DOR_DATABASE_URL": url,
        "DOR_DEV": "1",
        "DOR_ALWAYS_OPEN": "true",
        "DOR_HOST": HOST,
        "DOR_LOG_LEVEL": "WARNING",
        "DOR_OTP_PER_ADDRESS_HOUR": "1000000",
        **settings,
    }


@contextlib.contextmanager
def dor_servers(
    env: dict[str, str], folder: Path, name: str, count: int
) -> Iterator[tuple[list[subprocess.Popen[bytes]], list[str]]]:
    """`count` x `dor serve` on env's database, up and answering; stopped on the way out, and the
    errors they logged reported."""
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    logs: list[Path] = []
    try:
        for index in range(count):
            port = free_port()
            logs.append(folder / f"dor-{name}-{index}.log")
            processes.append(
                start([sys.executable, "-m", "server.cli", "serve"], {**env, "DOR_PORT": str(port)}, logs[-1])
            )
            urls.append(f"http://{HOST}:{port}")
            wait_until_up(f"{urls[-1]}/healthz", processes[-1], logs[-1])
        yield processes, urls
        for process, log in zip(processes, logs, strict=True):
            if process.poll() is not None:
                raise SystemExit(f"Dor exited during the run:\n{log.read_text()[-3000:]}")
    finally:
        for process in processes:
            stop(process)
        for log in logs:
            report_server_errors(name, log)


async def measure_dor(args: argparse.Namespace, backend: str, folder: Path) -> tuple[list[Run], Audit]:
    with database(backend, folder) as url:
        base_env = dor_env(url)
        dor(["migrate"], base_env)
        dor(["seed", "--demo"], base_env)
        with dor_servers(base_env, folder, backend, args.processes) as (processes, urls):
            pids = tuple(p.pid for p in processes)
            # Unloaded first, on the week after the release week: the same free slots the surge meets.
            unloaded = Run(backend, "unloaded", 1, server_pids=pids)
            flows = await prepare(urls, url, args.unloaded_clients, UNLOADED_OFFSET, release_day(1))
            await run_flows(unloaded, urls, flows, bare=False, limit=args.time_limit, earliest=args.earliest)
            surge = Run(backend, "surge", args.clients, server_pids=pids)
            flows = await prepare(urls, url, args.clients, 0, release_day())
            await run_flows(surge, urls, flows, bare=False, limit=args.time_limit, earliest=args.earliest)
        return [unloaded, surge], audit(url)


# --- report ---------------------------------------------------------------------------------------


def results_table(rows: list[tuple[Phase, Phase | None, int]]) -> str:
    """Each request kind of each run; the last column compares p99 with the unloaded run's."""
    header = [
        "backend",
        "run: request",
        "clients",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "p99 x unloaded",
    ]
    out = []
    for phase, reference, clients in rows:
        ratio = phase.percentile(99) / reference.percentile(99) if reference and reference.latencies else None
        out.append(
            [
                phase.backend,
                phase.operation,
                str(clients),
                str(phase.requests),
                f"{(phase.requests - phase.errors) / phase.elapsed:.1f}" if phase.elapsed else "-",
                f"{phase.percentile(50):.1f}",
                f"{phase.percentile(99):.1f}",
                str(phase.errors),
                f"{ratio:.1f}" if ratio is not None else "",
            ]
        )
    return markdown(header, out)


@dataclass(frozen=True)
class Targets:
    """Issue #37's figures of one backend, each beside its baseline from the same run."""

    backend: str
    surge: Run
    unloaded: Run
    bare: Run  # the bare app's surge
    checked: Audit

    @property
    def listings(self) -> float:
        return self.surge.listings_per_s / self.bare.listings_per_s

    @property
    def flow(self) -> float:
        return self.surge.flow.percentile(99) / self.bare.flow.percentile(99)

    @property
    def booking(self) -> float:
        return self.surge.booking.percentile(99) / self.unloaded.booking.percentile(99)

    def met(self) -> dict[str, bool]:
        return {
            f"listings/s x bare >= {LISTING_TARGET}": self.listings >= LISTING_TARGET,
            f"flow p99 x bare <= {FLOW_TARGET:.0f}": self.flow <= FLOW_TARGET,
            f"booking p99 x unloaded <= {TARGET:.0f}": self.booking <= TARGET,
            "0 overbooked": self.checked.overbooked == 0 and self.checked.mismatched == 0,
            "0 5xx": self.surge.server_errors + self.unloaded.server_errors == 0,
        }

    def verdict(self) -> str:
        return "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in self.met().items())


def targets_table(targets: list[Targets]) -> str:
    """The surge against its baselines: the bare endpoint's listings and flow, the unloaded booking."""
    header = [
        "backend",
        "listings/s surge",
        "bare",
        f"x bare (>= {LISTING_TARGET})",
        "flow p99 surge s",
        "bare",
        f"x bare (<= {FLOW_TARGET:.0f})",
        "booking p99 surge ms",
        "unloaded",
        f"x unloaded (<= {TARGET:.0f})",
        "overbooked",
        "5xx",
    ]
    rows = [
        [
            t.backend,
            f"{t.surge.listings_per_s:.0f}",
            f"{t.bare.listings_per_s:.0f}",
            f"{t.listings:.2f}",
            f"{t.surge.flow.percentile(99) / 1000:.2f}",
            f"{t.bare.flow.percentile(99) / 1000:.2f}",
            f"{t.flow:.2f}",
            f"{t.surge.booking.percentile(99):.1f}",
            f"{t.unloaded.booking.percentile(99):.1f}",
            f"{t.booking:.1f}",
            str(t.checked.overbooked),
            str(t.surge.server_errors + t.unloaded.server_errors),
        ]
        for t in targets
    ]
    return markdown(header, rows)


def answers_table(runs: list[Run]) -> str:
    header = [
        "backend",
        "run",
        "elapsed s",
        "answers",
        "5xx",
        "client CPU %",
        "server CPU %",
        "machine CPU %",
    ]
    rows = [
        [
            r.backend,
            r.name,
            f"{r.flow.elapsed:.2f}",
            ", ".join(f"{k} {s}{' ' + e if e else ''}: {n}" for (k, s, e), n in sorted(r.statuses.items())),
            str(r.server_errors),
            f"{r.flow.client_cpu:.0f}",
            f"{r.flow.server_cpu:.0f}",
            f"{r.flow.machine_busy:.0f}",
        ]
        for r in runs
    ]
    return markdown(header, rows)


async def run(args: argparse.Namespace) -> int:
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    rows: list[tuple[Phase, Phase | None, int]] = []
    runs: list[Run] = []
    verdicts: list[str] = []
    targets: list[Targets] = []
    began = time.monotonic()
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix=f"dor-surge-{backend}-") as tmp:
            print(f"[{backend}] bare ...", flush=True)
            bare_surge, bare_unloaded = await measure_bare(args, backend, Path(tmp))
            print(f"[{backend}] Dor ...", flush=True)
            (unloaded, surge), checked = await measure_dor(args, backend, Path(tmp))
        runs += [bare_unloaded, bare_surge, unloaded, surge]
        for r, reference in (
            (bare_unloaded, None),
            (bare_surge, bare_unloaded),
            (unloaded, None),
            (surge, unloaded),
        ):
            for kind in ("listing", "booking", "booked", "flow"):
                phase = getattr(r, kind)
                rows.append((phase, getattr(reference, kind) if reference else None, r.concurrency))
        targets.append(Targets(backend, surge, unloaded, bare_surge, checked))
        errors = sum(p.errors for r in (unloaded, surge) for p in (r.listing, r.booking))
        verdicts.append(
            f"{backend}: {checked.slots} slots, {checked.booked} places booked of {checked.capacity}; "
            f"overbooked slots {checked.overbooked}, slots whose count differs from their appointments "
            f"{checked.mismatched}; 5xx {surge.server_errors + unloaded.server_errors}; other errors "
            f"{errors - surge.server_errors - unloaded.server_errors}; " + targets[-1].verdict()
        )
    print(
        f"\nBooking release surge: {args.clients} clients at once (unloaded: {args.unloaded_clients} one "
        f"at a time), {args.processes} Dor process(es), the {args.earliest} earliest open slots; "
        f"generator asyncio + httpx2; {os.cpu_count()} cores; {time.monotonic() - began:.0f} s\n"
    )
    print(targets_table(targets))
    print()
    print(results_table(rows))
    print()
    print(answers_table(runs))
    for r in runs:
        for phase in (r.listing, r.booking):
            if phase.samples:
                print(f"errors in {phase.backend} {phase.operation}: {phase.samples}")
    print()
    print("\n".join(verdicts))
    return 0 if all(all(t.met().values()) for t in targets) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=int, default=2000, help="clients released at once")
    parser.add_argument("--unloaded-clients", type=int, default=300, help="clients one at a time")
    parser.add_argument("--processes", type=int, default=1, help="`dor serve` processes on the database")
    parser.add_argument(
        "--earliest", type=int, default=10, help="a client books one of this many first open slots"
    )
    parser.add_argument("--time-limit", type=float, default=180.0, help="seconds at most per run")
    args = parser.parse_args()
    if not 1 <= args.processes <= 8:
        parser.error("--processes: 1 to 8")
    sys.path.insert(0, str(ROOT))  # the project's packages and the race test's helpers
    return fastest_loop(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
