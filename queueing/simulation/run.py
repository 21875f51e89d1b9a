"""The discrete-event loop: citizens arrive and counters work on a virtual clock, and every step is a
real transaction of the real engine (issue_ticket, CounterDesk.call_next/start/finish/pause/resume).

The simulator decides only what the world does: when people come, how long a service takes, when an
agent goes on a break. Who is called next is always the engine's answer (queue_heads + choose_next),
and the waits reported are read back from the tickets the engine wrote.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from zoneinfo import ZoneInfo

from sqlmodel import Session

from config.db import Database
from queueing.counters import CounterDesk, find_counter
from queueing.models import Centre, CentreService, Counter, CounterService, Service, Staff, id_of
from queueing.policy import PolicyConfig, Priority
from queueing.simulation.scenario import Scenario, ServiceSpec, local_time, rate_at
from queueing.tickets import Channel, issue_ticket

Progress = Callable[[int, int], None]  # (citizens arrived so far, citizens expected)
STATIONARY_START = datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
CENTRE_CODE = "SIM-01"
KIOSK = "device:simulated-kiosk"
PRIORITIES = (Priority.ELDERLY, Priority.DISABLED, Priority.PREGNANT)
NO_SIGN_IN = "!"  # matches no password: nobody signs in as a simulated agent


def _stream(seed: int, name: str) -> random.Random:
    """One reproducible stream of draws per purpose, so adding a service does not shift the others."""
    return random.Random(f"{seed}:{name}")  # noqa: S311 (simulated citizens, not secrets)


class Kind(IntEnum):
    """What happens at an instant; at one instant, in this order (finishes free counters first)."""

    FINISH = 0
    START = 1
    BREAK_END = 2
    BREAK_START = 3
    ARRIVAL = 4


@dataclass
class Arrival:
    service: str
    priority: Priority = Priority.NONE
    appointment_at: float | None = None  # seconds from the start, for a checked-in booking


@dataclass
class Desk:
    """The simulator's view of one counter (the database holds the truth; this avoids idle polling)."""

    number: int
    services: frozenset[str]
    state: str = "idle"  # idle, walking (called, citizen on the way), serving, paused
    idle_since: float = 0.0
    pending_break_s: float = 0.0
    paused_s: float = 0.0
    paused_from: float = 0.0
    serving_service: str = ""


@dataclass
class Trace:
    """What the hall looked like over time: (seconds from start, waiting per service, hall)."""

    times: list[float] = field(default_factory=list)
    waiting: list[dict[str, int]] = field(default_factory=list)
    hall: list[int] = field(default_factory=list)


@dataclass
class Outcome:
    """What a run leaves behind besides the tickets in the database."""

    start: datetime
    end_s: float
    centre_id: int
    service_ids: dict[str, int]
    counter_ids: dict[int, int]
    paused_s: dict[int, float]
    trace: Trace
    arrived: int
    booked: int
    no_shows: int


