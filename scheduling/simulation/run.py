"""The discrete-event loop: citizens arrive and counters work on a virtual clock, and every step is a
command of an engine (scheduling/simulation/engine.py): the real one on a database, or the same
decisions in memory.

The simulator decides only what the world does: when people come, how long a service takes, when an
agent goes on a break, who follows advice, how long the way to the hall takes. Who is called next is
always the engine's answer (the policy's choice), and the waits reported are read back from the
tickets the engine recorded.

`Simulation` is one class over one run's state, longer than the house's ~400 lines: the handlers of
arrivals, calls, breaks, advice and SMS change the same queues and clocks, and reading them side by
side is how one checks that the engine alone decides.
"""

from __future__ import annotations

import heapq
import math
import random
import statistics
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from zoneinfo import ZoneInfo

from queueing.policy import Priority
from queueing.tickets import estimate_wait_s
from scheduling.capacity import capacity, places_by_demand
from scheduling.recommendations import rank
from scheduling.simulation.database_engine import DatabaseEngine
from scheduling.simulation.engine import Engine, Issued, Layout, Served
from scheduling.simulation.scenario import Scenario, ServiceSpec, local_time, rate_at

Progress = Callable[[int, int], None]  # (citizens arrived so far, citizens expected)
STATIONARY_START = datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
PRIORITIES = (Priority.ELDERLY, Priority.DISABLED, Priority.PREGNANT)
ROLLING = 10
# A walk-away's counter calls again after this long, and marks the no-show this long after the first
# call: the centres' default minimum (organisation/models.py: two calls, 60 s) and an agent's patience.
RECALL_S = 30.0
NO_SHOW_S = 90.0


def _stream(seed: int, name: str) -> random.Random:
    """One reproducible stream of draws per purpose, so adding a service does not shift the others."""
    return random.Random(f"{seed}:{name}")  # noqa: S311 (simulated citizens, not secrets)


class Kind(IntEnum):
    """What happens at an instant; at one instant, in this order (finishes free counters first)."""

    FINISH = 0
    NO_SHOW = 1  # a walk-away's counter gives up on them
    START = 2
    RECALL = 3  # a walk-away's counter calls them again
    BREAK_END = 4
    BREAK_START = 5
    PRESENT = 6  # a remote citizen reaches the hall
    NEXT = 7  # a steady run draws a stream's next citizen (ahead of their arrival by the longest way)
    ARRIVAL = 8
    BALANCE = 9


@dataclass
class Arrival:
    service: str
    centre: int  # index among the scenario's centres
    priority: Priority = Priority.NONE
    appointment_at: float | None = None  # seconds from the start, for a checked-in booking
    # Counted, choices made (on the way to the centre the recommendations named, or going in person
    # after all): only the ticket is left to take.
    decided: bool = False
    travel_s: float | None = None  # a remote ticket, taken this long before they would have walked in
    walk_in_s: float | None = None  # when they would have walked in (the arrival process's clock)
    service_s: float = 0.0  # how long their service will take
    wanted_s: float | None = None  # one who books instead of walking in: when they would have come
    displaced_s: float = 0.0  # their booking: how far its slot is from then (0 when it holds it)
    walks_away: bool = False  # leaves the hall before their call


@dataclass
class Desk:
    """The simulator's view of one counter (the database holds the truth; this avoids idle polling)."""

    centre: int
    number: int
    services: frozenset[str]  # its own queues and its backups: an idle counter calls from any of them
    backups: frozenset[str] = frozenset()
    state: str = "idle"  # idle, walking (called, citizen on the way), serving, paused
    idle_since: float = 0.0
    pending_break_s: float = 0.0
    paused_s: float = 0.0
    paused_from: float = 0.0
    serving_service: str = ""
    service_s: float = 0.0  # how long the citizen in hand takes
    awaiting: int | None = None  # a called remote ticket whose citizen is not in the hall yet


