"""Realtime across processes: a call made through one server reaches a screen on another, through
Redis; with Redis down, screens fall back to the database and catch up."""

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import httpx2
import pytest
from websockets.sync.client import connect

from tests.integration.helpers import (
    free_port,
    issue_ticket,
    next_call,
    prepared_database,
    sign_in,
    start_server,
)

pytestmark = pytest.mark.slow
# Feeds poll the log only hourly here, so a call can reach a screen quickly only through the bus.
ONLY_THE_BUS = {"DOR_FEED_POLL_S": "3600", "DOR_FEED_POLL_WHEN_BUS_DOWN_S": "1"}


def call_next(agent: httpx2.Client) -> str:
    response = agent.post("/api/v1/centres/DAM-01/counters/1/next")
    assert response.status_code == 200, response.text
    number = response.json()["ticket"]["number"]
    agent.post("/api/v1/centres/DAM-01/counters/1/start")
    agent.post("/api/v1/centres/DAM-01/counters/1/finish")
    return str(number)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[tuple[int, list[subprocess.Popen[bytes]], Callable[[], None]]]:
    """A redis-server of this test's own, on a free port; the test may stop and restart it."""
    executable = shutil.which("redis-server")
    assert executable, "redis-server is installed on this kind of machine"
    port = free_port()
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        processes.append(
            subprocess.Popen(
                [
                    executable,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(tmp_path),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        deadline = time.monotonic() + 10
        while (
            subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, check=False).stdout
            != b"PONG\n"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    start()
    yield port, processes, start
    for process in processes:
        process.kill()
        process.wait()


def test_a_call_through_one_server_reaches_a_display_on_another(tmp_path: Path) -> None:
    with prepared_database("postgresql", tmp_path) as database:
        bus = {"DOR_BUS_URL": "redis://127.0.0.1:6379/14", **ONLY_THE_BUS}
        a = start_server(database.url, tmp_path, name="a", **bus)
        b = start_server(database.url, tmp_path, name="b", **bus)
        try:
            agent = sign_in(a.url, "agent1", "demo")
            with (
                httpx2.Client(base_url=a.url) as kiosk,
                closing(agent),
                connect(f"ws://127.0.0.1:{b.port}/ws/centres/DAM-01/display") as display,
            ):
                snapshot = json.loads(display.recv(timeout=10))
                assert snapshot["type"] == "snapshot"
                assert issue_ticket(kiosk).status_code == 201
                agent.post("/api/v1/centres/DAM-01/counters/1/open")
                number = call_next(agent)
                called = next_call(display, within=10)
                assert (called["number"], called["counter"]) == (number, 1)
                assert called["seq"] > snapshot["seq"]
        finally:
            a.stop()
            b.stop()


def test_with_redis_down_calls_go_on_and_screens_catch_up(tmp_path: Path, redis_server) -> None:  # type: ignore[no-untyped-def]
    port, processes, restart = redis_server
    with prepared_database("postgresql", tmp_path) as database:
        bus = {"DOR_BUS_URL": f"redis://127.0.0.1:{port}/0", **ONLY_THE_BUS}
        a = start_server(database.url, tmp_path, name="a", **bus)
        b = start_server(database.url, tmp_path, name="b", **bus)
        try:
            agent = sign_in(a.url, "agent1", "demo")
            with (
                httpx2.Client(base_url=a.url, timeout=30) as kiosk,
                closing(agent),
                connect(f"ws://127.0.0.1:{b.port}/ws/centres/DAM-01/display") as display,
            ):
                display.recv(timeout=10)
                agent.post("/api/v1/centres/DAM-01/counters/1/open")
                for _ in range(3):
                    assert issue_ticket(kiosk).status_code == 201

                processes[0].kill()  # Redis goes away
                processes[0].wait()
                number = call_next(agent)  # the engine does not need Redis
                assert next_call(display, within=10)["number"] == number  # the screen polls the log

                restart()  # Redis comes back on the same port
                for _ in range(2):
                    number = call_next(agent)
                    assert next_call(display, within=5)["number"] == number  # none missing for more than 5 s
        finally:
            a.stop()
            b.stop()
