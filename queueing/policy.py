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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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


def arrival_just_after(
    candidate: Candidate, other: Candidate, *, now: datetime, config: PolicyConfig
) -> datetime:
    """The arrival time that puts `candidate` right after `other` in its service's order at weight 1
    (the order `ahead` counts), `other` being behind it now and neither a due appointment: how far a
    ticket moves back when its holder is running late. The order of one service at one weight never
    changes with time, so the move holds until one of the two is aged. A head start larger than the
    other's score cannot be undone by an arrival: the candidate then goes where a newcomer of its
    class would (arrival `now`), not as far."""
    tick = timedelta(microseconds=1)  # after, not level: a tie would go to the lower ticket id
    if rank_key(other, weight=1.0, now=now, config=config)[0] == AGED:
        return other.arrived_at + tick  # both aged: by arrival
    heads = config.priority_head_start_s
    head_start = timedelta(seconds=heads.get(candidate.priority, 0.0) - heads.get(other.priority, 0.0))
    # A score a tick below the other's; past the ageing limit it would go first again, so it waits
    # just under the limit, still scoring below the other (which has waited less and started higher).
    arrival = max(other.arrived_at + head_start + tick, now - timedelta(seconds=config.max_wait_s) + tick)
    # Not later than now (the wait of a ticket never runs backwards) unless the other arrived just now.
    return min(arrival, max(now, other.arrived_at + tick))


def behind_everyone(priority: Priority, *, config: PolicyConfig) -> bool:
    """Whether a ticket of this class that arrives now goes after every ticket already waiting in its
    queue, at any weight >= 0: when no class starts lower. Nobody has waited less than a newcomer,
    so no other ticket scores less, and a tie goes to the earlier arrival."""
    lowest = min([0.0, *config.priority_head_start_s.values()])
    return config.priority_head_start_s.get(priority, 0.0) <= lowest
