"""What a centre's counters can give one service: the bookable places of a slot. Pure.

Capacity of a slot for a service = what the counters serving it can do in the slot's length,
less the share kept for walk-ins:

    floor(slot_s / mean_service_s x sum over counters of (weight of the service / sum of the
          counter's weights) x (1 - walk_in_share))

A counter that serves several services gives each the share of its time its weights say. The
booking's slot engine (booking/slots.py) and the simulator's bookings use it alike, and
`places_by_demand` when the walk-ins of each slot are known from the centre's history.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from datetime import timedelta
from typing import TypeVar

ServiceKey = TypeVar("ServiceKey", bound=Hashable)


def capacity(
    *,
    slot: timedelta,
    mean_service_s: float,
    counter_weights: Sequence[Mapping[ServiceKey, float]],
    service_id: ServiceKey,
    walk_in_share: float,
) -> int:
    """Appointments one slot can take for the service (see the module's docstring)."""
    share = sum(
        weights[service_id] / sum(weights.values()) for weights in counter_weights if weights.get(service_id)
    )
    return math.floor(slot.total_seconds() / mean_service_s * share * (1 - walk_in_share))


def places_by_demand(
    flat: Mapping[ServiceKey, Sequence[int]],
    *,
    mean_service_s: Mapping[ServiceKey, float],
    counter_s: Sequence[float],
    walk_in_work_s: Sequence[float],
    target_load: float,
) -> dict[ServiceKey, list[int]]:
    """A day's places slot by slot when its walk-ins are expected (docs/scheduling.md, "Places that
    follow demand"). Each slot's counter time, at most `target_load` of it, less the work of the
    walk-ins expected in the slot and of those still waiting from busier slots before (a fluid
    queue), is shared among the services in proportion to their flat places (`flat`, from
    `capacity`) and never exceeds them. No place is offered where walk-ins already fill the
    counters, so bookings move demand out of the peak instead of adding to it."""
    out: dict[ServiceKey, list[int]] = {service: [] for service in flat}
    backlog = 0.0
    for k, (can, come) in enumerate(zip(counter_s, walk_in_work_s, strict=True)):
        free = can * target_load - come - backlog
        backlog = max(0.0, -free)
        wanted = sum(places[k] * mean_service_s[service] for service, places in flat.items())
        scale = min(1.0, free / wanted) if wanted and free > 0 else 0.0
        for service, places in flat.items():
            out[service].append(math.floor(places[k] * scale))
    return out
