"""Counter balancing: which backup queues a counter should take up as its own for a while, and when
to let them go. Pure functions; scheduling/balancer.py feeds them the centre's state and applies or
recommends the moves (docs/scheduling.md, "Counter balancing").

A queue's pressure is its drain time: the work waiting in it (people x mean service time) shared by
the ready counters that call it as their own. A queue whose drain time passes `boost_above_s` gets
one helper per round: the ready counter holding it as a backup whose own queues are least pressed,
if those are at most half as pressed. A boosted queue goes back to backup once it is light again or
the helper's own queues are more pressed than it, so counters follow the pressure both ways without
flapping (boosting needs a 2x difference, releasing only a reversal).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from organisation.models import QueueRole

OWN = (QueueRole.MAIN, QueueRole.BOOSTED)


@dataclass(frozen=True)
class QueueLoad:
    service_id: int
    waiting: int
    mean_service_s: float


@dataclass(frozen=True)
class DeskState:
    """A counter as the balancer sees it."""

    number: int
    ready: bool  # open and not paused: it can call now
    roles: Mapping[int, QueueRole]  # service id -> role


@dataclass(frozen=True)
class Move:
    """Counter `counter` should hold `service_id`'s queue as `role` (boosted, or back to backup)."""

    counter: int
    service_id: int
    role: QueueRole
    drain_s: float  # the queue's drain time when the move was planned (inf: nobody calls it)


@dataclass(frozen=True)
class BalanceRules:
    boost_above_s: float = 600.0  # a queue this far from empty asks for a helper
    release_below_s: float = 120.0  # a boosted queue this close to empty lets its helper go


def drain_times(queues: Iterable[QueueLoad], desks: Sequence[DeskState]) -> dict[int, float]:
    """Seconds each queue would take to empty with the ready counters that call it as their own."""
    drains = {}
    for queue in queues:
        own = sum(1 for d in desks if d.ready and d.roles.get(queue.service_id) in OWN)
        work = queue.waiting * queue.mean_service_s
        drains[queue.service_id] = work / own if own else (math.inf if work else 0.0)
    return drains


def plan(queues: Iterable[QueueLoad], desks: Sequence[DeskState], rules: BalanceRules) -> list[Move]:
    """This round's moves: releases first, then at most one new helper per queue and per counter."""
    drains = drain_times(queues, desks)
    moves = []
    for desk in desks:
        home = _pressure(desk, drains, roles=(QueueRole.MAIN,))
        for service_id, role in desk.roles.items():
            drain = drains.get(service_id, 0.0)
            if role == QueueRole.BOOSTED and (
                not desk.ready or drain <= rules.release_below_s or home > drain
            ):
                moves.append(Move(desk.number, service_id, QueueRole.BACKUP, drain))
    released = {(m.counter, m.service_id) for m in moves}
    helping: set[int] = set()
    for service_id in sorted(drains, key=lambda s: (-drains[s], s)):
        drain = drains[service_id]
        if drain < rules.boost_above_s:
            break
        helpers = [
            (_pressure(d, drains, roles=OWN, leaving=released), d.number)
            for d in desks
            if d.ready and d.number not in helping and d.roles.get(service_id) == QueueRole.BACKUP
        ]
        if not helpers:
            continue
        own, number = min(helpers)
        if own * 2 <= drain:
            moves.append(Move(number, service_id, QueueRole.BOOSTED, drain))
            helping.add(number)
    return moves


def _pressure(
    desk: DeskState,
    drains: Mapping[int, float],
    *,
    roles: Sequence[QueueRole],
    leaving: set[tuple[int, int]] | None = None,
) -> float:
    """The drain time of the most pressed of the desk's queues in these roles."""
    return max(
        (
            drains.get(service_id, 0.0)
            for service_id, role in desk.roles.items()
            if role in roles and (leaving is None or (desk.number, service_id) not in leaving)
        ),
        default=0.0,
    )
