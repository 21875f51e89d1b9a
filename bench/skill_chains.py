"""Skill chains on scenarios nobody tuned for: counters with two skills each, demand unequal up to
3:1, 90% load. How far the mean wait is from the pooled floor (Erlang C, every counter serving
everyone) with the counters planned from the demand (`--variant chain`, scheduling/skills.py) and
with the ring a scenario writer would type (counter k owns service k and backs up service k + 1).

    .venv/bin/python bench/skill_chains.py [--days 3] [--citizens 12000] [--processes 2]

Generated scenarios: 6, 8 and 10 counters; 4, 5 and 6 services; per pair, demand drawn uniform
from 1 to 3 (two draws, seeds 1 and 2) and a linear spread from 1 to 3; 10-minute exponential
services; the balancer on, as a centre runs it. Each scenario is simulated for `--days` seeds on
the memory engine (the production policy, balancer and forecasts), warm-up 10%; the pooled variant
runs on the same citizens, as the baseline measured in the same run (it should sit on the floor).
The ratio is the mean over the days / Erlang C, with its 95% interval; beside it the chain's wait
over the pooled one's, day by day on the same citizens, whose interval is narrower.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from scheduling.erlang import erlang_c_wait
from scheduling.simulation.intervals import interval_95
from scheduling.simulation.scenario import Scenario, variant
from server.simulate_cli import simulate

LOAD, MEAN_S = 0.9, 600.0
SHAPES = [(counters, services) for counters in (6, 8, 10) for services in (4, 5, 6)]


def demands(services: int, draw: int) -> list[float]:
    """Relative demand of each service: drawn from 1 to 3, or (draw 0) spread linearly from 1 to 3."""
    if draw == 0:
        return [1 + 2 * k / (services - 1) for k in range(services)]
    rng = random.Random(f"{services}:{draw}")
    return [rng.uniform(1, 3) for _ in range(services)]


def scenario(counters: int, weights: list[float], citizens: int) -> Scenario:
    """The ring as written: counter k owns service k mod S and backs up the next one."""
    codes = [chr(ord("A") + k) * 2 for k in range(len(weights))]
    per_hour = [w / sum(weights) * LOAD * counters * 3600 / MEAN_S for w in weights]
    return Scenario.model_validate(
        {
            "name": f"{counters} counters, {len(weights)} services",
            "stationary": {"citizens": citizens, "warm_up": citizens // 10},
            "balancer": {"mode": "apply"},
            "service": [
                {
                    "code": code,
                    "mean_service_s": MEAN_S,
                    "distribution": "exponential",
                    "cv": 1.0,
                    "walk_ins_per_hour": [rate],
                }
                for code, rate in zip(codes, per_hour, strict=True)
            ],
            "counter": [
                {"services": {codes[k % len(codes)]: 1.0}, "backups": {codes[(k + 1) % len(codes)]: 1.0}}
                for k in range(counters)
            ],
        }
    )


def day(job: tuple[int, list[float], str, int, int]) -> float:
    """One day's mean wait (s) of a scenario's variant."""
    counters, weights, name, seed, citizens = job
    results: dict[str, Any] = simulate(
        variant(scenario(counters, weights, citizens), name), seed=seed, engine="memory"
    )
    return float(results["walk_ins"]["mean_wait_s"])


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--citizens", type=int, default=12_000, help="per day")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()

    cases = [(n, s, draw, demands(s, draw)) for n, s in SHAPES for draw in (0, 1, 2)]
    names = ("chain", "given", "pooled")
    jobs = [
        (n, weights, name, seed, args.citizens)
        for n, _, _, weights in cases
        for name in names
        for seed in range(1, args.days + 1)
    ]
    started = time.monotonic()
    with ProcessPoolExecutor(args.processes) as pool:
        waits = iter(pool.map(day, jobs))
    print(f"{len(cases)} scenarios x {args.days} days x {args.citizens:,} citizens at {LOAD:.0%} load")
    print(f"{'counters':>8}{'services':>9}{'demand max/min':>15}{'floor min':>10}   mean wait / floor (95%)")
    print(f"{'':>42}{'chain':>14}{'ring':>14}{'pooled':>14}  chain / pooled, day by day")
    to_floor, to_pooled = [], []
    for n, s, _, weights in cases:
        floor = erlang_c_wait(LOAD * n / MEAN_S, 1 / MEAN_S, n)
        days = {name: [next(waits) for _ in range(args.days)] for name in names}
        cells = []
        for name in names:
            mean, half = interval_95([wait / floor for wait in days[name]])
            cells.append(f"{mean:>7.2f} ± {half or 0:<4.2f}" if mean < 100 else f"{'unstable':>14}")
        paired, paired_half = interval_95([c / p for c, p in zip(days["chain"], days["pooled"], strict=True)])
        to_floor.append(statistics.fmean(days["chain"]) / floor)
        to_pooled.append(paired)
        spread = max(weights) / min(weights)
        row = f"{n:>8}{s:>9}{spread:>15.2f}{floor / 60:>10.2f}{''.join(cells)}"
        print(f"{row}{paired:>9.2f} ± {paired_half or 0:.2f}")
    print(
        f"chain / floor: median {statistics.median(to_floor):.2f}, worst {max(to_floor):.2f}, "
        f"at most 1.3 in {sum(r <= 1.3 for r in to_floor)} of {len(to_floor)}; chain / pooled: median "
        f"{statistics.median(to_pooled):.2f}, worst {max(to_pooled):.2f}; "
        f"{(time.monotonic() - started) / 60:.1f} min"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
