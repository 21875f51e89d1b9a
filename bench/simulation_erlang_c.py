"""The simulator against Erlang C: the real engine on a virtual clock, as an M/M/2 queue at 50% load,
its waits beside the ones Erlang C gives exactly.

    .venv/bin/python bench/simulation_erlang_c.py [--seed 7]

Two counters at 50%, 2,000 citizens, the first 200 of them warm-up (docs/scheduling.md, "Validation
against Erlang C"). Over 300 seeds of an independent first-come-first-served M/M/2 recursion (no
database) the measured mean wait has a standard deviation of 15% of Erlang C's, the share that waits
at all 0.022 and the share that waits over 5 minutes 0.018: each bound below is three of those, and
drawing service times 10% too long breaks four of them. It runs for about 20 s, too long for a test:
tests/test_simulation.py runs the same queue shorter, for what needs no statistics (the order of
calls, the report).
"""

from __future__ import annotations

import argparse
import math
import time

from scheduling.erlang import erlang_c_probability, erlang_c_wait
from scheduling.simulation.report import served_tickets, summarise
from scheduling.simulation.run import Simulation
from server.simulate_cli import throwaway_database
from tests.test_simulation import mmc

SERVERS, LOAD, CITIZENS, WARM_UP = 2, 0.5, 2_000, 200
MEAN_SERVICE_S, LONG_WAIT_S = 300.0, 300.0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    scenario = mmc(servers=SERVERS, load=LOAD, citizens=CITIZENS, warm_up=WARM_UP)
    started = time.perf_counter()
    with throwaway_database() as database:
        outcome = Simulation(scenario, database=database, seed=args.seed).run()
        served = served_tickets(database, outcome=outcome)
        results = summarise(outcome, scenario=scenario, database=database, seed=args.seed, warm_up=WARM_UP)
    elapsed = time.perf_counter() - started

    waits = [ticket.called_s - ticket.arrived_s for ticket in served[WARM_UP:]]
    mu, lam = 1 / MEAN_SERVICE_S, LOAD * SERVERS / MEAN_SERVICE_S
    must_wait = erlang_c_probability(offered_load=lam / mu, servers=SERVERS)
    predicted = erlang_c_wait(lam, mu, SERVERS)
    # (figure, simulated, Erlang C's, the bound on their difference)
    rows = [
        ("mean wait, s", results["erlang_c"]["simulated_mean_wait_s"], predicted, 0.45 * predicted),
        ("share that waits", sum(1 for w in waits if w > 0) / len(waits), must_wait, 0.066),
        (
            "share waiting over 5 min",
            sum(1 for w in waits if w > LONG_WAIT_S) / len(waits),
            must_wait * math.exp(-(SERVERS * mu - lam) * LONG_WAIT_S),
            0.054,
        ),
        ("counter utilisation", results["mean_utilisation"], LOAD, 0.05),
    ]
    print(f"M/M/{SERVERS} at {LOAD:.0%}, seed {args.seed}: {len(waits):,} citizens measured of {CITIZENS:,}")
    print(f"{'':26}{'simulated':>10}{'Erlang C':>10}{'bound':>8}")
    within = True
    for name, simulated, theory, bound in rows:
        ok = abs(simulated - theory) < bound
        within &= ok
        verdict = "within" if ok else "OUTSIDE"
        print(f"{name:26}{simulated:10.3f}{theory:10.3f}{bound:8.3f}  {verdict}")
    print(f"run time {elapsed:.1f} s, {1000 * elapsed / CITIZENS:.1f} ms per citizen")
    return 0 if within else 1


if __name__ == "__main__":
    raise SystemExit(main())
