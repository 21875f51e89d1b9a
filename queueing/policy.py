"""The routing policy: which waiting ticket a counter calls next. Pure: no I/O, no clock.

Order (docs/queueing.md has worked examples):
1. checked-in appointments that are due, earliest appointment first;
2. tickets that have waited longer than `max_wait_s` (ageing), longest wait first;
3. everyone else by score = weight of the ticket's service at this counter x seconds waited
   + the head start of its priority class; highest first.
Ties go to the earlier arrival, then the lower ticket id, so the order is total and stable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
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


def rank_key(candidate: Candidate, *, weight: float, now: datetime, config: PolicyConfig) -> RankKey:
    """The candidate's place in the order: smaller goes first."""
    arrived = candidate.arrived_at.timestamp()
    if candidate.appointment_at is not None and candidate.appointment_at <= now:
        return (0, candidate.appointment_at.timestamp(), arrived, candidate.ticket_id)
    waited = max(0.0, (now - candidate.arrived_at).total_seconds())
    if waited >= config.max_wait_s:
        return (1, arrived, arrived, candidate.ticket_id)
    score = weight * waited + config.priority_head_start_s.get(candidate.priority, 0.0)
    return (2, -score, arrived, candidate.ticket_id)


def ordered(
    candidates: Iterable[Candidate], *, weights: Mapping[int, float], now: datetime, config: PolicyConfig
) -> list[Candidate]:
    """The candidates a counter serving `weights` (service id -> weight) may call, in call order."""
    eligible = [c for c in candidates if c.service_id in weights]
    return sorted(eligible, key=lambda c: rank_key(c, weight=weights[c.service_id], now=now, config=config))


def choose_next(
    candidates: Iterable[Candidate], *, weights: Mapping[int, float], now: datetime, config: PolicyConfig
) -> Candidate | None:
    """The ticket the counter calls next, or None when none of its queues has anyone."""
    best: tuple[RankKey, Candidate] | None = None
    for candidate in candidates:
        weight = weights.get(candidate.service_id)
        if weight is None:
            continue
        key = rank_key(candidate, weight=weight, now=now, config=config)
        if best is None or key < best[0]:
            best = (key, candidate)
    return None if best is None else best[1]
