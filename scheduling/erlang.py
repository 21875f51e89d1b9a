"""Erlang C: the M/M/c queue's exact waits, the yardstick the simulator is checked against."""

from __future__ import annotations


def erlang_c_probability(*, offered_load: float, servers: int) -> float:
    """The probability that an arrival must wait, for offered load a = λ/μ (erlangs) and c servers."""
    if servers < 1:
        raise ValueError("at least one server")
    if not 0 <= offered_load < servers:
        raise ValueError(f"an offered load of {offered_load} erlangs on {servers} servers never settles")
    # Erlang B by its stable recurrence, then C from B: no factorials, no overflow for large c.
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = offered_load * blocking / (k + offered_load * blocking)
    utilisation = offered_load / servers
    return blocking / (1 - utilisation + utilisation * blocking)


def erlang_c_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean wait in queue (before service) of an M/M/c queue, in the unit of 1 / the rates."""
    if arrival_rate < 0 or service_rate <= 0:
        raise ValueError("rates must be positive")
    offered = arrival_rate / service_rate
    waiting = erlang_c_probability(offered_load=offered, servers=servers)
    return waiting / (servers * service_rate - arrival_rate)
