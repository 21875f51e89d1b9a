"""Periodic jobs in two server processes: each tick of a job is run by one process only, and when
the process running a job is killed, the other runs it within two ticks."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlmodel import col, select

from config.db import Database
from config.ticks import JobRun
from tests.integration.helpers import prepared_database, start_server

pytestmark = pytest.mark.slow

JOB = "sms-outbox-drain"
TICK_S = 2.0
WAIT_S = 60.0


def runs(url: str) -> list[JobRun]:
    database = Database(url)
    try:
        with database.read() as session:
            return list(
                session.exec(select(JobRun).where(JobRun.name == JOB).order_by(col(JobRun.tick))).all()
            )
    finally:
        database.dispose()


def wait_for(url: str, what: str, ready: object) -> list[JobRun]:
    """Polls the runs until `ready(runs)` holds, within WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = runs(url)
        if ready(found):  # type: ignore[operator]
            return found
        time.sleep(0.2)  # polling interval, bounded by the deadline
    raise AssertionError(f"{what} within {WAIT_S} s; runs: {[(r.tick, r.holder) for r in runs(url)]}")


def test_one_run_per_tick_and_a_takeover_when_the_runner_dies(backend: str, tmp_path: Path) -> None:
    with prepared_database(backend, tmp_path) as prepared:
        interval = {"DOR_SMS_DRAIN_INTERVAL_S": str(TICK_S)}
        first = start_server(prepared.url, tmp_path, name="first", **interval)
        second = start_server(prepared.url, tmp_path, name="second", **interval)
        try:
            pids = {first.pid: first, second.pid: second}
            # Both processes fire every tick; the runs table holds one row per tick (its key).
            before = wait_for(prepared.url, "six ticks run", lambda found: len(found) >= 6)
            ticks = [r.tick for r in before]
            assert len(ticks) == len(set(ticks))
            assert {int(r.holder.rsplit(":", 1)[1]) for r in before} <= set(pids)

            runner = pids[int(before[-1].holder.rsplit(":", 1)[1])]
            survivor = second if runner is first else first
            runner.kill()
            killed_at = int(time.time() // TICK_S)
            after = wait_for(
                prepared.url,
                "the survivor runs the job",
                lambda found: any(r.tick > killed_at and str(survivor.pid) in r.holder for r in found),
            )
            taken = min(r.tick for r in after if r.tick > killed_at)
            assert taken <= killed_at + 2
            assert all(str(survivor.pid) in r.holder for r in after if r.tick > killed_at)
        finally:
            first.stop()
            second.stop()
