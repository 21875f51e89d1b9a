"""Dor's websockets at national peaks (issue #37): a reconnect storm, national load, a rolling restart.

The modes of `bench/websocket_fanout.py` --storm, --national and --rolling-restart (its docstring and
docs/performance.md say what each measures). This module holds them: the setup of the organisation
and tickets, the counter agents who make the calls, each mode's rounds, and the tables. The clients
and the baseline server are in bench/ws_clients.py.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Dor's modules from this checkout, before any installed copy (the setup imports them in-process).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from websocket_fanout import (
    HOST,
    ROOT,
    Server,
    dor_env,
    prepare_database,
    raise_fd_limit,
    start_server,
)
from ws_clients import (
    SNAPSHOT_TIMEOUT_S,
    Crowds,
    display_centre,
    seat_specs,
    start_baseline,
)

# Targets of issue #37.
TARGET_STORM_S = 10.0
TARGET_STORM_RATIO = 4.0
TARGET_LAST_P99_MS = 500.0
TARGET_KIB_PER_CONN = 40.0
TARGET_RSS_MIB = 1024.0
TARGET_RESUME_S = 15.0
SECRET_KEY = "wsbench-secret-key-for-two-processes-0123456789"
BUS_URL = "redis://127.0.0.1:6379/11"
PASSWORD = "demo"
COUNTER = 1  # the counter each centre's agent works
PORTS = range(18300, 18400)  # this bench's ports


class Deadline(Exception):
    """The run's time limit passed."""


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def fmt(value: float, digits: int = 1) -> str:
    return "n/a" if value != value else f"{value:,.{digits}f}"


# --- setup: an organisation, waiting tickets -----------------------------------------------------


