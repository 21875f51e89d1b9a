"""An event a scheduled job writes reaches the hall display at once, through the bus, as a request's
does: publishing belongs to the database's commit, not to whoever wrote."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from config.db import Database
from config.settings import Settings
from queueing.day_close import close_past_days
from server.app import create_app
from tests.conftest import VirtualClock, take_ticket
from tests.redis_server import own_redis

# The display's feed reads the event log only this often: an event seen sooner came by the bus.
POLL_S = 60.0
FAST_S = 1.0


@pytest.fixture(params=["memory", "redis"])
def bus_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "memory":
        yield "memory://"
        return
    with own_redis(tmp_path) as (port, _process):
        yield f"redis://127.0.0.1:{port}/0"


def test_a_job_s_event_reaches_the_display_within_a_second(
    settings: Settings, database: Database, clock: VirtualClock, bus_url: str
) -> None:
    slow_poll = settings.model_copy(update={"bus_url": bus_url, "feed_poll_s": POLL_S})
    with TestClient(create_app(slow_poll, database=database, clock=clock)) as client:
        left = take_ticket(client)
        clock.advance(24 * 3600)  # the next morning: yesterday's ticket still waits
        with (
            client.websocket_connect("/ws/centres/DAM-01/display") as display,
            ThreadPoolExecutor(max_workers=2) as threads,
        ):
            assert display.receive_json()["type"] == "snapshot"

            def day_close() -> float:
                """What the day-close job runs, on a thread of its own as the scheduler's."""
                with database.write() as session:
                    assert close_past_days(session, now=clock()) == 1
                return time.monotonic()

            committed_at = threads.submit(day_close).result(timeout=30)
            # The wait is bounded here rather than by the poll, so that a lost event fails the test.
            delta = threads.submit(display.receive_json).result(timeout=POLL_S / 2)
            received_at = time.monotonic()
    assert (delta["type"], delta["number"], delta["reason"]) == ("cancelled", left["number"], "day_closed")
    assert received_at - committed_at < FAST_S