@dataclass(frozen=True)
class Prediction:
    """What each predictor said a walk-in would wait, at the moment the ticket was issued."""

    learned: int  # the engine's forecast (queueing/prediction.py), shown to the citizen
    low: int  # its 80% range
    high: int
    plain: int  # people ahead / open counters x configured mean: Dor's estimate before it learned
    oracle: float | None  # queue-length with the true mean: (ahead + 1 - idle) / (counters x mu)
    last_to_enter: float | None  # the wait of the last walk-in of the queue to be called
    rolling: float | None  # the mean wait of the last ROLLING walk-ins of the queue to be called


@dataclass
class Away:
    """A citizen with a remote ticket: at home, on the way after the "come now" SMS, or in the hall."""

    centre: int
    service: str
    travel_s: float
    walk_in_s: float
    where: str = "home"


@dataclass
class Trace:
    """What the halls looked like over time: (seconds from start, waiting per service, people in
    each centre's hall). Queue lengths count remote tickets; the hall only the people in it."""

    times: list[float] = field(default_factory=list)
    waiting: list[dict[str, int]] = field(default_factory=list)
    halls: list[tuple[int, ...]] = field(default_factory=list)

    def hall(self) -> list[int]:
        """People in all the halls together, at each time."""
        return [sum(h) for h in self.halls]


@dataclass
class Outcome:
    """What a run leaves behind: the tickets the engine served, and what the simulator saw."""

    engine: str
    served: list[Served]
    start: datetime
    end_s: float
    centre_ids: dict[str, int]
    service_ids: dict[str, int]
    counter_ids: dict[str, int]  # "3", or "DAM-01/3" when there are several centres
    paused_s: dict[str, float]
    trace: Trace
    arrived: int
    booked: int
    no_shows: int
    balancer_moves: int
    predictions: dict[int, Prediction]
    would_walk_in: dict[int, float]  # remote ticket id -> when its holder would have walked in
    displaced_s: dict[int, float]  # booking made instead of walking in -> its slot's displacement
    advised_away: int  # walk-ins the recommendations sent to another centre
    travel_s: float  # their extra way, in total
    booked_walk_ins: int  # walk-ins who booked a slot instead ([booking])
    # How far their slots were from the time they would have come (0 inside it), in total.
    booking_displacement_s: float