def toml_value(value: Any) -> str:
    """The TOML of the values the demo's files hold (strings, numbers, booleans, lists, tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{ " + ", ".join(f'"{k}" = {toml_value(v)}' for k, v in value.items()) + " }"


def national_organisation(folder: Path, centres: int) -> list[str]:
    """A copy of the demo's organisation with `centres` centres, each a copy of a demo centre (NAT-01,
    NAT-02, ...) with one agent (nat01, ...): the files `seed_demo` reads. Returns the codes."""
    demo = ROOT / "config" / "demo"
    templates = tomllib.loads((demo / "centres.toml").read_text(encoding="utf-8"))["centre"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "services.toml").write_text((demo / "services.toml").read_text(encoding="utf-8"))
    codes, blocks = [], []
    staff = [f'password = "{PASSWORD}"\n']
    for i in range(centres):
        spec = dict(templates[i % len(templates)])
        code = f"NAT-{i + 1:02d}"
        spec["code"] = code
        spec["name"] = {lang: f"{text} {i + 1}" for lang, text in spec["name"].items()}
        spec["remote_check_in"] = False
        codes.append(code)
        blocks.append("[[centre]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in spec.items()))
        staff.append(
            f'[[staff]]\nusername = "nat{i + 1:02d}"\nname = "agent {code}"\nrole = "agent"\n'
            f'centres = ["{code}"]\n'
        )
    (folder / "centres.toml").write_text("\n".join(blocks), encoding="utf-8")
    (folder / "staff.toml").write_text("\n".join(staff), encoding="utf-8")
    return codes


def seed(database_url: str, directory: Path) -> None:
    from config.db import Database
    from organisation.seed import seed_demo

    database = Database(database_url)
    try:
        with database.write() as session:
            seed_demo(session, directory=directory, now=datetime.now(UTC))
    finally:
        database.dispose()


def issue_waiting(database_url: str, wanted: list[tuple[str, str]]) -> list[str]:
    """Issues a waiting kiosk ticket for each (centre, service), in-process through Dor's engine, a
    few hundred to a transaction; their tracking tokens, in order."""
    from config.db import Database
    from organisation.snapshot import organisation
    from queueing.engine import issue_ticket
    from queueing.tickets import Channel

    database = Database(database_url)
    tokens: list[str] = []
    try:
        for start in range(0, len(wanted), 400):
            with database.write() as session:
                known = organisation(session)
                for centre_code, service_code in wanted[start : start + 400]:
                    ticket = issue_ticket(
                        session,
                        centre=known.centres[centre_code],
                        service=known.services[service_code],
                        channel=Channel.KIOSK,
                        actor="bench",
                        now=datetime.now(UTC),
                        ignore_hours=True,
                    )
                    tokens.append(ticket.token)
    finally:
        database.dispose()
    return tokens


def services_of_counter(centre_code: str, counter: int | None) -> list[str]:
    """The walk-in services of a demo-derived centre (all, or those of one counter), from the TOML."""
    demo = ROOT / "config" / "demo"
    templates = tomllib.loads((demo / "centres.toml").read_text(encoding="utf-8"))["centre"]
    services = {s["code"]: s for s in tomllib.loads((demo / "services.toml").read_text())["service"]}
    number = int(centre_code.split("-")[1]) - 1 if centre_code.startswith("NAT-") else None
    spec = (
        templates[number % len(templates)]
        if number is not None
        else next(t for t in templates if t["code"] == centre_code)
    )
    codes = list(spec["counters"][counter - 1]["services"]) if counter else list(spec["services"])
    return [c for c in codes if services[c].get("walk_in", True)]


# --- the counter agents --------------------------------------------------------------------------


def request(
    port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Content-Type": "application/json", **(headers or {})}
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@dataclass
class Call:
    centre: str
    sent: float
    number: str
    service: str


class Agents:
    """One agent per centre, signed in, working counter 1: each call finishes the ticket in hand
    (start, finish) and calls the next one. Requests go to a random process among those up."""

    def __init__(self, centres: list[str], ports: list[int]) -> None:
        self.centres = centres
        self.ports = list(ports)
        self.sessions: dict[str, dict[str, str]] = {}
        self.in_hand: set[str] = set()
        self.calls: list[Call] = []
        self.errors: Counter[str] = Counter()

    def send(self, centre: str, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        for _ in range(3):  # another process when one is going down
            try:
                status, _, data = request(
                    random.choice(self.ports), method, path, body, self.sessions[centre]
                )
            except OSError as exc:
                self.errors[type(exc).__name__] += 1
                time.sleep(0.05)
                continue
            if status < 500:
                return status, data
            self.errors[str(status)] += 1
        return 599, b""

    def sign_in(self) -> None:
        for i, centre in enumerate(self.centres):
            port = self.ports[0]
            body = {"username": f"nat{i + 1:02d}", "password": PASSWORD}
            status, headers, data = request(port, "POST", "/api/v1/auth/login", body)
            if status != 200:
                raise RuntimeError(f"sign-in of nat{i + 1:02d}: {status} {data[:200]!r}")
            cookie = headers["set-cookie"].split(";", 1)[0]
            self.sessions[centre] = {"Cookie": cookie, "X-CSRF-Token": json.loads(data)["csrf_token"]}
            status, data = self.send(centre, "POST", self.counter_path(centre, "open"))
            if status != 200:
                raise RuntimeError(f"{centre} counter {COUNTER} open: {status} {data[:200]!r}")

    def counter_path(self, centre: str, action: str) -> str:
        return f"/api/v1/centres/{centre}/counters/{COUNTER}/{action}"

    def call(self, centre: str) -> None:
        if centre in self.in_hand:
            for action in ("start", "finish"):
                status, data = self.send(centre, "POST", self.counter_path(centre, action))
                if status != 200:
                    self.errors[f"{action} {status}"] += 1
            self.in_hand.discard(centre)
        sent = time.time()
        status, data = self.send(centre, "POST", self.counter_path(centre, "next"))
        if status == 200:
            ticket = json.loads(data)["ticket"]
            self.calls.append(Call(centre, sent, ticket["number"], ticket["service"]))
            self.in_hand.add(centre)
        else:
            self.errors[f"next {status}"] += 1

    def run(self, seconds: float, interval: float, stop: threading.Event, start_at: int = 0) -> int:
        """Calls at the centres in turn, one every `interval` seconds, for `seconds` or until `stop`.

        Agents do not wait for each other: each centre's call runs on its own thread, so a slow
        answer does not slow the rate; a centre whose previous call has not been answered yet skips
        its turn (counted in `errors`)."""
        began = time.monotonic()
        k = start_at
        busy: dict[str, Any] = {}
        with ThreadPoolExecutor(16) as pool:
            while time.monotonic() - began < seconds and not stop.is_set():
                centre = self.centres[k % len(self.centres)]
                if centre in busy and not busy[centre].done():
                    self.errors["turn skipped: the previous call unanswered"] += 1
                else:
                    busy[centre] = pool.submit(self.call, centre)
                k += 1
                wait = began + (k - start_at) * interval - time.monotonic()
                if wait > 0:
                    stop.wait(wait)
        return k


# --- the storm -----------------------------------------------------------------------------------


@dataclass
class Storm:
    system: str
    subscribers: int
    opened: int = 0
    total_s: float = float("nan")  # first connect to last first message
    each_s: list[float] = field(default_factory=list)  # per subscriber: its connect to its first message
    sizes: dict[str, int] = field(default_factory=dict)  # the first messages' sizes, bytes


def storm_once(system: str, crowds: Crowds, specs: list[Any], timeout: float) -> Storm:
    result = Storm(system, len(specs))
    result.opened, _ = crowds.open(specs, 0, timeout)
    times = [t for reply in crowds.gather("first_times") for t in reply]
    firsts = [first for _, first in times if first is not None]
    if firsts:
        result.total_s = max(firsts) - min(start for start, _ in times)
    result.each_s = [first - start for start, first in times if first is not None]
    crowds.gather("close")
    return result


def run_storm(args: argparse.Namespace, folder: Path, crowds: Crowds) -> list[Storm]:
    """The storm on SQLite or on a throwaway PostgreSQL database."""
    if args.storm_database == "postgresql":
        with postgres_database() as database_url:
            return storm_on(database_url, args, folder, crowds)
    return storm_on(f"sqlite:///{folder / 'storm.sqlite3'}", args, folder, crowds)


def storm_on(database_url: str, args: argparse.Namespace, folder: Path, crowds: Crowds) -> list[Storm]:
    """N subscribers connect at once to one Dor process: half displays, half trackers; then the same
    N to the bare websockets server, which sends each the text of the same size on connect."""
    n = args.storm
    prepare_database(database_url)
    centres = ["DAM-01", "DAM-02", "RIF-01", "RIF-02"]
    wanted = []
    for i in range(n - n // 2):  # the trackers' tickets: every walk-in service of each centre in turn
        services = services_of_counter(centres[i % len(centres)], None)
        wanted.append((centres[i % len(centres)], services[i // len(centres) % len(services)]))
    tokens = issue_waiting(database_url, wanted)
    paths = [f"/ws/centres/{centres[i % len(centres)]}/display" for i in range(n // 2)]
    paths += [f"/ws/tickets/{token}" for token in tokens]
    random.Random(1).shuffle(paths)
    port = PORTS[0]
    env = dor_env(database_url, DOR_ALWAYS_OPEN="true", DOR_LOG_LEVEL="WARNING")
    results = []
    dor = start_server("dor", [sys.executable, "-m", "server.cli", "serve"], env, folder, port)
    try:
        crowds.settings([port], args.compression, False)
        probe = [
            paths.index(next(p for p in paths if "/display" in p)),
            paths.index(next(p for p in paths if "/tickets/" in p)),
        ]
        crowds.open(seat_specs([paths[i] for i in probe], [port], crowds.addresses(1), 40), 0, 60)
        texts: dict[str, str] = {}
        for reply in crowds.gather("samples"):
            texts.update(reply)
        crowds.gather("close")
        time.sleep(1)
        addresses = crowds.addresses(-(-n // args.per_address))
        print(f"... storm: {n:,} subscribers to Dor", flush=True)
        results.append(
            storm_once(
                "dor", crowds, seat_specs(paths, [port], addresses, args.per_address), args.storm_timeout
            )
        )
    finally:
        dor.stop()
    texts["display_later"] = texts["tracker_later"] = "{}"
    base = start_baseline("baseline", texts, folder, PORTS[1])
    try:
        print(f"... storm: {n:,} subscribers to the baseline", flush=True)
        base_paths = [baseline_path(p, {}) for p in paths]
        specs = seat_specs(
            base_paths, [base.port], crowds.addresses(-(-n // args.per_address)), args.per_address
        )
        results.append(storm_once("baseline", crowds, specs, args.storm_timeout))
    finally:
        base.stop()
    results[0].sizes = {k: len(v.encode()) for k, v in texts.items() if k.endswith("first")}
    return results


def baseline_path(path: str, trackers: dict[str, tuple[str, str]]) -> str:
    """The baseline's path for a Dor path: /display/{centre} or /tracker/{centre}/{service}."""
    centre = display_centre(path)
    if centre is not None:
        return f"/display/{centre}"
    token = path.rsplit("/", 1)[1]
    centre, service = trackers.get(token, ("any", "any"))
    return f"/tracker/{centre}/{service}"


