"""`dor simulate SCENARIO.toml`: a day of a centre on a virtual clock, through the real engine."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event

from config.db import Database
from queueing.simulation.chart import render_chart
from queueing.simulation.report import summarise
from queueing.simulation.run import Progress, Simulation
from queueing.simulation.scenario import Scenario, ScenarioError, load_scenario
from server import schema


def register(commands: Any) -> None:
    """Adds the `simulate` subcommand."""
    simulate = commands.add_parser("simulate", help="simulate a centre's day (config/scenarios/*.toml)")
    simulate.add_argument(
        "scenario", type=Path, help="a scenario file, e.g. config/scenarios/damascus-day.toml"
    )
    simulate.add_argument("--seed", type=int, default=1, help="the same seed gives the same results")
    simulate.add_argument("--json", type=Path, help="write the results here")
    simulate.add_argument("--chart", type=Path, help="draw queue lengths and the hall over time (PNG)")
    simulate.add_argument("--citizens", type=int, help="a stationary run of this many citizens instead")
    simulate.add_argument("--quiet", action="store_true", help="no progress line")


@contextmanager
def throwaway_database() -> Iterator[Database]:
    """A migrated SQLite database in a temporary folder, deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="dor-simulation-") as folder:
        database = Database(f"sqlite:///{folder}/simulation.sqlite3")

        @event.listens_for(database.engine, "connect")
        def _no_fsync(dbapi_connection: Any, _record: Any) -> None:
            # Runs after Database's own hook. This database is thrown away at the end of the run, so
            # surviving a power cut is worthless; an fsync per commit would triple the run time.
            dbapi_connection.execute("PRAGMA synchronous=OFF")

        schema.upgrade(database)
        try:
            yield database
        finally:
            database.dispose()


def simulate(
    scenario: Scenario, *, seed: int, citizens: int | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Runs the scenario on a fresh throwaway database and returns its results."""
    if citizens is not None and scenario.stationary is None:
        raise ScenarioError("--citizens applies to a [stationary] scenario only")
    warm_up = 0
    if scenario.stationary is not None:
        total = citizens or scenario.stationary.citizens
        warm_up = min(scenario.stationary.warm_up, total // 10) if citizens else scenario.stationary.warm_up
    with throwaway_database() as database:
        outcome = Simulation(
            scenario, database=database, seed=seed, citizens=citizens, progress=progress
        ).run()
        return summarise(outcome, scenario=scenario, database=database, seed=seed, warm_up=warm_up)


class ProgressLine:
    """A progress line on stderr, redrawn at most twice a second."""

    def __init__(self) -> None:
        self.began = time.monotonic()
        self.drawn = 0.0

    def __call__(self, done: int, expected: int) -> None:
        clock = time.monotonic()
        if clock - self.drawn < 0.5 and done < expected:
            return
        self.drawn = clock
        spent = clock - self.began
        share = min(done / max(expected, 1), 1.0)
        left = spent / share - spent if share > 0 else 0.0
        bar = "#" * int(share * 30)
        print(
            f"\rsimulating [{bar:<30}] {done:,}/{expected:,} citizens, "
            f"{spent * 1000 / max(done, 1):.1f} ms each, {left / 60:.0f} min left ",
            end="",
            file=sys.stderr,
            flush=True,
        )


def run(args: argparse.Namespace) -> int:
    """`dor simulate`: checks the scenario, runs it, prints a summary, writes JSON and a chart."""
    try:
        scenario = load_scenario(args.scenario)
        if args.citizens is not None and args.citizens < 1:
            raise ScenarioError("--citizens must be at least 1")
        began = time.monotonic()
        progress = None if args.quiet else ProgressLine()
        results = simulate(scenario, seed=args.seed, citizens=args.citizens, progress=progress)
    except ScenarioError as exc:
        print(f"dor simulate: {exc}", file=sys.stderr)
        return 2
    spent = time.monotonic() - began
    if progress is not None:
        print(file=sys.stderr)
    print(summary(results))
    print(f"run time {spent:.1f} s, {spent * 1000 / max(results['citizens'], 1):.2f} ms per citizen")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.chart:
        render_chart(results, args.chart)
    return 0


def summary(results: dict[str, Any]) -> str:
    """The results as a few readable lines."""
    lines = [
        f"{results['scenario']} (seed {results['seed']}): {results['citizens']:,} citizens, "
        f"{results['measured']:,} measured after a warm-up of {results['warm_up']:,}",
        f"{'service':<10}{'served':>8}{'mean':>9}{'p90':>9}{'max':>9}{'<=20 min':>10}   (walk-ins, minutes)",
    ]
    rows = [*results["services"].items(), ("all", results["walk_ins"])]
    for code, figures in rows:
        if not figures.get("served"):
            lines.append(f"{code:<10}{0:>8}")
            continue
        lines.append(
            f"{code:<10}{figures['served']:>8,}{figures['mean_wait_s'] / 60:>9.1f}"
            f"{figures['p90_wait_s'] / 60:>9.1f}{figures['max_wait_s'] / 60:>9.1f}"
            f"{figures['within_20_min']:>10.0%}"
        )
    appointments = results["appointments"]
    if appointments["booked"]:
        delay = appointments["called_after_slot"].get("mean_wait_s", 0) / 60
        lines.append(
            f"appointments: {appointments['booked']} booked, {appointments['no_shows']} no-shows, "
            f"called on average {abs(delay):.1f} min {'after' if delay >= 0 else 'before'} their time"
        )
    counters = ", ".join(f"{n}: {c['utilisation']:.0%}" for n, c in results["counters"].items())
    lines.append(f"counter utilisation {results['mean_utilisation']:.0%} ({counters})")
    peak = results["peak_hall"]
    lines.append(
        f"peak hall occupancy {peak['people']} people at {peak['at']}; last citizen done {results['end']}"
    )
    erlang = results.get("erlang_c")
    if erlang:
        lines.append(
            f"Erlang C (M/M/{erlang['servers']} at {erlang['load']:.1%}): predicted mean wait "
            f"{erlang['predicted_mean_wait_s']:.2f} s, simulated {erlang['simulated_mean_wait_s']:.2f} s, "
            f"relative error {erlang['relative_error']:+.2%}"
            + (
                f" ({erlang['standard_errors_off']:+.2f} standard errors)"
                if "standard_errors_off" in erlang
                else ""
            )
        )
    return "\n".join(lines)