class Simulation:
    """One run of a scenario against a migrated, empty database."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        database: Database,
        seed: int,
        policy: PolicyConfig | None = None,
        citizens: int | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.scenario = scenario
        self.db = database
        self.seed = seed
        self.policy = policy or PolicyConfig()
        self.limit = citizens or (scenario.stationary.citizens if scenario.stationary else 0)
        self.progress = progress
        self.specs = {s.code: s for s in scenario.service}
        self.queue: list[tuple[float, int, int, object]] = []
        self.sequence = 0
        self.waiting = {s.code: 0 for s in scenario.service}
        self.walking = 0
        self.trace = Trace()
        self.arrived = self.booked = self.no_shows = 0
        self.service_rng = _stream(seed, "service")
        self.priority_rng = _stream(seed, "priority")
        if scenario.day is not None:
            zone = ZoneInfo(scenario.day.timezone)
            opens = datetime.combine(scenario.day.date, local_time(scenario.day.opens), zone)
            closes = datetime.combine(scenario.day.date, local_time(scenario.day.closes), zone)
            self.start = opens.astimezone(UTC)
            self.intake_end: float | None = (closes - opens).total_seconds()
        else:
            self.start = STATIONARY_START
            self.intake_end = None
        self.desks: dict[int, Desk] = {}

    # --- the world ---------------------------------------------------------------------------------

    def _at(self, seconds: float) -> datetime:
        return self.start + timedelta(seconds=seconds)

    def _push(self, when: float, kind: Kind, payload: object) -> None:
        self.sequence += 1
        heapq.heappush(self.queue, (when, int(kind), self.sequence, payload))

    def _next_walk_in(self, spec: ServiceSpec, rng: random.Random, after: float) -> float | None:
        """Poisson arrivals with a rate constant within each hour (memoryless: redraw at each hour)."""
        t = after
        while True:
            hour = int(t // 3600)
            if self.intake_end is not None and t >= self.intake_end:
                return None
            rate = (
                rate_at(spec.walk_ins_per_hour, hour)
                if self.intake_end is not None
                else (spec.walk_ins_per_hour[0])
            )
            boundary = (hour + 1) * 3600.0
            if self.intake_end is not None:
                boundary = min(boundary, self.intake_end)
            if rate <= 0:
                if self.intake_end is None:
                    return None
                t = boundary
                continue
            t_next = t + rng.expovariate(rate / 3600)
            if self.intake_end is None or t_next < boundary:
                return t_next
            t = boundary

    def _service_time(self, spec: ServiceSpec) -> float:
        if spec.distribution == "exponential":
            return self.service_rng.expovariate(1 / spec.mean_service_s)
        if spec.cv == 0:
            return spec.mean_service_s
        sigma2 = math.log(1 + spec.cv**2)
        return self.service_rng.lognormvariate(math.log(spec.mean_service_s) - sigma2 / 2, math.sqrt(sigma2))

    def _schedule_appointments(self) -> None:
        appointments = self.scenario.appointments
        for spec in self.scenario.service:
            rng = _stream(self.seed, f"appointments:{spec.code}")
            for hour in range(self.scenario.hours()):
                count = round(rate_at(spec.appointments_per_hour, hour))
                for k in range(count):
                    slot = hour * 3600 + k * 3600 / count
                    if self.intake_end is not None and slot >= self.intake_end:
                        continue
                    self.booked += 1
                    if rng.random() < appointments.no_show_share:
                        self.no_shows += 1
                        continue
                    arrives = max(0.0, slot - rng.uniform(0, appointments.early_min * 60))
                    self._push(arrives, Kind.ARRIVAL, Arrival(spec.code, appointment_at=slot))

    def _record(self, now: float) -> None:
        self.trace.times.append(now)
        self.trace.waiting.append(dict(self.waiting))
        self.trace.hall.append(sum(self.waiting.values()) + self.walking)

    # --- setting up the centre --------------------------------------------------------------------

    def _build_centre(self) -> tuple[int, dict[str, int], dict[int, int]]:
        scenario = self.scenario
        with self.db.write() as session:
            hours: dict[str, list[list[str]]] = {}
            timezone = "Asia/Damascus"
            if scenario.day is not None:
                weekday = scenario.day.date.strftime("%a").lower()
                hours = {weekday: [[scenario.day.opens, scenario.day.closes]]}
                timezone = scenario.day.timezone
            centre = Centre(
                code=CENTRE_CODE,
                name_ar="مركز محاكاة",
                name_en="Simulated centre",
                governorate="Damascus",
                latitude=33.5,
                longitude=36.3,
                timezone=timezone,
                opening_hours=hours,
            )
            session.add(centre)
            session.flush()
            service_ids = {}
            for index, spec in enumerate(scenario.service):
                prefix = spec.prefix or chr(ord("A") + index)
                service = Service(
                    code=spec.code,
                    prefix=prefix,
                    name_ar=spec.code,
                    name_en=spec.code,
                    mean_service_s=round(spec.mean_service_s),
                )
                session.add(service)
                session.flush()
                service_ids[spec.code] = id_of(service)
                session.add(CentreService(centre_id=id_of(centre), service_id=id_of(service)))
            counter_ids = {}
            number = 0
            for counter_spec in scenario.counter:
                for _ in range(counter_spec.count):
                    number += 1
                    counter = Counter(centre_id=id_of(centre), number=number, label=f"Counter {number}")
                    agent = Staff(username=f"sim-agent-{number}", password_hash=NO_SIGN_IN, role="agent")
                    session.add_all([counter, agent])
                    session.flush()
                    counter_ids[number] = id_of(counter)
                    for code, weight in counter_spec.services.items():
                        session.add(
                            CounterService(
                                counter_id=id_of(counter), service_id=service_ids[code], weight=weight
                            )
                        )
                    self.desks[number] = Desk(number, frozenset(counter_spec.services))
                    CounterDesk(
                        session, centre=centre, counter=counter, actor=self._actor(number), now=self.start
                    ).open(agent_id=id_of(agent))
                    zone = ZoneInfo(timezone)
                    for begin, end in counter_spec.breaks:
                        assert scenario.day is not None
                        at = datetime.combine(scenario.day.date, local_time(begin), zone)
                        until = datetime.combine(scenario.day.date, local_time(end), zone)
                        offset = (at.astimezone(UTC) - self.start).total_seconds()
                        self._push(offset, Kind.BREAK_START, (number, (until - at).total_seconds()))
            return id_of(centre), service_ids, counter_ids

    @staticmethod
    def _actor(number: int) -> str:
        return f"staff:sim-agent-{number}"

    # --- the engine, one transaction per action ---------------------------------------------------

    def _desk(self, session: Session, number: int, now: float) -> CounterDesk:
        centre = session.get(Centre, self.centre_id)
        counter = find_counter(session, centre_id=self.centre_id, number=number, lock=True)
        assert centre is not None and counter is not None
        return CounterDesk(
            session, centre=centre, counter=counter, actor=self._actor(number), now=self._at(now)
        )

    def _issue(self, now: float, arrival: Arrival) -> None:
        with self.db.write() as session:
            centre = session.get(Centre, self.centre_id)
            service = session.get(Service, self.service_ids[arrival.service])
            assert centre is not None and service is not None
            booked = arrival.appointment_at is not None
            issue_ticket(
                session,
                centre=centre,
                service=service,
                channel=Channel.APPOINTMENT if booked else Channel.KIOSK,
                actor=KIOSK,
                now=self._at(now),
                priority=arrival.priority,
                appointment_at=self._at(arrival.appointment_at)
                if arrival.appointment_at is not None
                else None,
                # A stationary run goes on day and night; a day scenario meets the centre's real hours.
                ignore_hours=self.intake_end is None,
            )
        self.waiting[arrival.service] += 1

    def _call(self, now: float, desk: Desk) -> bool:
        """The counter's agent presses next; False when the engine finds nobody for it."""
        with self.db.write() as session:
            ticket = self._desk(session, desk.number, now).call_next(policy=self.policy)
            code = None
            if ticket is not None:
                code = next(c for c, i in self.service_ids.items() if i == ticket.service_id)
        if code is None:
            return False
        self.waiting[code] -= 1
        self.walking += 1
        desk.state, desk.serving_service = "walking", code
        if self.scenario.walk_s > 0:
            self._push(now + self.scenario.walk_s, Kind.START, desk.number)
        else:
            self._start(now, desk)
        return True

    def _start(self, now: float, desk: Desk) -> None:
        with self.db.write() as session:
            self._desk(session, desk.number, now).start()
        self.walking -= 1
        desk.state = "serving"
        self._push(now + self._service_time(self.specs[desk.serving_service]), Kind.FINISH, desk.number)

    def _finish(self, now: float, desk: Desk) -> None:
        with self.db.write() as session:
            self._desk(session, desk.number, now).finish()
        self._free(now, desk)

    def _free(self, now: float, desk: Desk) -> None:
        """The counter has nobody in hand: a break that was due begins, or the agent calls next."""
        if desk.pending_break_s > 0:
            self._pause(now, desk, desk.pending_break_s)
            return
        desk.state, desk.idle_since = "idle", now
        self._call(now, desk)

    def _pause(self, now: float, desk: Desk, length_s: float) -> None:
        with self.db.write() as session:
            self._desk(session, desk.number, now).pause(reason="break")
        desk.state, desk.pending_break_s, desk.paused_from = "paused", 0.0, now
        self._push(now + length_s, Kind.BREAK_END, desk.number)

    def _resume(self, now: float, desk: Desk) -> None:
        with self.db.write() as session:
            self._desk(session, desk.number, now).resume()
        desk.paused_s += now - desk.paused_from
        self._free(now, desk)

    def _close_all(self, now: float) -> None:
        with self.db.write() as session:
            for number in self.desks:
                self._desk(session, number, now).close()

    # --- the loop -----------------------------------------------------------------------------------

    def run(self) -> Outcome:
        """Runs the scenario to the end: intake over (or enough citizens) and the hall empty."""
        self.centre_id, self.service_ids, counter_ids = self._build_centre()
        arrival_rngs = {s.code: _stream(self.seed, f"walk-ins:{s.code}") for s in self.scenario.service}
        for spec in self.scenario.service:
            first = self._next_walk_in(spec, arrival_rngs[spec.code], 0.0)
            if first is not None:
                self._push(first, Kind.ARRIVAL, Arrival(spec.code))
        self._schedule_appointments()
        expected = self.limit or self._expected_citizens()
        now = 0.0
        self._record(now)
        while self.queue:
            now, kind, _, payload = heapq.heappop(self.queue)
            if kind == Kind.ARRIVAL:
                assert isinstance(payload, Arrival)
                if self.limit and self.arrived >= self.limit:
                    continue
                if payload.appointment_at is None:
                    spec = self.specs[payload.service]
                    if self.priority_rng.random() < spec.priority_share:
                        payload.priority = self.priority_rng.choice(PRIORITIES)
                    following = self._next_walk_in(spec, arrival_rngs[spec.code], now)
                    if following is not None:
                        self._push(following, Kind.ARRIVAL, Arrival(spec.code))
                self._issue(now, payload)
                self.arrived += 1
                self._answer_arrival(now, payload.service)
                if self.progress is not None and self.arrived % 250 == 0:
                    self.progress(self.arrived, expected)
            elif kind == Kind.FINISH:
                assert isinstance(payload, int)
                self._finish(now, self.desks[payload])
            elif kind == Kind.START:
                assert isinstance(payload, int)
                self._start(now, self.desks[payload])
            elif kind == Kind.BREAK_START:
                assert isinstance(payload, tuple)
                number, length_s = payload
                desk = self.desks[number]
                if desk.state == "idle":
                    self._pause(now, desk, length_s)
                else:
                    desk.pending_break_s = length_s
            elif kind == Kind.BREAK_END:
                assert isinstance(payload, int)
                self._resume(now, self.desks[payload])
            self._record(now)
        self._close_all(now)
        if self.progress is not None:
            self.progress(self.arrived, self.arrived)
        return Outcome(
            start=self.start,
            end_s=now,
            centre_id=self.centre_id,
            service_ids=self.service_ids,
            counter_ids=counter_ids,
            paused_s={n: d.paused_s for n, d in self.desks.items()},
            trace=self.trace,
            arrived=self.arrived,
            booked=self.booked,
            no_shows=self.no_shows,
        )

    def _answer_arrival(self, now: float, service: str) -> None:
        """An idle counter that serves the service calls (the one idle longest, then the lowest number)."""
        idle = [d for d in self.desks.values() if d.state == "idle" and service in d.services]
        for desk in sorted(idle, key=lambda d: (d.idle_since, d.number)):
            if self._call(now, desk):
                return

    def _expected_citizens(self) -> int:
        hours = self.scenario.hours()
        total = 0.0
        for spec in self.scenario.service:
            for hour in range(hours):
                total += rate_at(spec.walk_ins_per_hour, hour)
                total += rate_at(spec.appointments_per_hour, hour) * (
                    1 - self.scenario.appointments.no_show_share
                )
        return max(1, round(total))