def report_storm(results: list[Storm], args: argparse.Namespace) -> list[tuple[str, bool, str]]:
    dor, base = results
    print()
    print(
        f"Reconnect storm: {dor.subscribers:,} subscribers connect at once to one process (half hall "
        f"displays over the 4 demo centres, half trackers of distinct waiting tickets); {args.storm_database}"
    )
    header = f"{'system':<21} {'opened':>7} {'all served s':>12} {'ratio':>6} {'p50 s':>7} {'p99 s':>7}"
    print(header)
    print("-" * len(header))
    for run in results:
        name = "dor" if run.system == "dor" else "websockets (bare)"
        print(
            f"{name:<21} {run.opened:>7,} {fmt(run.total_s, 2):>12} {fmt(run.total_s / base.total_s, 2):>6} "
            f"{fmt(pct(run.each_s, 50), 2):>7} {fmt(pct(run.each_s, 99), 2):>7}"
        )
    print(
        "all served: from the first connect to the last first message (Dor: snapshot or view); p50/p99:\n"
        f"per subscriber, from its connect to its first message. First messages: {dor.sizes} bytes"
    )
    ratio = dor.total_s / base.total_s
    return [
        (
            f"storm of {dor.subscribers:,}: all served within {TARGET_STORM_S:.0f} s",
            dor.total_s <= TARGET_STORM_S and dor.opened == dor.subscribers,
            f"{dor.total_s:.2f} s, {dor.opened:,} served",
        ),
        (
            f"storm: at most {TARGET_STORM_RATIO:.0f}x the baseline's time",
            ratio <= TARGET_STORM_RATIO,
            f"{ratio:.2f}x",
        ),
    ]


