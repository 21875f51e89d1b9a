"""Which counters serve which services, from the forecast demand: each counter one own queue and
one backup, in a chain that follows the demand (docs/scheduling.md, "Skill chains"). Pure.

1. Own queues: the counters are shared among the services in proportion to their work (people an
   hour x mean service time), largest remainder first, one at least each. With fewer counters than
   services, the services are first bundled into as many groups as there are counters (the
   busiest first, each into the group with the least work so far, the fewest services among
   equals), and a counter owns a group.
2. Backups: the services (or groups) stand on a cycle that puts the one with the most counters to
   spare (own counters less work) before the one that lacks most, the second to spare before the
   second lacking, and so on; a counter backs up the one after its own on the cycle, and a
   service's second and further counters the ones after that, so that help flows from slack to
   need and every service is linked to every other (a long chain, after Jordan and Graves).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

Service = TypeVar("Service", bound=Hashable)


class PlanError(ValueError):
    """The plan cannot be made (the message says why)."""


@dataclass(frozen=True)
class Assignment(Generic[Service]):
    own: tuple[Service, ...]  # one service, or a group of them when counters are fewer
    backups: tuple[Service, ...]  # the next one or group on the cycle; none with a single one


def groups(work: Mapping[Service, float], counters: int) -> dict[tuple[Service, ...], float]:
    """The services as at most `counters` groups with their work: each its own group when there
    are counters enough, else the busiest first, each into the group with the least work so far."""
    if len(work) <= counters:
        return {(service,): w for service, w in work.items()}
    bins: list[tuple[float, int, list[Service]]] = [(0.0, k, []) for k in range(counters)]
    for service in sorted(work, key=lambda s: -work[s]):
        # Among groups of equal work the smallest: services with no work yet are spread too.
        total, k, members = min(bins, key=lambda b: (b[0], len(b[2]), b[1]))
        bins[k] = (total + work[service], k, [*members, service])
    return {tuple(members): total for total, _, members in bins}


def own_counts(work: Mapping[Service, float], counters: int) -> dict[Service, int]:
    """Counters per service in proportion to its work (in counters busy), one at least each: the
    largest remainders get the counters left over, ties to the busier service."""
    assert len(work) <= counters, "groups() first: one counter at least each"
    total = sum(work.values())
    spare = counters - len(work)  # beyond the one each service has
    if total <= 0:
        shares = dict.fromkeys(work, spare / len(work))
    else:
        shares = {s: max(0.0, w / total * counters - 1) for s, w in work.items()}
        scale = sum(shares.values())
        shares = {s: v / scale * spare if scale else spare / len(work) for s, v in shares.items()}
    counts = {s: 1 + math.floor(v) for s, v in shares.items()}
    left = counters - sum(counts.values())
    for service in sorted(work, key=lambda s: (-(shares[s] - math.floor(shares[s])), -work[s]))[:left]:
        counts[service] += 1
    return counts


def cycle(work: Mapping[Service, float], counts: Mapping[Service, int]) -> list[Service]:
    """The services in backup order: most to spare, most lacking, second to spare, second lacking..."""
    by_slack = sorted(work, key=lambda s: (-(counts[s] - work[s]), -work[s]))
    order = []
    while by_slack:
        order.append(by_slack.pop(0))
        if by_slack:
            order.append(by_slack.pop())
    return order


def plan(work: Mapping[Service, float], counters: int) -> list[Assignment[Service]]:
    """Each counter's own queues and backups, for services with this work (counters busy, e.g. 2.4
    for people an hour x mean service time / 3600), in the order of the cycle."""
    if not work or counters < 1:
        raise PlanError("a plan needs a service and a counter at least")
    if any(w < 0 or not math.isfinite(w) for w in work.values()):
        raise PlanError("the work of a service must be a finite number >= 0")
    bundles = groups(work, counters)
    counts = own_counts(bundles, counters)
    order = cycle(bundles, counts)
    assignments = []
    for index, bundle in enumerate(order):
        for k in range(counts[bundle]):
            backups = order[(index + 1 + k % (len(order) - 1)) % len(order)] if len(order) > 1 else ()
            assignments.append(Assignment(bundle, backups))
    return assignments
