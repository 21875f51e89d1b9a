"""Eight agents at eight counters, served by four processes on one database, work through 500 tickets
issued while they call: nobody is called twice or skipped, and every call is the one the policy makes."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter as Tally
from collections.abc import Callable
from contextlib import closing, nullcontext
from functools import partial
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import delete
from sqlmodel import Session, col, select

from config.db import Database
from config.secrets import hash_password
from config.sql import id_of
from eventlog.models import Event
from organisation.models import Centre, Counter, CounterService, Service, Staff, StaffCentre
from queueing.models import Ticket
from queueing.policy import Candidate, PolicyConfig, Priority, choose_next
from queueing.states import TicketStatus
from tests.integration.helpers import CENTRE, issue_ticket, prepared_database, running_servers, sign_in
from tests.redis_server import own_redis

pytestmark = pytest.mark.slow

PROCESSES = 4
AGENTS = 8
TICKETS = 500
PRODUCERS = 2  # on different processes, so numbers are allocated concurrently
# Agents start calling once this many tickets wait, so that `next` chooses among many; the producer
# keeps at most BACKLOG waiting: every issue and call scans the waiting tickets under the centre's
# log lock, so an unbounded queue would only make the run slower.
HEAD_START = 32
BACKLOG = 64
SERVICES = ("CR", "FS")
PASSWORD = "integration-test"
DEADLINE_S = 420.0


def _staff_the_centre(url: str) -> None:
    """Eight agents and eight counters at DAM-01, every counter serving CR and FS with weight 1."""
    database = Database(url)
    password_hash = hash_password(PASSWORD)  # argon2 is slow: one hash for every account
    try:
        with database.write() as session:
            centre = session.exec(select(Centre).where(Centre.code == CENTRE)).one()
            services = session.exec(select(Service).where(col(Service.code).in_(SERVICES))).all()
            counters = {
                c.number: c for c in session.exec(select(Counter).where(Counter.centre_id == id_of(centre)))
            }
            for number in range(1, AGENTS + 1):
                if number not in counters:
                    counters[number] = Counter(centre_id=id_of(centre), number=number, label=f"IT {number}")
                    session.add(counters[number])
            session.flush()
            counter_ids = [id_of(c) for c in counters.values()]
            session.execute(delete(CounterService).where(col(CounterService.counter_id).in_(counter_ids)))
            for counter_id in counter_ids:
                for service in services:
                    session.add(CounterService(counter_id=counter_id, service_id=id_of(service), weight=1.0))
            for index in range(1, AGENTS + 1):
                staff = Staff(username=f"it-agent{index}", password_hash=password_hash, role="agent")
                session.add(staff)
                session.flush()
                session.add(StaffCentre(staff_id=id_of(staff), centre_id=id_of(centre)))
    finally:
        database.dispose()


class Run:
    """What the threads share: the counts of the run, and everything that went wrong.

    Agents call `next` only when a ticket they know of is waiting for them (or once everything is
    issued), as agents watching the hall would: an empty `next` takes the centre's log lock too, so
    idle polling would only slow the producers down. The counts make a 204 before the end an error:
    201 answers - 200 answers to `next` - `next` requests in flight > 0 means a committed ticket waits.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.progress = threading.Condition(self.lock)  # notified whenever a count changes
        self.to_issue = iter(range(TICKETS))
        self.issued = 0  # 201 answers
        self.calls = 0  # 200 answers to `next`
        self.asking = 0  # `next` requests in flight
        self.all_issued = threading.Event()
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.statuses: Tally[int] = Tally()

    def fail(self, message: str) -> None:
        with self.progress:
            self.errors.append(message)
            self.stop.set()
            self.progress.notify_all()

    def request(
        self, what: str, send: Callable[[], httpx2.Response], *expected: int
    ) -> httpx2.Response | None:
        """Sends a request; anything but an expected status (a 5xx above all) ends the run."""
        try:
            response = send()
        except httpx2.HTTPError as exc:
            self.fail(f"{what}: {exc!r}")
            return None
        with self.lock:
            self.statuses[response.status_code] += 1
        if response.status_code not in expected:
            self.fail(f"{what}: {response.status_code} {response.text[:300]}")
            return None
        return response


