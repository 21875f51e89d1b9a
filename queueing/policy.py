"""The routing policy: which waiting ticket a counter calls next. Pure: no I/O, no clock.

Order (docs/queueing.md has worked examples):
1. checked-in appointments that are due, earliest appointment first;
2. tickets that have waited longer than `max_wait_s` (ageing), longest wait first;
3. everyone else by score = weight of the ticket's service at this counter x seconds waited
   + the head start of its priority class; highest first.
Ties go to the earlier arrival, then the lower ticket id, so the order is total and stable.
A counter's backup queues come after all of that: it calls from them only when none of its own
queues has anyone (an idle counter takes work it is allowed to do; docs/scheduling.md), except a
ticket past `max_wait_s`, which goes first at every counter allowed to serve it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class Priority(StrEnum):
    NONE = "none"
    ELDERLY = "elderly"
    DISABLED = "disabled"
    PREGNANT = "pregnant"


@dataclass(frozen=True)
class PolicyConfig:
    """The tunable parts of the policy."""

    # A priority class starts as if it had already waited this long (seconds).
    priority_head_start_s: Mapping[Priority, float] = field(
        default_factory=lambda: {Priority.ELDERLY: 900.0, Priority.DISABLED: 900.0, Priority.PREGNANT: 900.0}
    )
    # Past this wait a ticket goes ahead of every score, so nobody waits forever behind others.
    max_wait_s: float = 5400.0


@dataclass(frozen=True)
class Candidate:
    """What the policy needs to know of a waiting ticket."""

    ticket_id: int
    service_id: int
    arrived_at: datetime
    priority: Priority = Priority.NONE
    appointment_at: datetime | None = None


RankKey = tuple[int, float, float, int]
AGED = 1  # the first element of an aged ticket's rank key


def is_due(candidate: Candidate, *, now: datetime) -> bool:
    """Whether the candidate is an appointment whose time has come (it goes before everyone else)."""
    return candidate.appointment_at is not None and candidate.appointment_at <= now


def rank_key(candidate: Candidate, *, weight: float, now: datetime, config: PolicyConfig) -> RankKey:
    """The candidate's place in the order: smaller goes first."""
    arrived = candidate.arrived_at.timestamp()
    if candidate.appointment_at is not None and is_due(candidate, now=now):
        return (0, candidate.appointment_at.timestamp(), arrived, candidate.ticket_id)
    waited = max(0.0, (now - candidate.arrived_at).total_seconds())
    if waited >= config.max_wait_s:
        return (AGED, arrived, arrived, candidate.ticket_id)
    score = weight * waited + config.priority_head_start_s.get(candidate.priority, 0.0)
    return (2, -score, arrived, candidate.ticket_id)


def ordered(
    candidates: Iterable[Candidate], *, weights: Mapping[int, float], now: datetime, config: PolicyConfig
) -> list[Candidate]:
    """The candidates a counter serving `weights` (service id -> weight) may call, in call order."""
    eligible = [c for c in candidates if c.service_id in weights]
    return sorted(eligible, key=lambda c: rank_key(c, weight=weights[c.service_id], now=now, config=config))


def choose_next(
    candidates: Iterable[Candidate],
    *,
    weights: Mapping[int, float],
    now: datetime,
    config: PolicyConfig,
    backups: Mapping[int, float] | None = None,
) -> Candidate | None:
    """The ticket the counter calls next, or None when none of its queues has anyone.

    `weights` are the counter's own queues; `backups` (service id -> weight) the ones it may serve
    when none of its own has anyone waiting.
    """
    best: tuple[tuple[int, RankKey], Candidate] | None = None
    for candidate in candidates:
        backup, weight = False, weights.get(candidate.service_id)
        if weight is None and backups is not None:
            backup, weight = True, backups.get(candidate.service_id)
        if weight is None:
            continue
        rank = rank_key(candidate, weight=weight, now=now, config=config)
        # Ageing holds across tiers: a ticket past max_wait_s goes first wherever it may be served.
        tier = 1 if backup and rank[0] != AGED else 0
        key = (tier, rank)
        if best is None or key < best[0]:
            best = (key, candidate)
    return None if best is None else best[1]


# Why the order can be read from a few rows (queueing/tickets.py relies on it): for tickets of one
# service and one priority class that are not due appointments, and any weight >= 0, rank_key is
# strictly increasing in the arrival time before the ticket id is looked at. Aged tickets, which
# arrived earliest, come first by arrival; the score of the others falls as their arrival rises. So
# within such a line the order is by (arrival, id) at every counter, its head is its earliest
# arrivals, and the tickets of the line that go before a given ticket are those that arrived before
# some instant, plus at most the ones that arrived at the same instant as it.
_TICK = timedelta(microseconds=1)
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_FAR_S = 1e9


@dataclass(frozen=True)
class Overtakers:
    """The not-due tickets of one priority class that go before a given ticket of the same queue."""

    before: datetime | None  # those that arrived before this instant; None: all of them
    same_arrival: bool  # and those that arrived at the ticket's own instant with a lower id


def overtakers(
    candidate: Candidate, *, priority: Priority, weight: float, now: datetime, config: PolicyConfig
) -> Overtakers:
    """Which not-due tickets of `priority` in the candidate's queue (same weight) go before it."""
    if is_due(candidate, now=now):
        raise ValueError("only earlier due appointments go before a due appointment")
    own = rank_key(candidate, weight=weight, now=now, config=config)[:3]

    def key_if_arrived(moment: datetime) -> tuple[int, float, float]:
        other = Candidate(0, candidate.service_id, moment, priority)
        return rank_key(other, weight=weight, now=now, config=config)[:3]

    def goes_first(moment: datetime) -> bool:
        return key_if_arrived(moment) < own

    same_arrival = key_if_arrived(candidate.arrived_at) == own
    # Waiting adds nothing to the score from `now` on: if one who arrives after both `now` and the
    # candidate still goes first, so does everyone of the class.
    latest = max(now, candidate.arrived_at) + _TICK
    if goes_first(latest):
        return Overtakers(None, same_arrival)
    guess = candidate.arrived_at
    if own[0] == 2 and weight > 0:  # both waited: w(now - t) + h(q) > w(now - a) + h(p)
        heads = config.priority_head_start_s
        lead = heads.get(priority, 0.0) - heads.get(candidate.priority, 0.0)
        guess += timedelta(seconds=max(-_FAR_S, min(_FAR_S, lead / weight)))  # a hint, kept in range
    return Overtakers(_first_false(goes_first, guess=min(guess, latest), known_false=latest), same_arrival)


def _first_false(holds: Callable[[datetime], bool], *, guess: datetime, known_false: datetime) -> datetime:
    """The earliest microsecond at which `holds` (true up to some instant, false after) is false."""
    # Gallop from the guess to bracket the change, then bisect; the guess is usually exact, so
    # this costs two or three evaluations.
    step = _TICK
    if holds(guess):
        low, high = guess, known_false
        while guess + step < known_false and holds(guess + step):
            low, step = guess + step, step * 2
        high = min(guess + step, known_false)
    else:
        high = guess
        while True:
            if guess - _EARLIEST <= step:
                low = _EARLIEST
                if not holds(low):  # nobody goes first however early (no ageing, no lead)
                    return low
                break
            if holds(guess - step):
                low = guess - step
                break
            high, step = guess - step, step * 2
    while high - low > _TICK:  # holds(low) and not holds(high)
        middle = low + (high - low) // 2
        if holds(middle):
            low = middle
        else:
            high = middle
    return high
