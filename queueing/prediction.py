"""Wait prediction: how long until a ticket is called, with an 80% range. Pure functions;
queueing/waits.py feeds them what the centre's log says (docs/scheduling.md, "Wait prediction").

The typical wait is queue-length based. The counters calling a ticket's queue (as one of their own,
or as a backup while their own are empty) serve, before it, the people ahead of it in the queue and
the people already waiting in their other queues (older, so first under the policy; scaled by
weight and by how many of that queue's counters these are).
Once the idle counters have taken the first of them, the ticket waits for that many services plus
one to end, at the pace the counters are learned to serve the queue:
- service times per service and counter, from recent services, each weighted by how recent it is
  (half-life HALF_LIFE_S), shrunk towards the service's learned mean and the configured one when
  there are few, and not used at all while within two standard errors of that prior;
- slowed by the people who will overtake it while it waits (priority classes and appointments),
  at the rate they came in the last half hour: that rate follows the hour's demand.
The forecast then learns from its own errors: recent outcomes at the centre (actual / modelled
wait) give the factor the typical wait is scaled by (their median: a wait is skewed, and the median
is what minimises the typical miss) and the 80% range (their 8th and 92nd percentiles); with too few
of them, the model's wait as it is, in the spread of a sum of exponential service times.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

HALF_LIFE_S = 3600.0
# A learned mean is used only when it is this many standard errors from the configured one: within
# its own noise, the configured mean is the better guess (and an error in it multiplies long waits).
Z_GUARD = 2.0
PRIOR_WEIGHT = 3.0  # the configured mean counts as this many recent services
MIN_RATIOS = 20  # recent outcomes needed before the range is read from them
Z_90 = 1.2815515655446004  # the standard normal's 90th percentile


class Completed(NamedTuple):
    """A recent service: which queue, which counter, when it ended (seconds on the clock of the
    forecast's `now_s`), how long it took. (A named tuple: a forecast reads hundreds of them.)"""

    service_id: int
    counter_id: int
    ended_s: float
    duration_s: float


@dataclass(frozen=True)
class Desk:
    """A counter that can call now (open, not paused): its own and backup queues with their weights."""

    counter_id: int
    own: Mapping[int, float]
    idle: bool
    backups: Mapping[int, float] = field(default_factory=dict)


@dataclass(frozen=True)
class QueueState:
    """A queue now: people waiting, and the rate at which people who go ahead of walk-ins came lately."""

    waiting: int
    overtakers_per_s: float


def callers(
    service_id: int, *, desks: Sequence[Desk], queues: Mapping[int, QueueState]
) -> list[tuple[Desk, float]]:
    """The counters that call this queue now, with its weight there: those holding it as their own,
    and those holding it as a backup while none of their own queues has anyone."""
    found = []
    for desk in desks:
        if service_id in desk.own:
            found.append((desk, desk.own[service_id]))
        elif service_id in desk.backups and not any(queues[s].waiting for s in desk.own if s in queues):
            found.append((desk, desk.backups[service_id]))
    return found


@dataclass(frozen=True)
class Forecast:
    typical_s: int
    low_s: int
    high_s: int
    # The queue model's wait before its recent errors scale it: what a ticket keeps, so that the
    # outcomes calibrate the model and not a forecast already calibrated.
    model_s: int


class ServiceTimes:
    """Learned mean service times, by service and by service and counter."""

    def __init__(
        self, completed: Iterable[Completed], configured: Mapping[int, float], *, now_s: float
    ) -> None:
        self.configured = configured
        # (service, 0) for the service over all counters, (service, counter) for one counter:
        # [sum of weight x duration, sum of weights, sum of weight x duration squared].
        totals: defaultdict[tuple[int, int], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        for record in completed:
            weight = 0.5 ** ((now_s - record.ended_s) / HALF_LIFE_S)
            weighted = weight * record.duration_s
            for total in (totals[record.service_id, 0], totals[record.service_id, record.counter_id]):
                total[0] += weighted
                total[1] += weight
                total[2] += weighted * record.duration_s
        self.totals = totals

    def mean_s(self, service_id: int, counter_id: int = 0) -> float:
        """The counter's mean for the service (counter 0: the service's, over all counters): the
        prior (the configured mean, or the service's for a counter) until recent services differ
        from it by more than Z_GUARD standard errors, then the recent services shrunk towards it."""
        prior = self.configured.get(service_id, 300.0) if counter_id == 0 else self.mean_s(service_id)
        weighted, weight, squares = self.totals.get((service_id, counter_id), (0.0, 0.0, 0.0))
        if weight <= 0:
            return prior
        mean = weighted / weight
        spread = math.sqrt(max(0.0, squares / weight - mean * mean))
        if abs(mean - prior) <= Z_GUARD * spread / math.sqrt(PRIOR_WEIGHT + weight):
            return prior
        return (PRIOR_WEIGHT * prior + weighted) / (PRIOR_WEIGHT + weight)


def people_before(
    service_id: int, ahead: int, *, desks: Sequence[Desk], queues: Mapping[int, QueueState]
) -> float:
    """How many people the counters calling this queue serve before a ticket with `ahead` people
    ahead in it: those, and the people already waiting in the counters' other queues, who are older
    and go first (scaled by their weight there, up to the queue's own, and by the share of their
    queue's counters that are among these)."""
    serving = callers(service_id, desks=desks, queues=queues)
    before = float(ahead)
    for other, queue in queues.items():
        if other == service_id or not queue.waiting:
            continue
        everywhere = sum(1 for d in desks if other in d.own)
        pull = [min(1.0, d.own[other] / weight) for d, weight in serving if other in d.own]
        if pull:
            before += queue.waiting * (len(pull) / everywhere) * statistics.fmean(pull)
    return before


def service_rate(
    service_id: int, *, desks: Sequence[Desk], queues: Mapping[int, QueueState], times: ServiceTimes
) -> float:
    """People the counters calling this queue serve per second, at their learned pace for it."""
    return sum(
        1 / times.mean_s(service_id, d.counter_id) for d, _ in callers(service_id, desks=desks, queues=queues)
    )


def typical_wait_s(ahead: float, *, rate_per_s: float, overtakers_per_s: float, idle: int) -> float:
    """Seconds until called with `ahead` people to be served first, `idle` counters free for them."""
    services = ahead + 1 - idle
    if services <= 0:
        return 0.0
    if rate_per_s <= 0:
        return math.inf
    # Overtakers arrive while one waits and take services first: W = (n + λo W) / r.
    net = max(rate_per_s - overtakers_per_s, rate_per_s / 5)
    return services / net


def calibrated(
    model_s: float, *, services: int, ratios: Sequence[float], scale: bool = True
) -> tuple[float, float, float]:
    """The typical wait and its 80% range for a modelled wait: scaled by the median (when `scale`)
    and the 8th and 92nd percentiles of the recent actual / modelled ratios of the queue or, with
    fewer than MIN_RATIOS, the model's wait with the range of a sum of `services` exponential
    service ends (Gamma)."""
    if model_s <= 0:
        return 0.0, 0.0, 0.0
    if len(ratios) >= MIN_RATIOS:
        # The 8th and 92nd percentiles rather than the 10th and 90th: recent outcomes are those of
        # tickets already called, so the longest waits of the window are missing from them.
        cuts = statistics.quantiles(ratios, n=25, method="inclusive")
        typical = model_s * statistics.median(ratios) if scale else model_s
        return typical, model_s * cuts[1], model_s * cuts[-2]
    shape = max(services, 1)
    return model_s, _gamma_quantile(0.1, shape, model_s), _gamma_quantile(0.9, shape, model_s)


def _gamma_quantile(p: float, shape: int, mean: float) -> float:
    """Wilson-Hilferty: the p quantile of a Gamma(shape) with this mean, within a few per cent."""
    z = Z_90 if p > 0.5 else -Z_90
    term = 1 - 1 / (9 * shape) + z * math.sqrt(1 / (9 * shape))
    return max(0.0, mean * term**3)


def forecast(
    ahead: int,
    service_id: int,
    *,
    desks: Sequence[Desk],
    queues: Mapping[int, QueueState],
    times: ServiceTimes,
    ratios: Sequence[float],
) -> Forecast:
    """The typical wait and its 80% range for a ticket of `service_id` with `ahead` people ahead."""
    idle = sum(1 for d, _ in callers(service_id, desks=desks, queues=queues) if d.idle)
    before = people_before(service_id, ahead, desks=desks, queues=queues)
    rate = service_rate(service_id, desks=desks, queues=queues, times=times)
    overtakers = queues[service_id].overtakers_per_s if service_id in queues else 0.0
    model = typical_wait_s(before, rate_per_s=rate, overtakers_per_s=overtakers, idle=idle)
    if math.isinf(model):  # no counter calls the queue now: as if one opened, free, this instant
        model = ahead * times.mean_s(service_id)
    # Only where counters back the queue up: how often they will be free for it is the model's one
    # guess; elsewhere it is unbiased, and scaling it would add the outcomes' noise and lag.
    backed_up = any(service_id in d.backups for d in desks)
    typical, low, high = calibrated(model, services=round(before) + 1 - idle, ratios=ratios, scale=backed_up)
    return Forecast(round(typical), round(low), round(high), round(model))