def _produce(run: Run, base_url: str, offset: int) -> None:
    """Issues tickets until the run has its 2,000, alternating CR and FS."""
    with httpx2.Client(base_url=base_url, timeout=60.0) as client:
        while not run.stop.is_set():
            with run.progress:
                while run.issued - run.calls >= BACKLOG and not run.stop.is_set():
                    run.progress.wait(1.0)
                index = next(run.to_issue, None)
            if index is None:
                return
            service = SERVICES[(index + offset) % len(SERVICES)]
            if run.request(f"issue {index}", partial(issue_ticket, client, service), 201) is None:
                return
            with run.progress:
                run.issued += 1
                if run.issued == TICKETS:
                    run.all_issued.set()
                run.progress.notify_all()


def _work_counter(run: Run, base_url: str, agent: int) -> None:
    """An agent opens its counter and calls, starts and finishes until the last ticket is served."""
    counter = f"/api/v1/centres/{CENTRE}/counters/{agent}"
    with closing(sign_in(base_url, f"it-agent{agent}", PASSWORD)) as client:
        if run.request(f"open {agent}", lambda: client.post(f"{counter}/open"), 200) is None:
            return
        while not run.stop.is_set():
            with run.progress:
                while not (run.stop.is_set() or run.all_issued.is_set()) and (
                    run.issued < HEAD_START or run.issued - run.calls - run.asking <= 0
                ):
                    run.progress.wait(1.0)
                if run.stop.is_set():
                    return
                everything_issued = run.all_issued.is_set()  # then a 204 means the end
                run.asking += 1
            called = run.request(f"next {agent}", lambda: client.post(f"{counter}/next"), 200, 204)
            with run.progress:
                run.asking -= 1
                if called is not None and called.status_code == 200:
                    run.calls += 1
                run.progress.notify_all()
            if called is None:
                return
            if called.status_code == 204:
                if everything_issued:
                    return
                if not run.all_issued.is_set():  # else the last tickets went to agents not counting
                    run.fail(f"next {agent}: 204 while at least one issued ticket was waiting")
                    return
                continue
            for action in ("start", "finish"):
                if run.request(f"{action} {agent}", partial(client.post, f"{counter}/{action}"), 200) is None:
                    return


def _guarded(run: Run, work: Callable[..., None], *args: object) -> threading.Thread:
    """A thread running `work`; an exception in it fails the run instead of vanishing."""

    def target() -> None:
        try:
            work(run, *args)
        except BaseException as exc:
            run.fail(f"{threading.current_thread().name}: {exc!r}")

    return threading.Thread(target=target, name=f"{work.__name__}{args[-1]}")


