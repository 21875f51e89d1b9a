"""The simulator's engine in memory: tickets and counters kept in Python objects, every decision made
by the code production runs on what it reads from the database.

- who a counter calls: queueing/policy.py's `choose_next`, over the waiting tickets of its queues;
- what a walk-in is promised: queueing/prediction.py's `forecast`, fed what queueing/waits.py reads
  (the services ended in the last HISTORY, at most RECENT_SERVICES; the counters that can call; the
  waiting counts and the overtakers of the last ARRIVALS; the last RECENT_OUTCOMES promises);
- the balancer's moves: scheduling/balancing.py's `plan`, over the waiting counts and counter roles;
- every status change through queueing/states.py's `next_status`.

What the database engine also writes (numbers, tokens, events, SMS) decides nothing in a simulation
and is left out: remote tickets and centre advice, which depend on those, run on the database
engine only. Ids are given in the database's order (1, 2, ... by creation), and times are kept as the
database keeps them (to the microsecond), so that both engines make the same decisions:
tests/test_simulation_engines.py compares them ticket by ticket.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice

from organisation.models import QueueRole
from queueing.policy import Candidate, PolicyConfig, Priority, behind_everyone, choose_next, ordered
from queueing.prediction import MIN_RATIOS, Completed, Desk, QueueState, ServiceTimes, forecast
from queueing.states import Move, TicketStatus, next_status
from queueing.tickets import Channel
from queueing.waits import (
    ARRIVALS,
    HISTORY,
    MIN_PROMISE_S,
    NEWCOMER_ID,
    RECENT_OUTCOMES,
    RECENT_SERVICES,
    Standing,
    with_arrival,
)
from scheduling.balancing import BalanceRules, DeskState, QueueLoad, plan
from scheduling.simulation.engine import Called, Issued, Layout, Served
from scheduling.simulation.scenario import Scenario, ScenarioError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
HISTORY_US = HISTORY // MICROSECOND
ARRIVALS_US = ARRIVALS // MICROSECOND


def _us(moment: datetime) -> int:
    """Microseconds since 1970: a difference over 10**6 is exactly what timedelta.total_seconds() gives."""
    return (moment - EPOCH) // MICROSECOND


def unsupported(scenario: Scenario) -> str | None:
    """Why the memory engine cannot run this scenario (None: it can)."""
    if scenario.remote.share > 0:
        return "remote tickets (their SMS and check-in) run on the database engine only"
    if scenario.advice.follow_share > 0:
        return "centre advice (the recommendations) runs on the database engine only"
    if scenario.walk_away_share > 0:
        return "walk-aways (their recalls and no-shows) run on the database engine only"
    return None


@dataclass(eq=False)
class _Ticket:
    id: int
    centre: int
    channel: str
    candidate: Candidate  # its service, arrival, priority and appointment, as the policy reads them
    arrived_us: int
    predicted_wait_s: int | None
    status: TicketStatus = TicketStatus.WAITING
    counter_id: int | None = None
    called_at: datetime | None = None
    ratio: float = 0.0  # actual / predicted wait, once called (when a wait was predicted)
    started_at: datetime | None = None
    ended_at: datetime | None = None


@dataclass(eq=False)
class _Counter:
    id: int
    centre: int
    number: int
    weights: dict[int, float]  # service id -> weight, own queues and backups alike
    roles: dict[int, QueueRole]
    is_open: bool = False
    paused: bool = False
    holding: _Ticket | None = None
    # Its own queues (main and boosted) and its backups, with their weights, as the roles say.
    own: dict[int, float] = field(default_factory=dict)
    backups: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.give(self.roles)

    def give(self, roles: dict[int, QueueRole]) -> None:
        """Holds its queues in these roles from now on."""
        self.roles = roles
        self.own = {s: self.weights[s] for s, role in roles.items() if role != QueueRole.BACKUP}
        self.backups = {s: self.weights[s] for s, role in roles.items() if role == QueueRole.BACKUP}

    @property
    def ready(self) -> bool:
        return self.is_open and not self.paused


@dataclass
class _Centre:
    counters: list[_Counter] = field(default_factory=list)  # by id
    waiting: dict[int, dict[int, _Ticket]] = field(default_factory=dict)  # service -> tickets by id
    finished: deque[Completed] = field(default_factory=deque)  # oldest first
    # (arrived, service) of the priority tickets and appointments of the last ARRIVALS.
    overtakers: deque[tuple[int, int]] = field(default_factory=deque)
    promised: list[_Ticket] = field(default_factory=list)  # walk-ins promised >= MIN_PROMISE_S, by id


class MemoryEngine:
    """The engine's decisions for one scenario, without a database."""

    name = "memory"

    def __init__(self, *, scenario: Scenario, policy: PolicyConfig) -> None:
        reason = unsupported(scenario)
        if reason is not None:
            raise ScenarioError(f"--engine memory: {reason}")
        self.scenario = scenario
        self.policy = policy
        self.rules = BalanceRules(
            boost_above_s=scenario.balancer.boost_above_s, release_below_s=scenario.balancer.release_below_s
        )
        self.auto_balance = scenario.balancer.mode == "apply"
        self.centres: list[_Centre] = []
        self.counters: dict[tuple[int, int], _Counter] = {}
        self.service_ids: dict[str, int] = {}
        self.mean_service_s: dict[int, float] = {}  # as configured (the database keeps whole seconds)
        self.tickets: list[_Ticket] = []

    def build(self, *, now: datetime) -> Layout:
        for index, service in enumerate(self.scenario.service, start=1):
            self.service_ids[service.code] = index
            self.mean_service_s[index] = float(round(service.mean_service_s))
        counter_id = 0
        for index, centre_spec in enumerate(self.scenario.centres()):
            centre = _Centre(waiting={service: {} for service in self.mean_service_s})
            self.centres.append(centre)
            number = 0
            for spec in self.scenario.counters_of(centre_spec.code):
                for _ in range(spec.count):
                    counter_id, number = counter_id + 1, number + 1
                    roles = {self.service_ids[c]: QueueRole.MAIN for c in spec.services}
                    roles.update({self.service_ids[c]: QueueRole.BACKUP for c in spec.backups})
                    weights = {self.service_ids[c]: w for c, w in {**spec.services, **spec.backups}.items()}
                    counter = _Counter(counter_id, index, number, weights, roles, is_open=True)
                    centre.counters.append(counter)
                    self.counters[index, number] = counter
        return Layout(
            centre_ids=list(range(1, len(self.centres) + 1)),
            service_ids=dict(self.service_ids),
            counter_ids={key: counter.id for key, counter in self.counters.items()},
        )

    # --- tickets ------------------------------------------------------------------------------------

    def issue(
        self,
        *,
        now: datetime,
        centre: int,
        service: str,
        priority: Priority,
        appointment_at: datetime | None,
        phone: str | None,
    ) -> Issued:
        assert phone is None, "remote tickets run on the database engine"
        hall, service_id, now_us = self.centres[centre], self.service_ids[service], _us(now)
        standing = None
        if appointment_at is None:  # as the ticket API does: a walk-in's promise comes first
            standing = self._newcomer(hall, service_id, priority, now, now_us)
        candidate = Candidate(len(self.tickets) + 1, service_id, now, priority, appointment_at)
        channel = Channel.APPOINTMENT if appointment_at is not None else Channel.KIOSK
        predicted = standing.forecast.model_s if standing else None
        ticket = _Ticket(candidate.ticket_id, centre, channel, candidate, now_us, predicted)
        self.tickets.append(ticket)
        hall.waiting[service_id][ticket.id] = ticket
        if priority != Priority.NONE or appointment_at is not None:
            hall.overtakers.append((now_us, service_id))
        if predicted is not None and predicted >= MIN_PROMISE_S:
            hall.promised.append(ticket)
        if standing is None:
            return Issued(ticket.id)
        own = [c for c in hall.counters if c.ready and service_id in c.own]
        return Issued(
            ticket.id,
            standing,
            open_counters=sum(1 for c in hall.counters if c.is_open and service_id in c.own),
            ready_own=len(own),
            idle_own=sum(1 for c in own if c.holding is None),
        )

    def _newcomer(
        self, hall: _Centre, service_id: int, priority: Priority, now: datetime, now_us: int
    ) -> Standing:
        """queueing/waits.py's `newcomer_standing`, on the tickets in memory."""
        queues = self._queue_states(hall, now_us)
        if behind_everyone(priority, config=self.policy):
            ahead = queues[service_id].waiting
        else:
            me = Candidate(NEWCOMER_ID, service_id, now, priority)
            line = [t.candidate for t in hall.waiting[service_id].values()]
            ahead = ordered([*line, me], weights={service_id: 1.0}, now=now, config=self.policy).index(me)
        arrived = with_arrival(queues, service_id, priority)
        desks = [
            Desk(c.id, c.own, idle=c.holding is None, backups=c.backups) for c in hall.counters if c.ready
        ]
        times = ServiceTimes(self._completed(hall, now), self.mean_service_s, now_s=now.timestamp())
        ratios = self._ratios(hall, service_id, now_us)
        return Standing(
            ahead, forecast(ahead, service_id, desks=desks, queues=arrived, times=times, ratios=ratios)
        )

    def _queue_states(self, hall: _Centre, now_us: int) -> dict[int, QueueState]:
        since = now_us - ARRIVALS_US
        while hall.overtakers and hall.overtakers[0][0] < since:
            hall.overtakers.popleft()
        overtakers = dict.fromkeys(hall.waiting, 0)
        for _, service_id in hall.overtakers:
            overtakers[service_id] += 1
        window = ARRIVALS.total_seconds()
        return {
            service_id: QueueState(len(line), overtakers_per_s=overtakers[service_id] / window)
            for service_id, line in hall.waiting.items()
        }

    def _completed(self, hall: _Centre, now: datetime) -> list[Completed]:
        """The services ended in the last HISTORY, newest first, at most RECENT_SERVICES."""
        since = (now - HISTORY).timestamp()
        while hall.finished and hall.finished[0].ended_s < since:
            hall.finished.popleft()
        return list(islice(reversed(hall.finished), RECENT_SERVICES))

    def _ratios(self, hall: _Centre, service_id: int, now_us: int) -> list[float]:
        """Actual / promised waits of the queue's last called walk-ins; the centre's when too few."""
        ratios = self._outcomes(hall, service_id, now_us)
        return ratios if len(ratios) >= MIN_RATIOS else self._outcomes(hall, None, now_us)

    def _outcomes(self, hall: _Centre, service_id: int | None, now_us: int) -> list[float]:
        since, found = now_us - HISTORY_US, list[float]()
        for ticket in reversed(hall.promised):  # by id, newest first; arrivals follow the ids
            if ticket.arrived_us < since or len(found) == RECENT_OUTCOMES:
                break
            if ticket.status == TicketStatus.WAITING:
                continue
            if service_id is None or ticket.candidate.service_id == service_id:
                found.append(ticket.ratio)
        return found

    # --- counters -----------------------------------------------------------------------------------

    def call_next(self, *, now: datetime, counter: tuple[int, int]) -> Called | None:
        desk = self.counters[counter]
        assert desk.ready and desk.holding is None, "the simulator calls only from an idle counter"
        hall = self.centres[desk.centre]
        candidates = [t.candidate for service in desk.weights for t in hall.waiting[service].values()]
        choice = choose_next(candidates, weights=desk.own, backups=desk.backups, now=now, config=self.policy)
        if choice is None:
            return None
        ticket = hall.waiting[choice.service_id].pop(choice.ticket_id)
        ticket.status = next_status(ticket.status, Move.CALL)
        ticket.counter_id, ticket.called_at = desk.id, now
        if ticket.predicted_wait_s:  # how far the promise was off, as waits.py reads it back
            ticket.ratio = (_us(now) - ticket.arrived_us) / 1e6 / ticket.predicted_wait_s
        desk.holding = ticket
        return Called(ticket.id, choice.service_id, choice.arrived_at, choice.appointment_at is not None)

    def start(self, *, now: datetime, counter: tuple[int, int]) -> None:
        ticket = self._in_hand(counter)
        ticket.status, ticket.started_at = next_status(ticket.status, Move.START), now

    def finish(self, *, now: datetime, counter: tuple[int, int]) -> None:
        ticket = self._in_hand(counter)
        ticket.status, ticket.ended_at = next_status(ticket.status, Move.FINISH), now
        assert ticket.started_at is not None and ticket.counter_id is not None
        duration = (now - ticket.started_at).total_seconds()
        hall = self.centres[ticket.centre]
        hall.finished.append(
            Completed(ticket.candidate.service_id, ticket.counter_id, now.timestamp(), duration)
        )
        self.counters[counter].holding = None

    def _in_hand(self, counter: tuple[int, int]) -> _Ticket:
        ticket = self.counters[counter].holding
        assert ticket is not None, "the simulator starts and finishes only a counter's ticket in hand"
        return ticket

    def pause(self, *, now: datetime, counter: tuple[int, int]) -> None:
        self.counters[counter].paused = True

    def resume(self, *, now: datetime, counter: tuple[int, int]) -> None:
        self.counters[counter].paused = False

    def close(self, *, now: datetime, counter: tuple[int, int]) -> None:
        desk = self.counters[counter]
        assert desk.holding is None, "a counter closes with nobody in hand"
        desk.is_open, desk.paused = False, False

    def balance(self, *, now: datetime) -> int:
        moves = 0
        for hall in self.centres:
            queues = [
                QueueLoad(service_id, len(line), self.mean_service_s[service_id])
                for service_id, line in hall.waiting.items()
            ]
            by_number = {c.number: c for c in hall.counters}
            desks = [DeskState(c.number, ready=c.ready, roles=dict(c.roles)) for c in hall.counters]
            planned = plan(queues, desks, self.rules)
            moves += len(planned)
            if self.auto_balance:
                for move in planned:
                    counter = by_number[move.counter]
                    counter.give({**counter.roles, move.service_id: move.role})
        return moves

    # --- afterwards ---------------------------------------------------------------------------------

    def served(self, *, start: datetime) -> list[Served]:
        def seconds(moment: datetime) -> float:
            return (moment - start).total_seconds()

        return [
            Served(
                ticket_id=t.id,
                centre_id=t.centre + 1,
                service_id=t.candidate.service_id,
                channel=t.channel,
                arrived_s=seconds(t.candidate.arrived_at),
                called_s=seconds(t.called_at),
                started_s=seconds(t.started_at) if t.started_at else None,
                ended_s=seconds(t.ended_at) if t.ended_at else None,
                counter_id=t.counter_id,
                appointment_s=seconds(t.candidate.appointment_at) if t.candidate.appointment_at else None,
            )
            for t in self.tickets
            if t.called_at is not None
        ]
