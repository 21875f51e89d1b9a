"""What a run found, read back from the tickets the engine wrote: waits, utilisation, the hall."""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import col

from config.db import Database
from queueing.erlang import erlang_c_wait
from queueing.models import Ticket
from queueing.simulation.run import Outcome, Trace
from queueing.simulation.scenario import Scenario
from queueing.tickets import Channel

WITHIN_S = 20 * 60
BATCHES = 20  # batch means: the standard error of a mean wait whose samples are correlated


@dataclass(frozen=True)
class Served:
    """One citizen as the engine recorded them."""

    service_id: int
    channel: str
    arrived_s: float
    called_s: float
    started_s: float | None
    ended_s: float | None
    counter_id: int | None
    appointment_s: float | None


def served_tickets(database: Database, *, outcome: Outcome) -> list[Served]:
    """Every called ticket of the run, in order of issue (ticket id)."""

    def seconds(moment: datetime) -> float:
        return (moment - outcome.start).total_seconds()

    rows: list[Served] = []
    with database.read() as session:
        tickets = session.execute(
            select(
                col(Ticket.service_id),
                col(Ticket.channel),
                col(Ticket.arrived_at),
                col(Ticket.call_times),
                col(Ticket.started_at),
                col(Ticket.ended_at),
                col(Ticket.counter_id),
                col(Ticket.appointment_at),
            )
            .where(col(Ticket.centre_id) == outcome.centre_id)
            .order_by(col(Ticket.id))
        ).all()
    for service_id, channel, arrived, calls, started, ended, counter_id, appointment in tickets:
        if not calls:
            continue
        rows.append(
            Served(
                service_id=service_id,
                channel=channel,
                arrived_s=seconds(arrived),
                called_s=seconds(datetime.fromisoformat(calls[0])),
                started_s=seconds(started) if started else None,
                ended_s=seconds(ended) if ended else None,
                counter_id=counter_id,
                appointment_s=seconds(appointment) if appointment else None,
            )
        )
    return rows


def wait_figures(waits: Sequence[float]) -> dict[str, float | int | None]:
    """Count, mean, p90, max, share within 20 minutes, and the mean's standard error (batch means)."""
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
        "mean_wait_se_s": batch_standard_error(waits),
    }


def batch_standard_error(values: Sequence[float], *, batches: int = BATCHES) -> float | None:
    """The standard error of the mean of a correlated series, from the spread of its batch means."""
    size = len(values) // batches
    if size < 2:
        return None
    means = [statistics.fmean(values[i * size : (i + 1) * size]) for i in range(batches)]
    return statistics.stdev(means) / math.sqrt(batches)


def sampled(trace: Trace, *, step_s: float, end_s: float, codes: Sequence[str]) -> dict[str, Any]:
    """The hall and the queues on a regular grid (the state after the last change at or before each time)."""
    grid = [i * step_s for i in range(int(end_s // step_s) + 1)]
    indices = [bisect.bisect_right(trace.times, t) - 1 for t in grid]
    return {
        "step_s": step_s,
        "hall": [trace.hall[i] for i in indices],
        "waiting": {code: [trace.waiting[i][code] for i in indices] for code in codes},
    }


def summarise(
    outcome: Outcome, *, scenario: Scenario, database: Database, seed: int, warm_up: int
) -> dict[str, Any]:
    """The run's results as plain data (the JSON of `dor simulate --json`)."""
    tickets = served_tickets(database, outcome=outcome)
    measured = tickets[warm_up:]
    walk_ins = [t for t in measured if t.channel != Channel.APPOINTMENT]
    services = {
        code: wait_figures([t.called_s - t.arrived_s for t in walk_ins if t.service_id == service_id])
        for code, service_id in outcome.service_ids.items()
    }
    booked = [t for t in measured if t.appointment_s is not None]
    counters = {}
    for number, counter_id in outcome.counter_ids.items():
        mine = [t for t in tickets if t.counter_id == counter_id and t.started_s is not None and t.ended_s]
        busy = sum((t.ended_s or 0) - (t.started_s or 0) for t in mine)
        available = outcome.end_s - outcome.paused_s[number]
        counters[str(number)] = {
            "served": len(mine),
            "utilisation": busy / available if available > 0 else 0.0,
            "break_s": outcome.paused_s[number],
        }
    peak = max(range(len(outcome.trace.hall)), key=lambda i: (outcome.trace.hall[i], -i))
    step = 60.0 if scenario.day is not None else max(60.0, math.ceil(outcome.end_s / 2000 / 60) * 60)
    results: dict[str, Any] = {
        "scenario": scenario.name,
        "seed": seed,
        "mode": "day" if scenario.day is not None else "stationary",
        "start": _clock(outcome.start, scenario),
        "end": _clock(outcome.start + timedelta(seconds=outcome.end_s), scenario),
        "citizens": outcome.arrived,
        "warm_up": warm_up,
        "measured": len(measured),
        "walk_ins": wait_figures([t.called_s - t.arrived_s for t in walk_ins]),
        "services": services,
        "appointments": {
            "booked": outcome.booked,
            "no_shows": outcome.no_shows,
            "checked_in": len(booked),
            # When a booking was called, from its booked time (negative: before it, at a free counter).
            "called_after_slot": wait_figures([t.called_s - (t.appointment_s or 0.0) for t in booked]),
        },
        "counters": counters,
        "mean_utilisation": statistics.fmean(c["utilisation"] for c in counters.values()),
        "peak_hall": {
            "people": outcome.trace.hall[peak],
            "at": _clock(outcome.start + timedelta(seconds=outcome.trace.times[peak]), scenario),
        },
        "series": sampled(outcome.trace, step_s=step, end_s=outcome.end_s, codes=list(outcome.service_ids)),
    }
    comparison = erlang_comparison(scenario, results["walk_ins"])
    if comparison is not None:
        results["erlang_c"] = comparison
    rounded: dict[str, Any] = _rounded(results)
    return rounded


def erlang_comparison(scenario: Scenario, walk_ins: dict[str, Any]) -> dict[str, float] | None:
    """Erlang C's mean wait beside the simulated one, when the scenario is an M/M/c queue."""
    if scenario.stationary is None or len(scenario.service) != 1 or not walk_ins.get("served"):
        return None
    spec = scenario.service[0]
    if spec.distribution != "exponential" or spec.priority_share or scenario.walk_s:
        return None
    servers = scenario.counters()
    arrival_rate = spec.walk_ins_per_hour[0] / 3600
    predicted = erlang_c_wait(arrival_rate, 1 / spec.mean_service_s, servers)
    simulated = float(walk_ins["mean_wait_s"])
    se = walk_ins.get("mean_wait_se_s")
    comparison = {
        "servers": servers,
        "load": arrival_rate * spec.mean_service_s / servers,
        "predicted_mean_wait_s": predicted,
        "simulated_mean_wait_s": simulated,
        "relative_error": (simulated - predicted) / predicted,
    }
    if se:
        comparison["standard_errors_off"] = (simulated - predicted) / float(se)
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
