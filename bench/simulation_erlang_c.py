"""The simulator against Erlang C at a size that can tell: M/M/8 at 90% load, where one run's mean wait
is so noisy that only millions of citizens pin it within a few per cent.

    .venv/bin/python bench/simulation_erlang_c.py [--replications 6] [--citizens 500000] [--processes 2]

Independent replications (seeds 1..R) of `dor simulate` on the memory engine (the policy, forecasts
and balancer production runs), each cut by MSER-5, shared between processes. Their mean wait, with the
95% interval over the replications (Student's t), is set beside Erlang C's. The baseline is the floor
of the stack: the same queue played by the Kiefer-Wolfowitz recursion in plain Python (first come,
first served, no Dor at all), timed in the same run; the ratio of CPU per citizen is Dor's overhead.
Exit code 1 when the simulated mean is more than 3% from Erlang C's.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

from scheduling.erlang import erlang_c_wait
from scheduling.simulation.intervals import interval_95, mser5
from server.simulate_cli import simulate
from tests.test_simulation import fcfs_mmc_waits, mmc

SERVERS, LOAD, MEAN_SERVICE_S = 8, 0.9, 300.0
TOLERANCE = 0.03


def replication(seed: int, citizens: int) -> tuple[float, float, int]:
    """One run: its mean wait (s), the CPU it took (s) and the warm-up MSER-5 dropped."""
    scenario = mmc(servers=SERVERS, load=LOAD, citizens=citizens, warm_up=None)
    began = time.process_time()
    results = simulate(scenario, seed=seed, engine="memory")
    return results["walk_ins"]["mean_wait_s"], time.process_time() - began, results["warm_up"]


def floor(seed: int, citizens: int) -> tuple[float, float]:
    """The same queue without Dor: its mean wait (s) after MSER-5, and the CPU it took (s)."""
    began = time.process_time()
    waits = fcfs_mmc_waits(servers=SERVERS, load=LOAD, customers=citizens, rng=random.Random(seed))
    mean = statistics.fmean(waits[mser5(waits) :])
    return mean, time.process_time() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--replications", type=int, default=6)
    parser.add_argument("--citizens", type=int, default=500_000, help="per replication")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()

    truth = erlang_c_wait(LOAD * SERVERS / MEAN_SERVICE_S, 1 / MEAN_SERVICE_S, SERVERS)
    started = time.monotonic()
    seeds = range(1, args.replications + 1)
    with ProcessPoolExecutor(args.processes) as pool:
        runs = list(pool.map(replication, seeds, [args.citizens] * args.replications))
        bare = list(pool.map(floor, seeds, [args.citizens] * args.replications))
    elapsed = time.monotonic() - started

    mean, half = interval_95([wait for wait, _, _ in runs])
    error, spread = mean / truth - 1, (half or 0.0) / truth
    dor_ms = 1000 * sum(cpu for _, cpu, _ in runs) / (args.citizens * args.replications)
    floor_ms = 1000 * sum(cpu for _, cpu in bare) / (args.citizens * args.replications)
    print(
        f"M/M/{SERVERS} at {LOAD:.0%}: {args.replications} replications x {args.citizens:,} citizens "
        f"on {args.processes} processes, {elapsed / 60:.1f} min"
    )
    print(f"{'seed':>4}{'mean wait s':>13}{'vs Erlang C':>13}{'warm-up':>9}{'CPU s':>8}")
    for seed, (wait, cpu, warm_up) in zip(seeds, runs, strict=True):
        print(f"{seed:>4}{wait:>13.1f}{wait / truth - 1:>+13.2%}{warm_up:>9,}{cpu:>8.0f}")
    print(
        f"simulated {mean:.1f} s ± {half or 0:.1f} s (95%), Erlang C {truth:.1f} s: "
        f"{error:+.2%} (interval {error - spread:+.2%} to {error + spread:+.2%})"
    )
    floor_mean = statistics.fmean(wait for wait, _ in bare)
    print(f"the recursion without Dor, same seeds: {floor_mean / truth - 1:+.2%}")
    print(
        f"CPU per citizen: Dor {dor_ms:.3f} ms, the recursion {floor_ms:.4f} ms, "
        f"ratio {dor_ms / floor_ms:.0f}x"
    )
    within = abs(error) <= TOLERANCE
    print(f"within {TOLERANCE:.0%} of Erlang C: {'yes' if within else 'NO'}")
    return 0 if within else 1


if __name__ == "__main__":
    raise SystemExit(main())