# --- national load and the rolling restart -------------------------------------------------------


@dataclass
class National:
    system: str
    subscribers: int
    opened: int = 0
    open_s: float = 0.0
    rss_before_kib: list[int] = field(default_factory=list)
    rss_after_kib: list[int] = field(default_factory=list)
    calls: int = 0
    last_ms: list[float] = field(default_factory=list)  # per call: its last delivery
    delays_ms: list[float] = field(default_factory=list)  # every display's (every subscriber's: baseline)
    tracker_delays_ms: list[float] = field(default_factory=list)  # every tracker's (Dor)
    deliveries: int = 0
    missing: int = 0
    note: str = ""

    @property
    def kib_per_conn(self) -> float:
        return (sum(self.rss_after_kib) - sum(self.rss_before_kib)) / max(1, self.opened)


@dataclass
class Restart:
    lost: int = 0
    resumed: int = 0
    waits: list[float] = field(default_factory=list)
    still_without: list[float] = field(default_factory=list)
    attempts: int = 0
    calls: int = 0
    displays: int = 0
    missed: int = 0
    gaps: int = 0
    examples: list[str] = field(default_factory=list)
    trackers: int = 0
    trackers_checked: int = 0
    tracker_mismatches: int = 0
    tracker_examples: list[str] = field(default_factory=list)
    get_failures: Counter[str] = field(default_factory=Counter)  # GETs that got no view: why
    mismatched: list[str] = field(default_factory=list)  # trackers whose last view != GET
    late: int = 0  # of those, trackers whose view was right LATE_S later
    stop_s: float = 0.0
    all_back_s: float = float("nan")  # from the signal until every subscriber had resumed
    down_s: float = 0.0  # from the successor's start until it answered /healthz
    note: str = ""


COMPARED = ("status", "position", "ahead", "counter")
LATE_S = 20.0  # a tracker's last view that differs from a GET is looked at again this much later


def national_paths(codes: list[str], tokens_of: dict[str, list[str]], displays: int) -> list[str]:
    """Per centre its displays and trackers, interleaved so that each process gets half of each."""
    paths = []
    for code in codes:
        paths += [f"/ws/centres/{code}/display"] * displays
        paths += [f"/ws/tickets/{token}" for token in tokens_of[code]]
    return paths


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    from calls_per_request import database_url

    with database_url("postgresql") as url:
        yield url


@contextlib.contextmanager
def redis_db() -> Iterator[None]:
    import redis

    client = redis.Redis.from_url(BUS_URL)
    client.flushdb()
    try:
        yield
    finally:
        client.flushdb()
        client.close()


def calls_seen(crowds: Crowds, agents: Agents, first: int) -> list[dict[str, Any]]:
    """The calls the agents made from `first` on, with their event's seq and `at` as displays saw them."""
    events: dict[tuple[str, str], dict[str, Any]] = {}
    for reply in crowds.gather("called"):
        for event in reply:
            events.setdefault((event["centre"], event["number"]), event)
    out = []
    for index, call in enumerate(agents.calls[first:], start=first):
        event = events.get((call.centre, call.number))
        if event is not None:
            at = datetime.fromisoformat(event["at"]).timestamp()
            out.append(
                {
                    "index": index,
                    "centre": call.centre,
                    "seq": event["seq"],
                    "at_ts": at,
                    "service": event["service"],
                }
            )
    return out


def settle(crowds: Crowds, calls: list[dict[str, Any]], timeout: float, quiet_s: float = 3.0) -> int:
    """Waits until every display has its centre's last call and no message arrived for `quiet_s`
    (trackers' last views too), or the timeout; how many displays are still behind."""
    last: dict[str, int] = {}
    for call in calls:
        last[call["centre"]] = max(last.get(call["centre"], 0), call["seq"])
    deadline = time.monotonic() + timeout
    while True:
        behind = sum(crowds.gather("behind", last))
        quiet = time.time() - max(crowds.gather("newest")) >= quiet_s
        if (not behind and quiet) or time.monotonic() > deadline:
            return behind
        time.sleep(1)


def measure_deliveries(
    run: National, crowds: Crowds, calls: list[dict[str, Any]], trackers: dict[str, tuple[str, str]]
) -> None:
    last: dict[int, float] = {}
    for reply in crowds.gather("deliveries", calls, trackers):
        for index, delay in reply["last"].items():
            last[index] = max(last.get(index, 0.0), delay)
        run.delays_ms += [1000 * d for d in reply["delays"]]
        run.tracker_delays_ms += [1000 * d for d in reply["tracker_delays"]]
        run.deliveries += sum(reply["count"].values())
        run.missing += sum(reply["missing"].values())
    run.calls = len(calls)
    run.last_ms = [1000 * v for v in last.values()]