class Simulation:
    """One run of a scenario on an engine that holds no tickets yet."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        engine: Engine,
        seed: int,
        citizens: int | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.scenario = scenario
        self.engine = engine
        self.seed = seed
        self.limit = citizens or (scenario.stationary.citizens if scenario.stationary else 0)
        self.progress = progress
        self.specs = {s.code: s for s in scenario.service}
        self.centres = scenario.centres()
        self.queue: list[tuple[float, int, int, object]] = []
        self.sequence = 0
        self.waiting = [{s.code: 0 for s in scenario.service} for _ in self.centres]
        self.in_hall = [0 for _ in self.centres]
        self.trace = Trace()
        self.arrived = self.booked = self.no_shows = self.balancer_moves = self.advised_away = 0
        self.travel_s = 0.0
        self.changed, self.last_moves = True, 0  # since the balancer's last round
        self.remote: dict[int, Away] = {}  # remote ticket id -> where its citizen is
        self.service_s: dict[int, float] = {}  # waiting ticket id -> how long its service will take
        self.displaced_s: dict[int, float] = {}  # booking instead of a walk-in -> its displacement
        self.predictions: dict[int, Prediction] = {}  # walk-in ticket id -> what was predicted
        self.recent_waits: defaultdict[tuple[int, str], deque[float]] = defaultdict(
            lambda: deque(maxlen=ROLLING)
        )
        self.choice_rng = _stream(seed, "choices")
        self.travel_rng = _stream(seed, "travel")
        self.booking_rng = _stream(seed, "bookings")
        self.walk_away_rng = _stream(seed, "walk-aways")
        self.gone: set[int] = set()  # ticket ids of the walk-ins who left the hall
        # Bookable places left: (centre, service) -> per slot of the day, from opening.
        self.places: dict[tuple[int, str], list[int]] = {}
        self.booked_walk_ins, self.booking_displacement_s = 0, 0.0
        if scenario.day is not None:
            zone = ZoneInfo(scenario.day.timezone)
            opens = datetime.combine(scenario.day.date, local_time(scenario.day.opens), zone)
            closes = datetime.combine(scenario.day.date, local_time(scenario.day.closes), zone)
            self.start = opens.astimezone(UTC)
            self.intake_end: float | None = (closes - opens).total_seconds()
        else:
            self.start = STATIONARY_START
            self.intake_end = None
        self.desks: list[Desk] = []
        self.trait_rngs: dict[tuple[int, str], random.Random] = {}
        self.layout = Layout([], {}, {})

    # --- the world ---------------------------------------------------------------------------------

    def _at(self, seconds: float) -> datetime:
        return self.start + timedelta(seconds=seconds)

    def _push(self, when: float, kind: Kind, payload: object) -> None:
        self.sequence += 1
        heapq.heappush(self.queue, (when, int(kind), self.sequence, payload))

    def _next_walk_in(
        self, spec: ServiceSpec, scale: float, rng: random.Random, after: float
    ) -> float | None:
        """Poisson arrivals with a rate constant within each hour (memoryless: redraw at each hour)."""
        t = after
        while True:
            hour = int(t // 3600)
            if self.intake_end is not None and t >= self.intake_end:
                return None
            rate = scale * (
                rate_at(spec.walk_ins_per_hour, hour)
                if self.intake_end is not None
                else spec.walk_ins_per_hour[0]
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

    @staticmethod
    def _service_time(spec: ServiceSpec, rng: random.Random) -> float:
        if spec.distribution == "exponential":
            return rng.expovariate(1 / spec.mean_service_s)
        if spec.cv == 0:
            return spec.mean_service_s
        sigma2 = math.log(1 + spec.cv**2)
        return rng.lognormvariate(math.log(spec.mean_service_s) - sigma2 / 2, math.sqrt(sigma2))

    def _schedule_appointments(self) -> None:
        appointments = self.scenario.appointments
        for index, centre in enumerate(self.centres):
            for spec in self.scenario.service:
                rng = _stream(self.seed, f"appointments:{centre.code}:{spec.code}")
                for hour in range(self.scenario.hours()):
                    count = round(rate_at(spec.appointments_per_hour, hour) * centre.demand)
                    for k in range(count):
                        slot = hour * 3600 + k * 3600 / count
                        if self.intake_end is not None and slot >= self.intake_end:
                            continue
                        self.booked += 1
                        self._take_place(index, spec.code, slot)
                        if rng.random() < appointments.no_show_share:
                            self.no_shows += 1
                            continue
                        arrives = max(0.0, slot - rng.uniform(0, appointments.early_min * 60))
                        booking = Arrival(
                            spec.code, index, appointment_at=slot, service_s=self._service_time(spec, rng)
                        )
                        self._push(arrives, Kind.ARRIVAL, booking)

    def _count_places(self) -> None:
        """Each slot's bookable places per centre and service, as the booking's slot engine counts them."""
        if self.intake_end is None:
            return
        booking = self.scenario.booking
        slot = timedelta(minutes=booking.slot_min)
        slots = int(self.intake_end // slot.total_seconds())
        slot_h = slot.total_seconds() / 3600
        for index, centre in enumerate(self.centres):
            weights = [c.services for c in self.scenario.counters_of(centre.code) for _ in range(c.count)]
            flat = {
                spec.code: [
                    capacity(
                        slot=slot,
                        mean_service_s=spec.mean_service_s,
                        counter_weights=weights,
                        service_id=spec.code,
                        walk_in_share=booking.walk_in_share,
                    )
                ]
                * slots
                for spec in self.scenario.service
            }
            if booking.places == "demand":
                flat = places_by_demand(
                    flat,
                    mean_service_s={spec.code: spec.mean_service_s for spec in self.scenario.service},
                    counter_s=[len(weights) * slot.total_seconds()] * slots,
                    walk_in_work_s=[
                        sum(
                            rate_at(spec.walk_ins_per_hour, int(k * slot_h)) * spec.mean_service_s
                            for spec in self.scenario.service
                        )
                        * centre.demand
                        * (1 - booking.share)
                        * slot_h
                        for k in range(slots)
                    ],
                    target_load=booking.target_load,
                )
            for code, places in flat.items():
                self.places[index, code] = list(places)

    def _take_place(self, centre: int, code: str, at: float) -> None:
        """A booking of the scenario's own (`appointments_per_hour`) takes a place of its slot; beyond
        the places, it stands anyway (it was made before the run)."""
        places = self.places.get((centre, code), [])
        slot = int(at // (self.scenario.booking.slot_min * 60))
        if slot < len(places) and places[slot] > 0:
            places[slot] -= 1

    def _book(self, wanted: float, arrival: Arrival) -> bool:
        """A citizen books, days ahead, the slot of the day nearest the time they want (the one
        holding it, else the nearest earlier or later with a place left; the later on a tie) and
        comes for it; False when no place is left that day (they walk in instead)."""
        slot_s = self.scenario.booking.slot_min * 60
        places = self.places[arrival.centre, arrival.service]

        def away(k: int) -> float:
            return max(0.0, k * slot_s - wanted, wanted - (k + 1) * slot_s)

        free = [k for k, left in enumerate(places) if left > 0]
        if not free:
            return False
        slot = min(free, key=lambda k: (away(k), -k))
        places[slot] -= 1
        start = slot * slot_s
        self.booked += 1
        self.booked_walk_ins += 1
        displaced = away(slot)
        self.booking_displacement_s += displaced
        if self.booking_rng.random() < self.scenario.booking.no_show_share:
            self.no_shows += 1
            return True
        early_s = self.scenario.appointments.early_min * 60
        arrives = max(0.0, start - self.booking_rng.uniform(0, early_s))
        booked = replace(arrival, appointment_at=start, wanted_s=wanted, displaced_s=displaced)
        self._push(arrives, Kind.ARRIVAL, booked)
        return True

    def _record(self, now: float) -> None:
        self.trace.times.append(now)
        self.trace.waiting.append(
            {code: sum(w[code] for w in self.waiting) for code in self.specs}
            if len(self.waiting) > 1
            else dict(self.waiting[0])
        )
        self.trace.halls.append(tuple(self.in_hall))

    # --- setting up the centres -------------------------------------------------------------------

    def _build_centres(self) -> None:
        """The engine builds the centres; the simulator keeps its view of each counter and the
        agents' breaks."""
        self.layout = self.engine.build(now=self.start)
        for index, centre in enumerate(self.centres):
            number = 0
            for counter_spec in self.scenario.counters_of(centre.code):
                for _ in range(counter_spec.count):
                    number += 1
                    services = frozenset(counter_spec.services) | frozenset(counter_spec.backups)
                    self.desks.append(Desk(index, number, services, frozenset(counter_spec.backups)))
                    for begin, end in counter_spec.breaks:
                        self._schedule_break(len(self.desks) - 1, begin, end)

    def _schedule_break(self, key: int, begin: str, end: str) -> None:
        day = self.scenario.day
        assert day is not None  # breaks are centre-local times of a day
        zone = ZoneInfo(day.timezone)
        at = datetime.combine(day.date, local_time(begin), zone)
        until = datetime.combine(day.date, local_time(end), zone)
        offset = (at.astimezone(UTC) - self.start).total_seconds()
        self._push(offset, Kind.BREAK_START, (key, (until - at).total_seconds()))

    def _label(self, desk: Desk) -> str:
        return (
            str(desk.number) if len(self.centres) == 1 else f"{self.centres[desk.centre].code}/{desk.number}"
        )

    def _database(self) -> DatabaseEngine:
        """The engine, for what only the database engine simulates (remote tickets, advice)."""
        assert isinstance(self.engine, DatabaseEngine), "remote tickets and advice need the database engine"
        return self.engine

    # --- the engine's commands --------------------------------------------------------------------

    def _issue(self, now: float, arrival: Arrival) -> None:
        remote = arrival.travel_s is not None
        issued = self.engine.issue(
            now=self._at(now),
            centre=arrival.centre,
            service=arrival.service,
            priority=arrival.priority,
            appointment_at=self._at(arrival.appointment_at) if arrival.appointment_at is not None else None,
            phone=f"+9639{len(self.remote) + 1:08d}" if remote else None,
        )
        if arrival.walks_away:
            self.gone.add(issued.ticket_id)
        if remote:
            assert arrival.travel_s is not None and arrival.walk_in_s is not None
            self.remote[issued.ticket_id] = Away(
                arrival.centre, arrival.service, arrival.travel_s, arrival.walk_in_s
            )
        if arrival.wanted_s is not None:
            self.displaced_s[issued.ticket_id] = arrival.displaced_s
        self.service_s[issued.ticket_id] = arrival.service_s
        if issued.standing is not None:  # the forecast the citizen is shown, and others
            self._predict(arrival, issued)
        self.waiting[arrival.centre][arrival.service] += 1
        if not remote:
            self.in_hall[arrival.centre] += 1
        self._set_off(now)

    def _predict(self, arrival: Arrival, issued: Issued) -> None:
        """The engine's forecast for a new walk-in, and the simpler predictors to compare it with."""
        assert issued.standing is not None
        spec, place = self.specs[arrival.service], issued.standing
        waits = self.recent_waits[arrival.centre, arrival.service]
        own = issued.ready_own
        self.predictions[issued.ticket_id] = Prediction(
            learned=place.forecast.typical_s,
            low=place.forecast.low_s,
            high=place.forecast.high_s,
            plain=estimate_wait_s(
                ahead=place.ahead,
                open_counters=issued.open_counters,
                mean_service_s=round(spec.mean_service_s),
            ),
            oracle=max(0, place.ahead + 1 - issued.idle_own) * spec.mean_service_s / own if own else None,
            last_to_enter=waits[-1] if waits else None,
            rolling=statistics.fmean(waits) if waits else None,
        )

    def _set_off(self, now: float) -> None:
        """Remote citizens whose "come now" SMS the engine just queued leave for the hall."""
        if not self.remote:
            return
        for ticket_id in self._database().told_to_come():
            away = self.remote.get(ticket_id)
            if away is not None and away.where == "home":
                away.where = "travelling"
                low, high = self.scenario.remote.travel_min
                self._push(now + self.travel_rng.uniform(low, high) * 60, Kind.PRESENT, ticket_id)

    def _present(self, now: float, ticket_id: int) -> None:
        """A remote citizen reaches the hall: checks in at the kiosk and waits, or goes straight to
        the counter that called them."""
        away = self.remote[ticket_id]
        away.where = "here"
        self.in_hall[away.centre] += 1
        if self.scenario.remote.check_in:
            self._database().check_in(now=self._at(now), ticket_id=ticket_id)
            self._answer_arrival(now, away.centre, away.service)
            return
        desk = next((d for d in self.desks if d.awaiting == ticket_id), None)
        if desk is not None:
            desk.awaiting = None
            self._walk(now, desk)

    def _call(self, now: float, desk: Desk) -> bool:
        """The counter's agent presses next; False when the engine finds nobody for it."""
        called = self.engine.call_next(now=self._at(now), counter=(desk.centre, desk.number))
        if called is None:
            return False
        code = next(c for c, i in self.layout.service_ids.items() if i == called.service_id)
        self.waiting[desk.centre][code] -= 1
        if not called.appointment:  # a walk-in: what the last-to-enter and rolling predictors learn from
            self.recent_waits[desk.centre, code].append(
                now - (called.arrived_at - self.start).total_seconds()
            )
        desk.state, desk.serving_service = "walking", code
        desk.service_s = self.service_s.pop(called.ticket_id)
        self._set_off(now)
        if called.ticket_id in self.gone:  # nobody comes: called again, then marked a no-show
            key = self.desks.index(desk)
            self._push(now + RECALL_S, Kind.RECALL, key)
            self._push(now + NO_SHOW_S, Kind.NO_SHOW, key)
        elif called.ticket_id in self.remote and self.remote[called.ticket_id].where != "here":
            desk.awaiting = called.ticket_id  # the agent waits for the citizen on the way
        else:
            self._walk(now, desk)
        return True

    def _walk(self, now: float, desk: Desk) -> None:
        if self.scenario.walk_s > 0:
            self._push(now + self.scenario.walk_s, Kind.START, self.desks.index(desk))
        else:
            self._start(now, desk)

    def _start(self, now: float, desk: Desk) -> None:
        self.engine.start(now=self._at(now), counter=(desk.centre, desk.number))
        self.in_hall[desk.centre] -= 1
        desk.state = "serving"
        self._push(now + desk.service_s, Kind.FINISH, self.desks.index(desk))

    def _no_show(self, now: float, desk: Desk) -> None:
        self._database().no_show(now=self._at(now), counter=(desk.centre, desk.number))
        self.in_hall[desk.centre] -= 1  # counted in the hall until their counter gave up on them
        self._free(now, desk)

    def _finish(self, now: float, desk: Desk) -> None:
        self.engine.finish(now=self._at(now), counter=(desk.centre, desk.number))
        self._free(now, desk)

    def _free(self, now: float, desk: Desk) -> None:
        """The counter has nobody in hand: a break that was due begins, or the agent calls next."""
        if desk.pending_break_s > 0:
            self._pause(now, desk, desk.pending_break_s)
            return
        desk.state, desk.idle_since = "idle", now
        self._call(now, desk)

    def _pause(self, now: float, desk: Desk, length_s: float) -> None:
        self.engine.pause(now=self._at(now), counter=(desk.centre, desk.number))
        desk.state, desk.pending_break_s, desk.paused_from = "paused", 0.0, now
        self._push(now + length_s, Kind.BREAK_END, self.desks.index(desk))

    def _resume(self, now: float, desk: Desk) -> None:
        self.engine.resume(now=self._at(now), counter=(desk.centre, desk.number))
        desk.paused_s += now - desk.paused_from
        self._free(now, desk)

    def _balance(self, now: float) -> None:
        """The balancer job's round at every centre, as the server's scheduler runs it every `every_s`.

        The plan depends only on the queues and counters: when nothing happened since a round that
        planned no move, this one would plan none either, and is skipped to save the work.
        """
        if self.changed or self.last_moves:
            self.last_moves = self.engine.balance(now=self._at(now))
            self.balancer_moves += self.last_moves
            self.changed = False
        if self.queue:  # more is to happen: the job keeps running
            self._push(now + self.scenario.balancer.every_s, Kind.BALANCE, None)

    def _advised(self, now: float, arrival: Arrival) -> tuple[Arrival, float] | None:
        """A walk-in who asks the recommendations from home (their own centre) and goes elsewhere:
        the arrival there and the extra way (s); None when their own centre is the best."""
        home = self.centres[arrival.centre]
        options = self._database().options(
            now=self._at(now), service=arrival.service, at=(home.latitude, home.longitude)
        )
        best = rank(options, travel_s_per_km=self.scenario.advice.travel_s_per_km)[0]
        if best.centre == home.code:
            return None
        travel = (best.distance_km or 0.0) * self.scenario.advice.travel_s_per_km
        if self.intake_end is not None and now + travel >= self.intake_end:
            return None  # it would have closed by the time they got there: they go to their own
        self.advised_away += 1
        self.travel_s += travel
        index = next(i for i, c in enumerate(self.centres) if c.code == best.centre)
        return replace(arrival, centre=index, decided=True), travel

    def _close_all(self, now: float) -> None:
        for desk in self.desks:
            self.engine.close(now=self._at(now), counter=(desk.centre, desk.number))

    # --- the loop -----------------------------------------------------------------------------------

    def run(self) -> Outcome:
        """Runs the scenario to the end: intake over (or enough citizens) and the halls empty."""
        self._build_centres()
        arrival_rngs = {
            (index, spec.code): _stream(self.seed, f"walk-ins:{centre.code}:{spec.code}")
            for index, centre in enumerate(self.centres)
            for spec in self.scenario.service
        }
        self.trait_rngs = {
            (index, spec.code): _stream(self.seed, f"citizens:{centre.code}:{spec.code}")
            for index, centre in enumerate(self.centres)
            for spec in self.scenario.service
        }
        self._count_places()
        self._schedule_appointments()  # booked before the walk-ins who book took what was left
        if self.intake_end is None:
            for (index, code), rng in arrival_rngs.items():
                self._next_citizen(0.0, code, index, rng)
        else:
            self._the_day_s_citizens(arrival_rngs)
        if self.scenario.balancer.mode != "off":
            self._push(self.scenario.balancer.every_s, Kind.BALANCE, None)
        expected = self.limit or self._expected_citizens()
        now = 0.0
        self._record(now)
        while self.queue:
            now, kind, _, payload = heapq.heappop(self.queue)
            if kind == Kind.NEXT:
                assert isinstance(payload, tuple)
                after, index, code = payload
                if not (self.limit and self.arrived >= self.limit):
                    self._next_citizen(after, code, index, arrival_rngs[index, code])
            elif kind == Kind.ARRIVAL:
                assert isinstance(payload, Arrival)
                self._arrive(now, payload, expected)
            elif kind == Kind.FINISH:
                assert isinstance(payload, int)
                self._finish(now, self.desks[payload])
            elif kind == Kind.START:
                assert isinstance(payload, int)
                self._start(now, self.desks[payload])
            elif kind == Kind.RECALL:
                assert isinstance(payload, int)
                desk = self.desks[payload]
                self._database().recall(now=self._at(now), counter=(desk.centre, desk.number))
            elif kind == Kind.NO_SHOW:
                assert isinstance(payload, int)
                self._no_show(now, self.desks[payload])
            elif kind == Kind.PRESENT:
                assert isinstance(payload, int)
                self._present(now, payload)
            elif kind == Kind.BREAK_START:
                assert isinstance(payload, tuple)
                key, length_s = payload
                desk = self.desks[key]
                if desk.state == "idle":
                    self._pause(now, desk, length_s)
                else:
                    desk.pending_break_s = length_s
            elif kind == Kind.BREAK_END:
                assert isinstance(payload, int)
                self._resume(now, self.desks[payload])
            elif kind == Kind.BALANCE:
                self._balance(now)
            self.changed = self.changed or kind != Kind.BALANCE
            self._record(now)
        self._close_all(now)
        if self.progress is not None:
            self.progress(self.arrived, self.arrived)
        return Outcome(
            engine=self.engine.name,
            served=self.engine.served(start=self.start),
            start=self.start,
            end_s=now,
            centre_ids={c.code: i for c, i in zip(self.centres, self.layout.centre_ids, strict=True)},
            service_ids=self.layout.service_ids,
            counter_ids={self._label(d): self.layout.counter_ids[d.centre, d.number] for d in self.desks},
            paused_s={self._label(d): d.paused_s for d in self.desks},
            trace=self.trace,
            arrived=self.arrived,
            booked=self.booked,
            no_shows=self.no_shows,
            balancer_moves=self.balancer_moves,
            predictions=self.predictions,
            would_walk_in={t: a.walk_in_s for t, a in self.remote.items()},
            displaced_s=self.displaced_s,
            advised_away=self.advised_away,
            travel_s=self.travel_s,
            booked_walk_ins=self.booked_walk_ins,
            booking_displacement_s=self.booking_displacement_s,
        )

    def _arrive(self, now: float, arrival: Arrival, expected: int) -> None:
        if self.limit and self.arrived >= self.limit and not arrival.decided:
            return
        if arrival.appointment_at is None and not arrival.decided:
            if (
                arrival.walk_in_s is not None
                and not self.scenario.remote.check_in
                and self._database().shown_wait_s(
                    now=self._at(now), centre=arrival.centre, service=arrival.service
                )
                < self.scenario.remote.notify_lead_min * 60
            ):
                # The remote page says the wait is shorter than the way, and a turn that comes before
                # they do is lost: they simply go. (Where the place is kept until they check in, a
                # ticket from home is never worse than one taken at the kiosk on arrival.)
                in_person = replace(arrival, travel_s=None, walk_in_s=None, decided=True)
                self.arrived += 1
                self._push(arrival.walk_in_s, Kind.ARRIVAL, in_person)
                return
            if arrival.travel_s is None and self.choice_rng.random() < self.scenario.advice.follow_share:
                elsewhere = self._advised(now, arrival)
                if elsewhere is not None:
                    moved, travel = elsewhere
                    self.arrived += 1
                    self._push(now + travel, Kind.ARRIVAL, moved)
                    return
        self._issue(now, arrival)
        if not arrival.decided:
            self.arrived += 1
        self._answer_arrival(now, arrival.centre, arrival.service)
        if self.progress is not None and self.arrived % 250 == 0:
            self.progress(self.arrived, expected)

    def _draw_citizen(
        self, after: float, code: str, centre: int, rng: random.Random
    ) -> tuple[float, Arrival] | None:
        """The walk-in of a service at a centre who comes next after `after`: when they would walk
        in, who they are, and whether they book instead (a day only) or take a remote ticket."""
        spec = self.specs[code]
        at = self._next_walk_in(spec, self.centres[centre].demand, rng, after)
        if at is None:
            return None
        # Who they are comes from a stream of its own, so every variant of a scenario sees the same
        # citizens (common random numbers): the differences are the policy's, not the dice's.
        traits = self.trait_rngs[centre, code]
        citizen = Arrival(code, centre, service_s=self._service_time(spec, traits))
        if traits.random() < spec.priority_share:
            citizen.priority = traits.choice(PRIORITIES)
        booking, remote = self.scenario.booking.share, self.scenario.remote
        if booking > 0 and self.intake_end is not None and self.booking_rng.random() < booking:
            citizen.wanted_s = at
        elif self.choice_rng.random() < remote.share:
            low, high = remote.travel_min
            citizen.travel_s, citizen.walk_in_s = self.travel_rng.uniform(low, high) * 60, at
        elif self.scenario.walk_away_share > 0:  # a stream of its own: other scenarios draw as before
            citizen.walks_away = self.walk_away_rng.random() < self.scenario.walk_away_share
        return at, citizen

    def _send_off(self, at: float, citizen: Arrival) -> None:
        """The citizen sets off: one who takes a remote ticket takes it from home as they would have
        left for the hall, `travel` before they would be in it, and then waits there for the SMS."""
        self._push(max(0.0, at - (citizen.travel_s or 0.0)), Kind.ARRIVAL, citizen)

    def _next_citizen(self, after: float, code: str, centre: int, rng: random.Random) -> None:
        """A steady run's next walk-in of a service at a centre, and the draw of the one after them,
        scheduled the longest way ahead, so that a remote ticket's moment still lies ahead."""
        drawn = self._draw_citizen(after, code, centre, rng)
        if drawn is None:
            return
        at, citizen = drawn
        remote = self.scenario.remote
        ahead_s = remote.travel_min[1] * 60 if remote.share > 0 else 0.0
        self._push(max(0.0, at - ahead_s), Kind.NEXT, (at, centre, code))
        self._send_off(at, citizen)

    def _the_day_s_citizens(self, arrival_rngs: dict[tuple[int, str], random.Random]) -> None:
        """Every walk-in of the day, drawn before it starts; those who book do so days ahead, in no
        particular order (not in the order they want to come), each taking what places are left."""
        bookers = []
        for (centre, code), rng in arrival_rngs.items():
            after = 0.0
            while (drawn := self._draw_citizen(after, code, centre, rng)) is not None:
                at, citizen = drawn
                if citizen.wanted_s is None:
                    self._send_off(at, citizen)
                else:
                    bookers.append(citizen)
                after = at
        self.booking_rng.shuffle(bookers)
        for citizen in bookers:
            assert citizen.wanted_s is not None
            if not self._book(citizen.wanted_s, citizen):
                self._send_off(citizen.wanted_s, replace(citizen, wanted_s=None))

    def _answer_arrival(self, now: float, centre: int, service: str) -> None:
        """An idle counter of the centre that serves the service calls: one whose own queue it is
        first, then the one idle longest, then the lowest number."""
        idle = [d for d in self.desks if d.centre == centre and d.state == "idle" and service in d.services]
        for desk in sorted(idle, key=lambda d: (service in d.backups, d.idle_since, d.number)):
            if self._call(now, desk):
                return

    def _expected_citizens(self) -> int:
        total = 0.0
        for centre in self.centres:
            for spec in self.scenario.service:
                for hour in range(self.scenario.hours()):
                    total += rate_at(spec.walk_ins_per_hour, hour) * centre.demand
                    total += (
                        rate_at(spec.appointments_per_hour, hour)
                        * centre.demand
                        * (1 - self.scenario.appointments.no_show_share)
                    )
        return max(1, round(total))
