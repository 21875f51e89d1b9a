"""What a run found, read back from the tickets the engine recorded: waits, utilisation, the hall."""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from queueing.tickets import Channel
from queueing.waits import MIN_PROMISE_S
from scheduling.erlang import erlang_c_wait
from scheduling.simulation.engine import Served
from scheduling.simulation.intervals import batch_means, mser5
from scheduling.simulation.run import Outcome, Prediction, Trace
from scheduling.simulation.scenario import Scenario, instability, offered_loads

WITHIN_S = 20 * 60


def wait_figures(waits: Sequence[float]) -> dict[str, float | int | None]:
    """Count, mean, p90, max, share within 20 minutes, and the half-width of the mean's 95% interval
    (batch means: the waits of one run are correlated)."""
    if not waits:
        return {"served": 0}
    ordered = sorted(waits)
    p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
    return {
        "served": len(waits),
        "mean_wait_s": statistics.fmean(waits),
        "p90_wait_s": p90,
        "max_wait_s": ordered[-1],
        "within_20_min": sum(1 for w in waits if w <= WITHIN_S) / len(waits),
        "mean_wait_ci95_s": batch_means(waits)[1],
    }


def sampled(trace: Trace, *, step_s: float, end_s: float, codes: Sequence[str]) -> dict[str, Any]:
    """The hall and the queues on a regular grid (the state after the last change at or before each time)."""
    grid = [i * step_s for i in range(int(end_s // step_s) + 1)]
    indices = [bisect.bisect_right(trace.times, t) - 1 for t in grid]
    hall = trace.hall()
    return {
        "step_s": step_s,
        "hall": [hall[i] for i in indices],
        "waiting": {code: [trace.waiting[i][code] for i in indices] for code in codes},
    }


def summarise(outcome: Outcome, *, scenario: Scenario, seed: int, warm_up: int | None) -> dict[str, Any]:
    """The run's results as plain data (the JSON of `dor simulate --json`). A stationary run drops
    its first `warm_up` citizens, or (None) as many as MSER-5 finds still under the empty start."""
    tickets = outcome.served
    warm_up_rule = "given"
    if warm_up is None:
        warm_up, warm_up_rule = mser5([t.called_s - t.arrived_s for t in tickets]), "MSER-5"
    measured = tickets[warm_up:]
    walk_ins = [t for t in measured if t.channel != Channel.APPOINTMENT]

    def waited(ticket: Served) -> float:
        # A remote ticket's wait counts from when its holder would have walked in, not from when
        # they took it at home: the figure to compare with a day of walk-ins.
        return ticket.called_s - outcome.would_walk_in.get(ticket.ticket_id, ticket.arrived_s)

    services = {
        code: wait_figures([waited(t) for t in walk_ins if t.service_id == service_id])
        for code, service_id in outcome.service_ids.items()
    }
    booked = [t for t in measured if t.appointment_s is not None]
    walk_in_waits = [waited(t) for t in walk_ins]
    booked_waits = [(t, t.called_s - max(t.arrived_s, t.appointment_s or 0.0)) for t in booked]
    counters = {}
    for label, counter_id in outcome.counter_ids.items():
        mine = [t for t in tickets if t.counter_id == counter_id and t.started_s is not None and t.ended_s]
        busy = sum((t.ended_s or 0) - (t.started_s or 0) for t in mine)
        available = outcome.end_s - outcome.paused_s[label]
        counters[label] = {
            "served": len(mine),
            "utilisation": busy / available if available > 0 else 0.0,
            "break_s": outcome.paused_s[label],
        }
    hall = outcome.trace.hall()
    peak = max(range(len(hall)), key=lambda i: (hall[i], -i))
    step = 60.0 if scenario.day is not None else max(60.0, math.ceil(outcome.end_s / 2000 / 60) * 60)
    results: dict[str, Any] = {
        "scenario": scenario.name,
        "seed": seed,
        "engine": outcome.engine,
        "mode": "day" if scenario.day is not None else "stationary",
        "start": _clock(outcome.start, scenario),
        "end": _clock(outcome.start + timedelta(seconds=outcome.end_s), scenario),
        "citizens": outcome.arrived,
        "warm_up": warm_up,
        "warm_up_rule": warm_up_rule,
        "measured": len(measured),
        "walk_ins": wait_figures(walk_in_waits),
        # Everyone called, bookings from their slot's start (or their arrival, if later): the wait
        # at the centre of a day whose people came by every channel.
        "everyone": wait_figures(walk_in_waits + [wait for _, wait in booked_waits]),
        # Everyone called, counted from the moment they wanted to be served: a booking made instead
        # of walking in adds how far its slot was from the time they would have come.
        "delay": wait_figures(
            walk_in_waits + [wait + outcome.displaced_s.get(t.ticket_id, 0.0) for t, wait in booked_waits]
        ),
        "services": services,
        "appointments": {
            "booked": outcome.booked,
            "no_shows": outcome.no_shows,
            "checked_in": len(booked),
            # When a booking was called, from its booked time (negative: before it, at a free counter).
            "called_after_slot": wait_figures([t.called_s - (t.appointment_s or 0.0) for t in booked]),
        },
        "counters": counters,
        "balancer": {"mode": scenario.balancer.mode, "moves": outcome.balancer_moves},
        "mean_utilisation": statistics.fmean(c["utilisation"] for c in counters.values()),
        "peak_hall": {
            "people": hall[peak],
            "at": _clock(outcome.start + timedelta(seconds=outcome.trace.times[peak]), scenario),
        },
        "series": sampled(outcome.trace, step_s=step, end_s=outcome.end_s, codes=list(outcome.service_ids)),
    }
    if len(outcome.centre_ids) > 1:
        results["centres"] = {
            code: {
                "walk_ins": wait_figures([waited(t) for t in walk_ins if t.centre_id == centre_id]),
                "peak_hall": max(h[index] for h in outcome.trace.halls),
            }
            for index, (code, centre_id) in enumerate(outcome.centre_ids.items())
        }
    if scenario.advice.follow_share > 0:
        results["advice"] = {
            "follow_share": scenario.advice.follow_share,
            "sent_elsewhere": outcome.advised_away,
            "mean_extra_travel_s": outcome.travel_s / outcome.advised_away if outcome.advised_away else 0.0,
        }
    if scenario.remote.share > 0:
        remote = [t for t in measured if t.channel == Channel.REMOTE]
        results["remote"] = {
            "share": scenario.remote.share,
            "tickets": len(remote),
            "notify_ahead": scenario.remote.notify_ahead,
            "notify_lead_min": scenario.remote.notify_lead_min,
        }
    if scenario.booking.share > 0:
        results["booking"] = {
            "share": scenario.booking.share,
            "booked_instead_of_walking_in": outcome.booked_walk_ins,
            # How far their slot was from the time they would have come (0 when it held it).
            "mean_displacement_s": outcome.booking_displacement_s / outcome.booked_walk_ins
            if outcome.booked_walk_ins
            else 0.0,
        }
    results["prediction"] = prediction_errors(walk_ins, outcome.predictions)
    if scenario.stationary is not None:
        last_arrival = max((t.arrived_s for t in tickets), default=0.0)
        results["stability"] = stability(scenario, outcome.trace, until_s=last_arrival)
    comparison = erlang_comparison(scenario, results["walk_ins"])
    if comparison is not None:
        results["erlang_c"] = comparison
    rounded: dict[str, Any] = _rounded(results)
    return rounded


PREDICTORS = ("learned", "oracle", "plain", "last_to_enter", "rolling")


def prediction_errors(walk_ins: Sequence[Served], predictions: dict[int, Prediction]) -> dict[str, Any]:
    """How far each predictor was from the waits that came (mean absolute error) and how often the
    engine's 80% range held the wait, over the walk-ins for which every predictor had a value."""
    pairs = []
    for ticket in walk_ins:
        said = predictions.get(ticket.ticket_id)
        if said is not None and all(getattr(said, name) is not None for name in PREDICTORS):
            pairs.append((ticket.called_s - ticket.arrived_s, said))
    if not pairs:
        return {"walk_ins": 0}
    told = [(actual, said) for actual, said in pairs if said.learned >= MIN_PROMISE_S]
    return {
        "walk_ins": len(pairs),
        "mean_absolute_error_s": {
            name: statistics.fmean(abs(float(getattr(said, name)) - actual) for actual, said in pairs)
            for name in PREDICTORS
        },
        # Over the walk-ins told they would wait (a minute or more): "no wait" has no range to hold.
        "range_coverage": statistics.fmean(said.low <= actual <= said.high for actual, said in told)
        if told
        else None,
        "mean_range_width_s": statistics.fmean(said.high - said.low for _, said in told) if told else None,
        "told_no_wait": 1 - len(told) / len(pairs),
    }


def stability(scenario: Scenario, trace: Trace, *, until_s: float) -> dict[str, Any]:
    """Whether a stationary run's queue can settle (the offered load below the counters' capacity),
    and how fast it grew over the second half of its arrivals (until `until_s`, when the last citizen
    came; the halls then empty): the least-squares slope of everyone waiting, per hour. An unstable
    run's waits grow with its length, so its means describe that run only."""
    why = instability(scenario)
    rows = [(s, sum(w.values())) for s, w in zip(trace.times, trace.waiting, strict=True) if s <= until_s]
    rows = rows[len(rows) // 2 :]
    times, waiting = [s for s, _ in rows], [w for _, w in rows]
    growth = 0.0
    if len(times) > 1 and times[-1] > times[0]:
        mean_t, mean_w = statistics.fmean(times), statistics.fmean(waiting)
        spread = sum((x - mean_t) ** 2 for x in times)
        growth = sum((x - mean_t) * (w - mean_w) for x, w in zip(times, waiting, strict=True)) / spread * 3600
    return {
        "stable": why is None,
        "offered_load": max(max(offered_loads(scenario, c)) for c in scenario.centres()),
        **({"why_not": why} if why else {}),
        "queue_growth_per_hour": growth,
    }


def erlang_comparison(scenario: Scenario, walk_ins: dict[str, Any]) -> dict[str, Any] | None:
    """Erlang C's mean wait beside the simulated one, when the scenario is an M/M/c queue."""
    if (
        scenario.stationary is None
        or instability(scenario) is not None
        or len(scenario.service) != 1
        or len(scenario.centres()) != 1
        or not walk_ins.get("served")
    ):
        return None
    spec = scenario.service[0]
    if spec.distribution != "exponential" or spec.priority_share or scenario.walk_s:
        return None
    servers = scenario.counters()
    arrival_rate = spec.walk_ins_per_hour[0] / 3600
    predicted = erlang_c_wait(arrival_rate, 1 / spec.mean_service_s, servers)
    simulated = float(walk_ins["mean_wait_s"])
    half = walk_ins.get("mean_wait_ci95_s")
    comparison: dict[str, Any] = {
        "servers": servers,
        "load": arrival_rate * spec.mean_service_s / servers,
        "predicted_mean_wait_s": predicted,
        "simulated_mean_wait_s": simulated,
        "relative_error": (simulated - predicted) / predicted,
    }
    if half:
        comparison["within_interval"] = abs(simulated - predicted) <= float(half)
    return comparison


def _clock(moment: datetime, scenario: Scenario) -> str:
    if scenario.day is not None:
        return moment.astimezone(ZoneInfo(scenario.day.timezone)).strftime("%H:%M")
    return moment.isoformat()


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value
