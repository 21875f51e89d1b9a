"""A periodic job's tick is claimed by one process only; the next tick is free again."""

from datetime import timedelta

from config.db import Database
from config.ticks import claim_tick, forget_runs
from tests.conftest import VirtualClock


def claim(database: Database, clock: VirtualClock, holder: str) -> bool:
    with database.write() as session:
        return claim_tick(session, name="job", interval_s=10, holder=holder, now=clock())


def test_one_holder_per_tick(database: Database, clock: VirtualClock) -> None:
    clock.advance(-(clock().timestamp() % 10))  # the start of a tick
    assert [claim(database, clock, "a"), claim(database, clock, "b")] == [True, False]
    clock.advance(9.9)
    assert claim(database, clock, "b") is False  # still the same tick
    clock.advance(0.1)
    assert [claim(database, clock, "b"), claim(database, clock, "a")] == [True, False]


def test_old_runs_are_forgotten(database: Database, clock: VirtualClock) -> None:
    claim(database, clock, "a")
    clock.advance(10)
    with database.write() as session:
        forget_runs(session, before=clock() - timedelta(seconds=5))
    clock.advance(-10)
    assert claim(database, clock, "b") is True  # its record is gone: nothing remembers that tick
