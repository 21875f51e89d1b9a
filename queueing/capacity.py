"""What a centre's counters can give one service: the bookable places of a slot. Pure.

Capacity of a slot for a service = what the counters serving it can do in the slot's length,
less the share kept for walk-ins:

    floor(slot_s / mean_service_s x sum over counters of (weight of the service / sum of the
          counter's weights) x (1 - walk_in_share))

A counter that serves several services gives each the share of its time its weights say. The
booking's slot engine (booking/slots.py) and the simulator's bookings use it alike.
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
