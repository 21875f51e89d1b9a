"""Skill chains planned from the demand (scheduling/skills.py): own queues in proportion to the work,
backups from slack to need, every service linked to every other."""

from __future__ import annotations

import random

import pytest

from scheduling.simulation.scenario import ScenarioError, variant
from scheduling.skills import Assignment, PlanError, groups, own_counts, plan
from tests.test_simulation import mmc

# Eight counters at 90% load, demand 1 to 3 spread linearly over six services (counters busy).
LINEAR = {code: w / 12.0 * 7.2 for code, w in zip("ABCDEF", (1.0, 1.4, 1.8, 2.2, 2.6, 3.0), strict=True)}


def linked(assignments: list[Assignment[str]]) -> bool:
    """Whether every service can lend to and borrow from every other through counters' skills."""
    edges = [(x, y) for a in assignments for x in a.own for y in (*a.own, *a.backups)]
    services = {x for x, _ in edges}
    reach = {min(services)}
    grew = True
    while grew:
        grew = False
        for x, y in edges:
            if (x in reach) != (y in reach):
                reach |= {x, y}
                grew = True
    return reach == services


def test_own_queues_follow_the_work_and_every_service_has_one() -> None:
    assert own_counts(LINEAR, 8) == {"A": 1, "B": 1, "C": 1, "D": 1, "E": 2, "F": 2}
    assert own_counts({"A": 3.0, "B": 1.0}, 8) == {"A": 6, "B": 2}
    assert own_counts({"A": 5.0, "B": 0.0}, 3) == {"A": 2, "B": 1}  # one each, whatever the work
    assert sum(own_counts(LINEAR, 10).values()) == 10


def test_the_counters_with_time_to_spare_back_up_the_service_that_lacks_most() -> None:
    assignments = plan(LINEAR, 8)
    assert len(assignments) == 8
    # D needs 1.32 counters and owns 1, the most lacking; E owns 2 for 1.56, the most to spare.
    assert Assignment(("E",), ("D",)) in assignments
    assert all(not set(a.own) & set(a.backups) for a in assignments)
    assert linked(assignments)


def test_with_fewer_counters_than_services_a_counter_owns_a_group_balanced_by_work() -> None:
    assert groups({"A": 3.0, "B": 2.0, "C": 1.5, "D": 1.0}, 2) == {("A", "D"): 4.0, ("B", "C"): 3.5}
    assignments = plan(LINEAR, 4)
    assert sorted(len(a.own) for a in assignments) == [1, 1, 2, 2]
    assert sorted(s for a in assignments for s in a.own) == sorted(LINEAR)
    assert linked(assignments)


@pytest.mark.parametrize("seed", range(20))
def test_any_demand_gives_a_chain_linking_every_service(seed: int) -> None:
    rng = random.Random(seed)
    services = rng.randint(2, 9)
    counters = rng.randint(2, 12)
    work = {f"S{k}": rng.uniform(1, 3) for k in range(services)}
    assignments = plan(work, counters)
    assert len(assignments) == counters
    assert {s for a in assignments for s in a.own} == set(work)
    assert linked(assignments)


def test_a_plan_that_cannot_be_made_says_why() -> None:
    with pytest.raises(PlanError, match="a service and a counter"):
        plan({"A": 1.0}, 0)
    with pytest.raises(PlanError, match="finite number"):
        plan({"A": float("nan")}, 2)
    assert plan({"A": 1.0}, 2) == [Assignment(("A",), ()), Assignment(("A",), ())]


def test_the_simulator_s_chain_variant_plans_each_counter_from_the_scenario_s_demand() -> None:
    two = mmc(servers=3, load=0.8, citizens=100, warm_up=0)
    cr = two.service[0]
    two = two.model_copy(
        update={"service": [cr, cr.model_copy(update={"code": "PP", "walk_ins_per_hour": [10.0]})]}
    )
    chained = variant(two, "chain")
    assert [(c.services, c.backups) for c in chained.counter] == [
        ({"PP": 1.0}, {"CR": 1.0}),  # PP has time to spare: it backs up CR, which lacks
        ({"CR": 1.0}, {"PP": 1.0}),
        ({"CR": 1.0}, {"PP": 1.0}),
    ]
    with pytest.raises(ScenarioError, match="--variant chain at SIM-01: a plan needs"):
        variant(two.model_copy(update={"counter": []}), "chain")
