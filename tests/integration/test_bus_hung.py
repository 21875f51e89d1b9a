"""A hung Redis (the process stopped, its port still accepting connections) costs requests nothing:
tickets are issued and called as fast as with Redis well, /healthz and /metrics say the bus is down,
and screens follow the event log instead."""

import json
import signal
import time
from collections.abc import Callable
from contextlib import closing
from functools import partial
from pathlib import Path

import httpx2
import pytest
from websockets.sync.client import connect

from tests.integration.helpers import issue_ticket, next_call, prepared_database, sign_in, start_server
from tests.redis_server import own_redis

pytestmark = pytest.mark.slow

# Feeds poll the log hourly while the bus is up and every second while it is down: a call reaches the
# screen quickly only through the bus, or through the poll once the feed has noticed the bus is gone.
FEEDS = {"DOR_FEED_POLL_S": "3600", "DOR_FEED_POLL_WHEN_BUS_DOWN_S": "1"}
# Far above a request's time either way (tens of milliseconds), far below the 5 s each write waited
# for a hung Redis before the bus was taken off the request's path.
CAP_S = 1.0
COUNTER = "/api/v1/centres/DAM-01/counters/1"


def timed(request: Callable[[], httpx2.Response]) -> tuple[float, httpx2.Response]:
    started = time.monotonic()
    response = request()
    return time.monotonic() - started, response


def bus_metrics(client: httpx2.Client) -> dict[str, float]:
    """The bus's samples on /metrics: dor_bus_up, and the publish failures by reason."""
    samples: dict[str, float] = {}
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("dor_bus_"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_a_hung_redis_does_not_slow_issues_or_calls_and_screens_follow_the_log(tmp_path: Path) -> None:
    with own_redis(tmp_path) as (port, redis), prepared_database("postgresql", tmp_path) as database:
        server = start_server(database.url, tmp_path, DOR_BUS_URL=f"redis://127.0.0.1:{port}/0", **FEEDS)
        try:
            agent = sign_in(server.url, "agent1", "demo")
            with (
                httpx2.Client(base_url=server.url, timeout=30) as kiosk,
                closing(agent),
                connect(f"ws://127.0.0.1:{server.port}/ws/centres/DAM-01/display") as display,
            ):
                assert json.loads(display.recv(timeout=10))["type"] == "snapshot"
                assert agent.post(f"{COUNTER}/open").status_code == 200

                def issue_and_call(times: dict[str, list[float]]) -> str:
                    """Five kiosk tickets, then one called and served: every request timed."""
                    for _ in range(5):
                        took, issued = timed(partial(issue_ticket, kiosk))
                        assert issued.status_code == 201, issued.text
                        times["issue"].append(took)
                    took, called = timed(partial(agent.post, f"{COUNTER}/next"))
                    assert called.status_code == 200, called.text
                    times["next"].append(took)
                    for action in ("start", "finish"):
                        took, served = timed(partial(agent.post, f"{COUNTER}/{action}"))
                        assert served.status_code == 200, served.text
                        times["start and finish"].append(took)
                    return str(called.json()["ticket"]["number"])

                healthy: dict[str, list[float]] = {"issue": [], "next": [], "start and finish": []}
                called = issue_and_call(healthy)
                assert next_call(display, within=5)["number"] == called  # through the bus: no poll for 1 h
                assert kiosk.get("/healthz").json() == {"status": "ok"}

                redis.send_signal(signal.SIGSTOP)  # hung: connections are accepted, nothing answers
                hung: dict[str, list[float]] = {"issue": [], "next": [], "start and finish": []}
                called = issue_and_call(hung)
                print(f"\nrequest seconds, Redis healthy: {healthy}\nrequest seconds, Redis hung:    {hung}")
                for kind, times in hung.items():
                    assert max(times) < CAP_S, f"{kind} took {max(times):.2f} s with Redis hung: {hung}"

                started = time.monotonic()
                assert next_call(display, within=10)["number"] == called  # the feed polls the log
                print(f"the call reached the display {time.monotonic() - started:.1f} s after the requests")

                took, health = timed(lambda: kiosk.get("/healthz"))
                assert (health.status_code, health.json()) == (
                    200,
                    {"status": "degraded", "database": "ok", "bus": "unreachable"},
                )
                assert took < CAP_S
                assert bus_metrics(kiosk)["dor_bus_up"] == 0
                # The doorbells of the events committed while Redis hung time out one by one, off the
                # requests' path; each is counted.
                timeouts = 'dor_bus_publish_failures_total{reason="timeout"}'
                deadline = time.monotonic() + 10
                while bus_metrics(kiosk).get(timeouts, 0) < 1:
                    assert time.monotonic() < deadline, "no publication timed out"
                    time.sleep(0.1)  # polling interval, bounded by the deadline

                redis.send_signal(signal.SIGCONT)
                deadline = time.monotonic() + 10
                while kiosk.get("/healthz").json() != {"status": "ok"}:
                    assert time.monotonic() < deadline, "the bus did not come back on /healthz"
                    time.sleep(0.1)  # polling interval, bounded by the deadline
                assert bus_metrics(kiosk)["dor_bus_up"] == 1
        finally:
            redis.send_signal(signal.SIGCONT)  # whatever failed: the server's shutdown closes its connections
            server.stop()
