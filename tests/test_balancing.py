"""The balancer's plan: a pressed queue gets a helper whose own queues are calm, a boosted queue is let
go when it is light or the helper's own queue is pressed, and nothing flaps in between."""

from __future__ import annotations

import math

from organisation.models import QueueRole
from scheduling.balancing import BalanceRules, DeskState, Move, QueueLoad, drain_times, plan

MAIN, BACKUP, BOOSTED = QueueRole.MAIN, QueueRole.BACKUP, QueueRole.BOOSTED
CR, FS, ID = 1, 2, 3
RULES = BalanceRules(boost_above_s=600, release_below_s=120)


def loads(**waiting: int) -> list[QueueLoad]:
    ids = {"CR": CR, "FS": FS, "ID": ID}
    return [QueueLoad(ids[code], count, 300.0) for code, count in waiting.items()]


def test_drain_time_is_the_work_shared_by_the_ready_counters_calling_it_as_their_own() -> None:
    desks = [
        DeskState(1, ready=True, roles={CR: MAIN}),
        DeskState(2, ready=True, roles={CR: BOOSTED, FS: MAIN}),
        DeskState(3, ready=False, roles={CR: MAIN}),  # paused: does not count
        DeskState(4, ready=True, roles={CR: BACKUP}),  # a backup only helps when idle: does not count
    ]
    drains = drain_times(loads(CR=10, FS=0, ID=1), desks)
    assert drains[CR] == 10 * 300 / 2
    assert drains[FS] == 0.0
    assert math.isinf(drains[ID])  # people wait and no counter calls it as its own


def test_a_pressed_queue_gets_the_calmest_backup_counter() -> None:
    desks = [
        DeskState(1, ready=True, roles={CR: MAIN}),
        DeskState(2, ready=True, roles={FS: MAIN, CR: BACKUP}),
        DeskState(3, ready=True, roles={ID: MAIN, CR: BACKUP}),
    ]
    # CR: 6 x 300 s on one counter = 1,800 s; FS 2 x 300 = 600 s; ID empty.
    moves = plan(loads(CR=6, FS=2, ID=0), desks, RULES)
    assert moves == [Move(3, CR, BOOSTED, 1800.0)]


def test_no_helper_whose_own_queue_is_more_than_half_as_pressed() -> None:
    desks = [
        DeskState(1, ready=True, roles={CR: MAIN}),
        DeskState(2, ready=True, roles={FS: MAIN, CR: BACKUP}),
    ]
    assert plan(loads(CR=6, FS=4), desks, RULES) == []  # 1,800 s against 1,200 s: not worth moving
    assert plan(loads(CR=6, FS=3), desks, RULES) == [Move(2, CR, BOOSTED, 1800.0)]  # 900 s: half


def test_below_the_threshold_nobody_moves() -> None:
    desks = [
        DeskState(1, ready=True, roles={CR: MAIN}),
        DeskState(2, ready=True, roles={FS: MAIN, CR: BACKUP}),
    ]
    assert plan(loads(CR=1, FS=0), desks, RULES) == []  # 300 s of work


def test_one_helper_per_queue_and_per_counter_each_round() -> None:
    desks = [
        DeskState(1, ready=True, roles={CR: MAIN}),
        DeskState(2, ready=True, roles={FS: MAIN}),
        DeskState(3, ready=True, roles={ID: MAIN, CR: BACKUP, FS: BACKUP}),
        DeskState(4, ready=True, roles={ID: MAIN, CR: BACKUP}),
    ]
    moves = plan(loads(CR=8, FS=6, ID=0), desks, RULES)
    # CR is the more pressed and takes counter 3 (tie on own pressure: the lower number); FS would
    # need counter 3 too, which is taken this round.
    assert moves == [Move(3, CR, BOOSTED, 2400.0)]


def test_a_boosted_queue_is_released_when_light_or_when_the_helpers_own_queue_is_worse() -> None:
    desks = [
        DeskState(1, ready=True, roles={CR: MAIN}),
        DeskState(2, ready=True, roles={FS: MAIN, CR: BOOSTED}),
    ]
    # CR: 1 x 300 / 2 counters = 150 s, above the release line: kept (no flapping).
    assert plan(loads(CR=1, FS=0), desks, RULES) == []
    # CR empty: released.
    assert plan(loads(CR=0, FS=0), desks, RULES) == [Move(2, CR, BACKUP, 0.0)]
    # CR 4 x 300 / 2 = 600 s, but FS 3 x 300 / 1 = 900 s: the helper goes home.
    assert plan(loads(CR=4, FS=3), desks, RULES) == [Move(2, CR, BACKUP, 600.0)]


def test_a_paused_helper_lets_its_boosted_queue_go() -> None:
    desks = [
        DeskState(1, ready=True, roles={CR: MAIN}),
        DeskState(2, ready=False, roles={FS: MAIN, CR: BOOSTED}),
    ]
    assert plan(loads(CR=10, FS=0), desks, RULES) == [Move(2, CR, BACKUP, 3000.0)]
