"""The simulator's two engines make the same decisions: the memory engine, which runs the policy,
forecast and balancer code without a database, against the real commands on a database, ticket by
ticket; and the memory engine takes only the scenarios it can run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from queueing.policy import PolicyConfig
from scheduling.simulation.memory_engine import MemoryEngine
from scheduling.simulation.report import summarise
from scheduling.simulation.run import Outcome, Simulation
from scheduling.simulation.scenario import Scenario, ScenarioError
from server.cli import main
from tests.simulated import on_database
from tests.test_simulation import SMALL_DAY

# A busy morning that takes every path the memory engine has: two services on counters of mixed
# weights, backup queues the balancer boosts and releases, priority classes, booked appointments that
# come early (and some not at all), walk-ins who book instead, a break, and enough walk-ins for the
# forecasts to read their ranges from earlier outcomes.
BUSY_MORNING: dict[str, Any] = {
    **SMALL_DAY,
    "name": "A busy morning",
    "service": [
        {"code": "CR", "mean_service_s": 240, "walk_ins_per_hour": [40, 55], "priority_share": 0.15},
        {
            "code": "PP",
            "mean_service_s": 600,
            "cv": 0.4,
            "walk_ins_per_hour": [6],
            "appointments_per_hour": [3],
        },
    ],
    "counter": [
        {"services": {"CR": 1.0, "PP": 0.5}, "breaks": [["09:00", "09:10"]]},
        {"count": 2, "services": {"CR": 1.0}, "backups": {"PP": 1.0}},
        {"services": {"PP": 1.0}, "backups": {"CR": 1.0}},
    ],
    "balancer": {"mode": "apply", "every_s": 60, "boost_above_s": 300, "release_below_s": 60},
    "booking": {"share": 0.2, "slot_min": 30},
}


def run_in_memory(scenario: Scenario, *, seed: int) -> Outcome:
    return Simulation(
        scenario, engine=MemoryEngine(scenario=scenario, policy=PolicyConfig()), seed=seed
    ).run()


def test_the_memory_engine_calls_serves_and_promises_as_the_database_engine_does() -> None:
    scenario = Scenario.model_validate(BUSY_MORNING)
    memory = run_in_memory(scenario, seed=5)
    with on_database(scenario, seed=5) as (database, _):
        pass
    # Every ticket: who it was, when it came, was called, started and ended, at which counter.
    assert len(memory.served) == len(database.served) > 80
    for mine, theirs in zip(memory.served, database.served, strict=True):
        assert mine == theirs, mine.ticket_id
    # What each walk-in was promised, its range and the simpler predictors beside it.
    assert memory.predictions == database.predictions
    assert sum(1 for p in memory.predictions.values() if p.high > p.low) > 40
    assert memory.balancer_moves == database.balancer_moves > 0
    assert memory.booked_walk_ins == database.booked_walk_ins > 0
    assert memory.trace == database.trace
    assert memory.paused_s == database.paused_s and max(memory.paused_s.values()) == pytest.approx(600)
    mine, theirs = (
        summarise(outcome, scenario=scenario, seed=5, warm_up=0) for outcome in (memory, database)
    )
    assert mine.pop("engine") == "memory" and theirs.pop("engine") == "database"
    assert json.dumps(mine, sort_keys=True) == json.dumps(theirs, sort_keys=True)


def test_a_steady_queue_is_the_same_on_both_engines() -> None:
    stationary = {
        "name": "A steady chain",
        "stationary": {"citizens": 200, "warm_up": 0},
        "service": [
            {
                "code": "CR",
                "mean_service_s": 300,
                "distribution": "exponential",
                "cv": 1,
                "walk_ins_per_hour": [30],
            },
            {
                "code": "FS",
                "mean_service_s": 300,
                "distribution": "exponential",
                "cv": 1,
                "walk_ins_per_hour": [12],
            },
        ],
        "counter": [
            {"count": 2, "services": {"CR": 1.0}, "backups": {"FS": 1.0}},
            {"count": 2, "services": {"FS": 1.0}, "backups": {"CR": 1.0}},
        ],
        "balancer": {"mode": "apply"},
    }
    scenario = Scenario.model_validate(stationary)
    memory = run_in_memory(scenario, seed=2)
    with on_database(scenario, seed=2) as (database, _):
        pass
    assert memory.served == database.served and memory.predictions == database.predictions


@pytest.mark.parametrize(
    ("setting", "reason"),
    [
        ({"remote": {"share": 0.5}}, "remote tickets"),
        ({"advice": {"follow_share": 0.5}}, "centre advice"),
    ],
)
def test_the_memory_engine_refuses_what_only_a_database_simulates(
    setting: dict[str, Any], reason: str
) -> None:
    scenario = Scenario.model_validate({**SMALL_DAY, **setting})
    with pytest.raises(ScenarioError, match=reason):
        MemoryEngine(scenario=scenario, policy=PolicyConfig())


def test_asking_the_memory_engine_for_remote_tickets_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "remote.toml"
    path.write_text(
        'name = "remote"\n[day]\nopens = "08:00"\ncloses = "08:30"\n[remote]\nshare = 0.5\n'
        '[[service]]\ncode = "CR"\nmean_service_s = 240\nwalk_ins_per_hour = [10]\n'
        "[[counter]]\nservices = { CR = 1.0 }\n",
        encoding="utf-8",
    )
    assert main(["simulate", str(path), "--engine", "memory", "--quiet"]) == 2
    assert "--engine memory: remote tickets (their SMS and check-in) run on the database engine only" in (
        capsys.readouterr().err
    )
    # Left to choose, `dor simulate` runs such a scenario on the database engine and says so.
    assert main(["simulate", str(path), "--quiet"]) == 0
    assert "(seed 1, database engine)" in capsys.readouterr().out
