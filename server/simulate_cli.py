"""`dor simulate SCENARIO.toml`: a day of a centre on a virtual clock, through the engine's decisions:
in memory by default, or the real commands on a throwaway database (`--engine database`)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import event

from config.db import Database
from queueing.policy import PolicyConfig
from scheduling.simulation.chart import render_chart
from scheduling.simulation.database_engine import DatabaseEngine
from scheduling.simulation.engine import Engine
from scheduling.simulation.intervals import interval_95
from scheduling.simulation.memory_engine import MemoryEngine, unsupported
from scheduling.simulation.report import summarise
from scheduling.simulation.run import Progress, Simulation
from scheduling.simulation.scenario import Scenario, ScenarioError, instability, load_scenario, variant
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
    simulate.add_argument(
        "--variant",
        choices=("given", "dedicated", "pooled", "chain"),
        default="given",
        help="dedicated: each counter keeps to its own queues; pooled: every counter calls every queue; "
        "chain: each counter its own queue and a backup, planned from the demand",
    )
    simulate.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change one setting of the file, e.g. --set advice.follow_share=0.5 (repeatable)",
    )
    simulate.add_argument(
        "--days",
        type=int,
        default=1,
        help="run this many seeds from --seed on and add a line of means (one day is noisy)",
    )
    simulate.add_argument(
        "--engine",
        choices=("memory", "database"),
        help="memory: the engine's decisions without a database (fast; the default where the scenario "
        "has no remote tickets or advice); database: its real commands on a throwaway SQLite database",
    )
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
    scenario: Scenario,
    *,
    seed: int,
    citizens: int | None = None,
    progress: Progress | None = None,
    engine: str | None = None,
) -> dict[str, Any]:
    """Runs the scenario on a fresh engine and returns its results: `engine` "memory" or "database"
    (a throwaway database), by default the memory engine where it can run the scenario."""
    if citizens is not None and scenario.stationary is None:
        raise ScenarioError("--citizens applies to a [stationary] scenario only")
    warm_up: int | None = 0  # a day counts everyone
    if scenario.stationary is not None:
        warm_up = scenario.stationary.warm_up
        if warm_up is not None and citizens:
            warm_up = min(warm_up, citizens // 10)
    if engine is None:
        engine = "database" if unsupported(scenario) else "memory"
    policy = PolicyConfig()
    with throwaway_database() if engine == "database" else nullcontext() as database:
        runner: Engine = (
            MemoryEngine(scenario=scenario, policy=policy)
            if database is None
            else DatabaseEngine(database, scenario=scenario, policy=policy)
        )
        outcome = Simulation(scenario, engine=runner, seed=seed, citizens=citizens, progress=progress).run()
    return summarise(outcome, scenario=scenario, seed=seed, warm_up=warm_up)


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
        scenario = variant(load_scenario(args.scenario, args.set), args.variant)
        if args.citizens is not None and args.citizens < 1:
            raise ScenarioError("--citizens must be at least 1")
        if not 1 <= args.days <= 1000:
            raise ScenarioError("--days must be from 1 to 1000")
        why = instability(scenario) if scenario.stationary is not None else None
        if why is not None:
            print(
                f"dor simulate: note: {why}; the queue grows for as long as the run lasts, and the "
                "report says how fast",
                file=sys.stderr,
            )
        began = time.monotonic()
        runs = []
        for seed in range(args.seed, args.seed + args.days):
            progress = None if args.quiet else ProgressLine()
            runs.append(
                simulate(scenario, seed=seed, citizens=args.citizens, progress=progress, engine=args.engine)
            )
            if progress is not None:
                print(file=sys.stderr)
    except ScenarioError as exc:
        print(f"dor simulate: {exc}", file=sys.stderr)
        return 2
    spent = time.monotonic() - began
    citizens = sum(r["citizens"] for r in runs)
    print("\n\n".join(summary(r) for r in runs))
    output: dict[str, Any] = runs[0]
    if len(runs) > 1:
        output = {"runs": runs, "mean": means(runs)}
        print(
            f"\nmeans over {len(runs)} days (seeds {args.seed}-{args.seed + len(runs) - 1}), "
            "each ± the half-width of its 95% interval:"
        )
        print(", ".join(f"{key} {f['mean']:g} ± {f['ci95']:g}" for key, f in output["mean"].items()))
    print(f"run time {spent:.1f} s, {spent * 1000 / max(citizens, 1):.2f} ms per citizen")
    if args.json:
        args.json.write_text(json.dumps(output, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.chart:
        render_chart(runs[0], args.chart)
    return 0


def means(runs: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """The figures that matter over the runs (waits in minutes): each one's mean, and the half-width
    of its 95% interval, the runs being independent replications (one seed each)."""
    figures: dict[str, list[float]] = {}

    def add(key: str, value: float | None) -> None:
        if value is not None:
            figures.setdefault(key, []).append(value)

    for results in runs:
        add("mean_wait_min", results["walk_ins"].get("mean_wait_s", 0) / 60)
        add("within_20_min", results["walk_ins"].get("within_20_min"))
        add("everyone_mean_wait_min", results["everyone"].get("mean_wait_s", 0) / 60)
        add("remote_tickets", results.get("remote", {}).get("tickets"))
        add("booked_instead", results.get("booking", {}).get("booked_instead_of_walking_in"))
        if "booking" in results:
            add("booked_displacement_min", results["booking"]["mean_displacement_s"] / 60)
        add("everyone_delay_min", results["delay"].get("mean_wait_s", 0) / 60)
        add("peak_hall", results["peak_hall"]["people"])
        prediction = results.get("prediction", {})
        for name, error in prediction.get("mean_absolute_error_s", {}).items():
            add(f"mae_{name}_min", error / 60)
        add("range_coverage", prediction.get("range_coverage"))
    found: dict[str, dict[str, float | None]] = {}
    for key, values in figures.items():
        mean, half = interval_95(values)
        found[key] = {"mean": round(mean, 3), "ci95": None if half is None else round(half, 3)}
    return found


def summary(results: dict[str, Any]) -> str:
    """The results as a few readable lines."""
    lines = [
        f"{results['scenario']} (seed {results['seed']}, {results['engine']} engine): "
        f"{results['citizens']:,} citizens, "
        f"{results['measured']:,} measured after a warm-up of {results['warm_up']:,} "
        f"({results['warm_up_rule']})",
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
    balancer = results["balancer"]
    if balancer["mode"] != "off":
        lines.append(f"balancer ({balancer['mode']}): {balancer['moves']} moves")
    counters = ", ".join(f"{n}: {c['utilisation']:.0%}" for n, c in results["counters"].items())
    lines.append(f"counter utilisation {results['mean_utilisation']:.0%} ({counters})")
    for code, centre in results.get("centres", {}).items():
        figures = centre["walk_ins"]
        lines.append(
            f"{code}: {figures.get('served', 0):,} walk-ins, "
            f"mean wait {figures.get('mean_wait_s', 0) / 60:.1f} min, peak hall {centre['peak_hall']}"
        )
    stability = results.get("stability")
    if stability and not stability["stable"]:
        lines.append(
            f"unstable: {stability['why_not']}; the queue grew by {stability['queue_growth_per_hour']:.0f} "
            "an hour over the run's second half, and its waits grow with the run's length"
        )
    advice = results.get("advice")
    if advice:
        lines.append(
            f"advice followed by {advice['follow_share']:.0%}: {advice['sent_elsewhere']:,} sent to "
            f"another centre, {advice['mean_extra_travel_s'] / 60:.1f} min further on average"
        )
    booking = results.get("booking")
    if booking:
        lines.append(
            f"bookings instead of walking in: {booking['booked_instead_of_walking_in']:,} (of the "
            f"{booking['share']:.0%} who tried), their slot on average "
            f"{booking['mean_displacement_s'] / 60:.1f} min from when they would have come"
        )
    everyone = results["everyone"]
    if everyone.get("served") and everyone["served"] != results["walk_ins"].get("served"):
        lines.append(
            f"everyone called: {everyone['served']:,}, mean wait {everyone['mean_wait_s'] / 60:.1f} min "
            "(bookings from their slot), "
            f"{everyone['within_20_min']:.0%} within 20 min"
        )
    delay = results["delay"]
    if delay.get("served") and delay != everyone:
        lines.append(
            f"from when they wanted to be served (a booking's delay to its slot included): mean "
            f"{delay['mean_wait_s'] / 60:.1f} min, {delay['within_20_min']:.0%} within 20 min"
        )
    remote = results.get("remote")
    if remote:
        lines.append(
            f"remote tickets: {remote['tickets']:,} (offered to {remote['share']:.0%} of walk-ins; "
            "their waits count from when they would have walked in), "
            f"come-now SMS at {remote['notify_ahead']} ahead or {remote['notify_lead_min']:g} min"
        )
    prediction = results.get("prediction", {})
    if prediction.get("walk_ins"):
        errors = prediction["mean_absolute_error_s"]
        lines.append(
            "wait predictions, mean absolute error (min): "
            + ", ".join(f"{name.replace('_', ' ')} {errors[name] / 60:.1f}" for name in errors)
            + f"; 80% range held {prediction['range_coverage'] or 0:.0%} of the waits predicted"
        )
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
                f", {'inside' if erlang['within_interval'] else 'outside'} the run's 95% interval "
                f"(± {results['walk_ins']['mean_wait_ci95_s']:.2f} s)"
                if "within_interval" in erlang
                else ""
            )
        )
    return "\n".join(lines)