def _watchdog(run: Run, workers: list[threading.Thread]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    if any(worker.is_alive() for worker in workers):
        run.fail(f"the run took longer than {DEADLINE_S} s; {run.issued} issued, {run.calls} called")
        for worker in workers:
            worker.join(30)


def _replay_policy(session: Session, centre_id: int, events: list[Event]) -> tuple[list[str], int]:
    """Replays the log: each call must be the ticket choose_next picks among those waiting then.

    Returns the calls that differ, and how many calls had more than one ticket to choose from.
    """
    tickets = {t.id: t for t in session.exec(select(Ticket).where(Ticket.centre_id == centre_id))}
    weights: dict[int, dict[int, float]] = {}
    for counter_id, service_id, weight in session.exec(
        select(CounterService.counter_id, CounterService.service_id, CounterService.weight)
    ):
        weights.setdefault(counter_id, {})[service_id] = weight
    config = PolicyConfig()
    waiting: dict[int, Candidate] = {}
    wrong: list[str] = []
    choices = 0
    for event in events:
        if event.type == "issued":
            ticket = tickets[event.ticket_id]
            waiting[id_of(ticket)] = Candidate(
                ticket_id=id_of(ticket),
                service_id=ticket.service_id,
                arrived_at=ticket.arrived_at,
                priority=Priority(ticket.priority),
                appointment_at=ticket.appointment_at,
            )
        elif event.type == "called":
            assert event.counter_id is not None and event.ticket_id is not None
            choices += len(waiting) > 1
            choice = choose_next(
                waiting.values(), weights=weights[event.counter_id], now=event.at, config=config
            )
            if choice is None or choice.ticket_id != event.ticket_id:
                wrong.append(
                    f"seq {event.seq}: counter {event.data.get('counter')} called {event.data.get('number')} "
                    f"(ticket {event.ticket_id}) but the policy picks "
                    f"{tickets[choice.ticket_id].number if choice else 'nobody'} "
                    f"(ticket {choice.ticket_id if choice else None}) among {len(waiting)} waiting"
                )
            waiting.pop(event.ticket_id, None)
    return wrong, choices


def test_eight_agents_four_processes_five_hundred_tickets(backend: str, tmp_path: Path) -> None:
    # As a country runs Dor: PostgreSQL with the processes' events rung through one Redis of their own.
    with (
        prepared_database(backend, tmp_path) as prepared,
        own_redis(tmp_path) if backend == "postgresql" else nullcontext((None, None)) as (redis_port, _),
    ):
        bus = {"DOR_BUS_URL": f"redis://127.0.0.1:{redis_port}/0"} if redis_port else {}
        _staff_the_centre(prepared.url)
        run = Run()
        started = time.monotonic()
        with running_servers(prepared.url, tmp_path, PROCESSES, **bus) as servers:
            urls = itertools.cycle([s.url for s in servers])
            workers = [_guarded(run, _work_counter, next(urls), a) for a in range(1, AGENTS + 1)] + [
                _guarded(run, _produce, next(urls), p) for p in range(PRODUCERS)
            ]
            for worker in workers:
                worker.start()
            _watchdog(run, workers)
            logs = {s.url: s.log_tail(20) for s in servers if run.errors}
        elapsed = time.monotonic() - started

        assert not run.errors, (run.errors[:20], logs)
        assert not [s for s in run.statuses if s >= 500], run.statuses
        assert run.issued == TICKETS
        assert run.calls == TICKETS, f"{run.calls} calls answered 200 for {TICKETS} tickets"
        print(f"\n{backend}: {TICKETS} tickets through {AGENTS} counters in {elapsed:.1f} s; {run.statuses}")

        database = Database(prepared.url)
        try:
            with database.read() as session:
                centre = session.exec(select(Centre).where(Centre.code == CENTRE)).one()
                centre_id = id_of(centre)
                tickets = session.exec(select(Ticket).where(Ticket.centre_id == centre_id)).all()
                events = list(
                    session.exec(select(Event).where(Event.centre_id == centre_id).order_by(col(Event.seq)))
                )
                other_centres = session.exec(select(Event).where(Event.centre_id != centre_id)).all()
                wrong, choices = _replay_policy(session, centre_id, events)
        finally:
            database.dispose()

        assert len(tickets) == TICKETS
        assert Tally(t.status for t in tickets) == {TicketStatus.DONE.value: TICKETS}
        numbers = Tally((t.day, t.number) for t in tickets)
        assert [key for key, n in numbers.items() if n > 1] == []

        assert [e.seq for e in events] == list(range(1, len(events) + 1)), "seq has gaps or duplicates"
        assert not other_centres
        types = Tally(e.type for e in events)
        assert types == {
            "counter_opened": AGENTS,
            "issued": TICKETS,
            "called": TICKETS,
            "started": TICKETS,
            "finished": TICKETS,
        }, types
        called = Tally(e.ticket_id for e in events if e.type == "called")
        assert set(called) == {t.id for t in tickets}
        assert [ticket for ticket, n in called.items() if n != 1] == []

        assert choices >= TICKETS // 2, f"only {choices} calls had a choice: the replay proves little"
        assert wrong == [], f"{len(wrong)} calls differ from the policy's choice: {wrong[:10]}"