def run_national(
    args: argparse.Namespace, folder: Path, crowds: Crowds
) -> tuple[list[National], Restart | None]:
    codes_count, displays, trackers_per = args.centres, args.displays, args.trackers
    n = codes_count * (displays + trackers_per)
    ports = [PORTS[10], PORTS[11]]
    results: list[National] = []
    restart: Restart | None = None
    with postgres_database() as database_url, redis_db():
        prepare_database(database_url, seed=False)
        codes = national_organisation(folder / "organisation", codes_count)
        seed(database_url, folder / "organisation")
        wanted = []
        for code in codes:
            services = services_of_counter(code, COUNTER)
            wanted += [(code, services[i % len(services)]) for i in range(trackers_per)]
        print(f"... national: issuing {len(wanted):,} waiting tickets", flush=True)
        tokens = issue_waiting(database_url, wanted)
        trackers = dict(zip(tokens, wanted, strict=True))
        tokens_of: dict[str, list[str]] = defaultdict(list)
        for token, (code, _) in trackers.items():
            tokens_of[code].append(token)
        paths = national_paths(codes, tokens_of, displays)
        env = dor_env(
            database_url,
            DOR_ALWAYS_OPEN="true",
            DOR_LOG_LEVEL="WARNING",
            DOR_BUS_URL=BUS_URL,
            DOR_SECRET_KEY=SECRET_KEY,
        )
        envs = [env, {**env, "DOR_JOBS": "false"}]
        command = [sys.executable, "-m", "server.cli", "serve"]
        began = time.monotonic()
        servers = [start_server(f"dor{i + 1}", command, envs[i], folder, ports[i]) for i in range(2)]
        print(f"... national: 2 Dor processes up in {time.monotonic() - began:.1f} s", flush=True)
        texts: dict[str, str] = {}
        try:
            run = National("dor", n)
            agents = Agents(codes, ports)
            agents.sign_in()
            crowds.settings(ports, args.compression, False)
            # Warm-up: a display and a tracker on each process, one call; then the memory before.
            warm = [f"/ws/centres/{codes[0]}/display"] * 2 + [f"/ws/tickets/{tokens_of[codes[0]][-1]}"] * 2
            crowds.open(seat_specs(warm, ports, crowds.addresses(1), 40), 0, 60)
            agents.call(codes[0])
            time.sleep(2)
            for reply in crowds.gather("samples"):
                for key, value in reply.items():
                    texts.setdefault(key, value)
            crowds.gather("close")
            first_call = len(agents.calls)
            time.sleep(2)
            run.rss_before_kib = [s.rss_kib() for s in servers]
            print(f"... national: opening {n:,} subscribers on 2 Dor processes", flush=True)
            started = time.monotonic()
            specs = seat_specs(paths, ports, crowds.addresses(-(-n // args.per_address)), args.per_address)
            run.opened, failures = crowds.open(specs, args.gate, SNAPSHOT_TIMEOUT_S)
            run.open_s = time.monotonic() - started
            time.sleep(5)
            run.rss_after_kib = [s.rss_kib() for s in servers]
            print(
                f"... national: {run.opened:,} open in {run.open_s:.0f} s ({failures} failed); "
                f"calls for {args.national_seconds:.0f} s",
                flush=True,
            )
            agents.run(args.national_seconds, args.call_interval, threading.Event())
            national_end = len(agents.calls)
            time.sleep(2)
            calls = calls_seen(crowds, agents, first_call)
            behind = settle(crowds, calls, 60)
            if behind:
                run.note += f"{behind} displays behind at the end; "
            measure_deliveries(run, crowds, calls, trackers)
            missed_calls = len(agents.calls) - first_call - len(calls)
            if missed_calls:
                run.note += f"{missed_calls} calls seen by no display; "
            if agents.errors:
                run.note += f"agents' errors {dict(agents.errors)}; "
            results.append(run)
            if args.rolling_restart:
                restart = rolling_restart(args, folder, crowds, servers, agents, envs, trackers)
            crowds.gather("close")
        finally:
            for server in servers:
                server.stop()
    # The baseline: two bare servers holding the same connections, broadcasting the same calls.
    for key in ("display_later", "tracker_later"):
        texts.setdefault(key, texts.get(key.replace("later", "first"), "{}"))
    bases = [start_baseline(f"baseline{i + 1}", texts, folder, PORTS[20 + i]) for i in range(2)]
    try:
        base = National("baseline", n)
        time.sleep(1)
        base.rss_before_kib = [s.rss_kib() for s in bases]
        base_ports = [s.port for s in bases]
        crowds.settings(base_ports, args.compression, False)
        specs = seat_specs(
            [baseline_path(p, trackers) for p in paths],
            base_ports,
            crowds.addresses(-(-n // args.per_address)),
            args.per_address,
        )
        print(f"... national: opening {n:,} subscribers on 2 baseline processes", flush=True)
        started = time.monotonic()
        base.opened, _ = crowds.open(specs, args.gate, SNAPSHOT_TIMEOUT_S)
        base.open_s = time.monotonic() - started
        time.sleep(5)
        base.rss_after_kib = [s.rss_kib() for s in bases]
        made = agents.calls[first_call:national_end]
        began = time.monotonic()
        for seq, call in enumerate(made, start=1):
            for port in base_ports:
                request(port, "GET", f"/publish?centre={call.centre}&service={call.service}&seq={seq}")
            wait = began + seq * args.call_interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        time.sleep(3)
        last: dict[int, float] = {}
        for reply in crowds.gather("baseline_deliveries"):
            for seq, delay in reply["last"].items():
                last[seq] = max(last.get(seq, 0.0), delay)
            base.delays_ms += [1000 * d for d in reply["delays"]]
            base.tracker_delays_ms += [1000 * d for d in reply["tracker_delays"]]
            base.deliveries += sum(reply["count"].values())
        base.calls = len(made)
        base.last_ms = [1000 * v for v in last.values()]
        crowds.gather("close")
        results.append(base)
    finally:
        for server in bases:
            server.stop()
    return results, restart


def rolling_restart(
    args: argparse.Namespace,
    folder: Path,
    crowds: Crowds,
    servers: list[Server],
    agents: Agents,
    envs: list[dict[str, str]],
    trackers: dict[str, tuple[str, str]],
) -> Restart:
    """Replaces the first process while the calls go on, as docs/operations.md says to: its successor
    starts on another port and joins the load balancer once it answers /healthz, then the old one gets
    SIGTERM; its clients reconnect with the pages' policy to either process that answers."""
    result = Restart()
    ports = [s.port for s in servers]
    crowds.settings(ports, args.compression, True)
    first_call = len(agents.calls)
    stop = threading.Event()
    caller = threading.Thread(target=agents.run, args=(3600, args.call_interval, stop, 7), daemon=True)
    caller.start()
    try:
        time.sleep(5)
        victim = servers[0]
        print(f"... rolling restart: starting {victim.name}'s successor", flush=True)
        began = time.monotonic()
        command = [sys.executable, "-m", "server.cli", "serve"]
        successor_port = victim.port + len(servers)
        servers[0] = start_server(victim.name, command, envs[0], folder, successor_port)
        result.down_s = time.monotonic() - began
        ports = [successor_port, ports[1]]
        agents.ports = ports
        crowds.settings(ports, args.compression, True)  # the load balancer takes the successor in
        print(f"... rolling restart: successor up in {result.down_s:.1f} s; SIGTERM to {victim.name}")
        began = time.monotonic()
        victim.process.send_signal(signal.SIGTERM)
        try:
            victim.process.wait(30)
        except Exception:
            result.note += "did not exit within 30 s of SIGTERM (killed); "
            victim.process.kill()
            victim.process.wait(5)
        result.stop_s = time.monotonic() - began
        print(f"... rolling restart: {victim.name} exited in {result.stop_s:.1f} s; waiting", flush=True)
        deadline = time.monotonic() + args.resume_timeout
        while time.monotonic() < deadline:
            states = crowds.gather("resumed")
            lost = sum(s["lost"] for s in states)
            if lost and sum(s["resumed"] for s in states) == lost:
                result.all_back_s = time.monotonic() - began
                break
            time.sleep(2)
        time.sleep(10)  # calls go on after everyone is back
    finally:
        stop.set()
        caller.join(60)
    crowds.settings(ports, args.compression, False)
    time.sleep(2)
    for state in crowds.gather("resumed"):
        result.lost += state["lost"]
        result.resumed += state["resumed"]
        result.waits += state["waits"]
        result.attempts += state["attempts"]
        result.still_without += state["still_without"]
    calls = calls_seen(crowds, agents, first_call)
    result.calls = len(calls)
    behind = settle(crowds, calls, 60)
    if behind:
        result.note += f"{behind} displays behind at the end; "
    all_calls = calls_seen(crowds, agents, 0)
    finals: dict[str, dict[str, Any]] = {}
    for reply in crowds.gather("verify", all_calls):
        result.displays += reply["displays"]
        result.missed += reply["missed"]
        result.gaps += reply["gaps"]
        result.examples += reply["examples"]
        finals.update(reply["finals"])
    result.trackers = len(trackers)
    ports = [s.port for s in servers]
    check_trackers(result, finals, list(trackers), ports)
    if result.mismatched:  # late, or never coming? Another look once a late view has had time
        time.sleep(LATE_S)
        finals = {}
        for reply in crowds.gather("verify", all_calls):
            finals.update(reply["finals"])
        again = Restart()
        check_trackers(again, finals, result.mismatched, ports)
        result.late = len(result.mismatched) - len(again.mismatched)
        result.tracker_mismatches, result.tracker_examples = len(again.mismatched), again.tracker_examples
    if len(agents.calls) - first_call != len(calls):
        result.note += f"{len(agents.calls) - first_call - len(calls)} calls seen by no display; "
    return result


def check_trackers(
    result: Restart, finals: dict[str, dict[str, Any]], trackers: list[str], ports: list[int]
) -> None:
    """Every tracker's last view against a fresh GET of its ticket."""

    local = threading.local()  # a kept-alive connection per thread: 16,000 GETs, few sockets

    def fetch(token: str) -> tuple[str, dict[str, Any] | None]:
        """The ticket's view; tried again (5 times at most) after a failure or an answer other than 200."""
        answered = "no answer"
        for attempt in range(5):
            if getattr(local, "connection", None) is None:
                local.connection = http.client.HTTPConnection(HOST, random.choice(ports), timeout=30)
            try:
                local.connection.request("GET", f"/api/v1/tickets/{token}")
                response = local.connection.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                answered = type(exc).__name__
                local.connection.close()
                local.connection = None
                time.sleep(0.2 * (attempt + 1))
                continue
            if response.status == 200:
                return token, json.loads(data)
            answered = f"{response.status} {data[:120]!r}"
            time.sleep(0.2 * (attempt + 1))
        result.get_failures[answered] += 1
        return token, None

    with ThreadPoolExecutor(8) as pool:
        for token, fresh in pool.map(fetch, trackers):
            if fresh is None:
                continue
            result.trackers_checked += 1
            final = finals.get(token)
            if final is None or any(final.get(k) != fresh.get(k) for k in COMPARED):
                result.tracker_mismatches += 1
                result.mismatched.append(token)
                if len(result.tracker_examples) < 5:
                    shown = {k: (final or {}).get(k) for k in COMPARED}
                    result.tracker_examples.append(
                        f"{token[:8]}: ws {shown} GET { ({k: (fresh or {}).get(k) for k in COMPARED}) }"
                    )


def report_national(results: list[National], args: argparse.Namespace) -> list[tuple[str, bool, str]]:
    dor, base = results
    print()
    print(
        f"National load: {args.centres} centres x ({args.displays} displays + {args.trackers} trackers) = "
        f"{dor.subscribers:,} subscribers on 2 processes (PostgreSQL, Redis); a call every "
        f"{args.call_interval * 1000:.0f} ms at the centres in turn"
    )
    header = (
        f"{'system':<21} {'calls':>5} {'last p50':>9} {'last p99':>9} {'ratio':>6} {'max':>8} "
        f"{'disp p50':>9} {'disp p99':>9} {'track p50':>9} {'track p99':>9} {'deliveries':>10} {'missing':>7}"
    )
    print(header)
    print("-" * len(header))
    for run in results:
        name = "dor" if run.system == "dor" else "websockets (bare)"
        print(
            f"{name:<21} {run.calls:>5} {fmt(pct(run.last_ms, 50)):>9} {fmt(pct(run.last_ms, 99)):>9} "
            f"{fmt(pct(run.last_ms, 99) / pct(base.last_ms, 99), 2):>6} "
            f"{fmt(max(run.last_ms, default=float('nan'))):>8} "
            f"{fmt(pct(run.delays_ms, 50)):>9} {fmt(pct(run.delays_ms, 99)):>9} "
            f"{fmt(pct(run.tracker_delays_ms, 50)):>9} {fmt(pct(run.tracker_delays_ms, 99)):>9} "
            f"{run.deliveries:>10,} {run.missing:>7}" + (f"  {run.note}" if run.note else "")
        )
    print(
        "ms from the event's `at`; last: per call, its last delivery (displays of the centre: the event;\n"
        "trackers of the called service's queue: their new view); disp/track: every display's/tracker's delay"
    )
    print()
    print("Memory, idle with every connection open (VmRSS per process, before -> after opening)")
    for run in results:
        name = "dor" if run.system == "dor" else "websockets (bare)"
        shown = ", ".join(
            f"{b / 1024:.0f} -> {a / 1024:.0f} MiB"
            for b, a in zip(run.rss_before_kib, run.rss_after_kib, strict=True)
        )
        print(
            f"  {name:<21} {shown}: {run.kib_per_conn:.1f} KiB/conn "
            f"({run.opened:,} opened in {run.open_s:.0f} s)"
        )
    p99 = pct(dor.last_ms, 99)
    biggest = max(dor.rss_after_kib) / 1024
    return [
        (
            f"national: last delivery p99 <= {TARGET_LAST_P99_MS:.0f} ms",
            p99 <= TARGET_LAST_P99_MS and dor.missing == 0,
            f"{p99:.0f} ms ({pct(base.last_ms, 99):.0f} ms baseline), {dor.missing} missing",
        ),
        (
            f"national: <= {TARGET_KIB_PER_CONN:.0f} KiB per idle connection",
            dor.kib_per_conn <= TARGET_KIB_PER_CONN,
            f"{dor.kib_per_conn:.1f} KiB ({base.kib_per_conn:.1f} baseline)",
        ),
        (
            f"national: no process over {TARGET_RSS_MIB:.0f} MiB",
            biggest <= TARGET_RSS_MIB,
            f"largest {biggest:.0f} MiB",
        ),
    ]


def report_restart(result: Restart) -> list[tuple[str, bool, str]]:
    print()
    print(
        f"Rolling restart of one of the two processes under the national load, calls going on: its\n"
        f"successor answered /healthz {result.down_s:.1f} s after it started, then the old one exited "
        f"{result.stop_s:.1f} s after SIGTERM. Clients reconnect with full jitter (first try at random "
        "0-5 s, then random(0, min(30, 2^n)) s) to "
        "either process"
    )
    longest = max(result.waits, default=float("nan"))
    print(
        f"  lost their socket {result.lost:,}; resumed {result.resumed:,} (all {fmt(result.all_back_s)} s "
        f"after SIGTERM); reconnection attempts {result.attempts:,}; "
        f"wait from loss to snapshot/view: p50 {fmt(pct(result.waits, 50), 2)} s, p99 "
        f"{fmt(pct(result.waits, 99), 2)} s, longest {fmt(longest, 2)} s"
    )
    print(
        f"  calls during it {result.calls}; displays {result.displays:,}: missed calls {result.missed}, "
        f"seq gaps {result.gaps}; trackers {result.trackers:,}: checked {result.trackers_checked:,}, "
        f"last view != GET {result.tracker_mismatches} (and {result.late} more right only "
        f"{LATE_S:.0f} s later)"
        + (f"; GETs without an answer: {dict(result.get_failures)}" if result.get_failures else "")
    )
    for example in result.examples + result.tracker_examples:
        print(f"    {example}")
    if result.note:
        print(f"  {result.note}")
    missed = result.missed + result.gaps + result.tracker_mismatches
    return [
        (
            "restart: every subscriber resumed",
            result.lost > 0 and result.resumed == result.lost,
            f"{result.resumed:,}/{result.lost:,}",
        ),
        (
            f"restart: none waits more than {TARGET_RESUME_S:.0f} s",
            longest <= TARGET_RESUME_S,
            f"longest {longest:.1f} s, p99 {pct(result.waits, 99):.1f} s",
        ),
        (
            "restart: no missed call",
            missed == 0 and result.trackers_checked == result.trackers,
            f"{missed} ({result.trackers - result.trackers_checked} trackers not checked)",
        ),
    ]


# --- the run -------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """The modes asked for, each with its baseline; every process, database and Redis db they made is
    gone at the end, whatever happened."""
    limit = raise_fd_limit()
    print(f"RLIMIT_NOFILE {limit} per process", flush=True)

    def on_alarm(signum: int, frame: object) -> None:
        raise Deadline(f"stopped by the {args.time_limit:.0f} s time limit")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(args.time_limit))
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="dor-peaks-"))
    crowds = None
    verdicts: list[tuple[str, bool, str]] = []
    try:
        crowds = Crowds(args.client_processes)
        if args.storm:
            verdicts += report_storm(run_storm(args, folder, crowds), args)
        if args.national or args.rolling_restart:
            national, restart = run_national(args, folder, crowds)
            verdicts += report_national(national, args)
            if restart is not None:
                verdicts += report_restart(restart)
        print()
        print("Targets")
        for label, ok, shown in verdicts:
            print(f"  {'met   ' if ok else 'MISSED'}  {label}: {shown}")
        print(f"\n(run took {time.perf_counter() - started:.0f} s, ended {datetime.now(UTC):%H:%M} UTC)")
        return 0
    except Deadline as exc:
        print(f"\n{exc}", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        if crowds is not None:
            crowds.shutdown()
        for log in folder.glob("*.log"):
            if args.keep_logs:
                Path(args.keep_logs).mkdir(parents=True, exist_ok=True)
                shutil.copy(log, Path(args.keep_logs) / log.name)
            lines = log.read_text(errors="replace").splitlines()
            errors = [i for i, line in enumerate(lines) if "ERROR" in line or "Traceback" in line]
            if errors:
                shown = "\n".join(lines[errors[0] : errors[0] + 30])
                print(f"{log.name}: {len(errors)} error lines; the first:\n{shown}", file=sys.stderr)
        shutil.rmtree(folder, ignore_errors=True)
