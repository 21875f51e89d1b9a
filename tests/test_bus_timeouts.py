"""A bus that is down, hung or slow never holds anyone up: committed events are counted and their
doorbells queued without waiting; the publisher drops and counts what it cannot deliver; every call to
a hung Redis gives up within the bus's timeout, and a subscription to it ends with an error."""

import asyncio
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import Popen

import pytest

from config.db import Database
from config.metrics import REGISTRY
from eventlog.bus import Message, Publisher, RedisBus, answers
from eventlog.log import STAGED, publishing
from tests.redis_server import own_redis

TIMEOUT_S = 0.5
# Far above the bus's timeout, far below the 5 s the Redis client used to wait.
PROMPTLY_S = 3.0


class GatedBus:
    """Publishes once its gate is open, failing first with whatever `failures` holds."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.gate.set()
        self.failures: list[Exception] = []
        self.published: list[Message] = []

    async def publish(self, channel: str, message: Message) -> None:
        await self.gate.wait()
        if self.failures:
            raise self.failures.pop(0)
        self.published.append(message)


def failures(reason: str) -> float:
    return REGISTRY.get_sample_value("dor_bus_publish_failures_total", {"reason": reason}) or 0.0


async def until(condition: Callable[[], object], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        await asyncio.sleep(0.01)  # polling interval, bounded by the deadline


async def test_a_publication_that_fails_is_counted_and_the_next_goes_through() -> None:
    bus = GatedBus()
    bus.failures = [TimeoutError(), ConnectionError("refused")]
    publisher = Publisher(bus)  # type: ignore[arg-type]
    timeouts, errors = failures("timeout"), failures("error")
    for seq in (1, 2, 3):
        publisher.offer("centre:T-1", {"seq": seq})
    await until(lambda: bus.published)
    assert bus.published == [{"seq": 3}]
    assert (failures("timeout"), failures("error")) == (timeouts + 1, errors + 1)
    assert publisher.up
    await publisher.close()


async def test_with_the_queue_full_publications_are_dropped_and_counted() -> None:
    bus = GatedBus()
    bus.gate.clear()  # a bus that does not answer yet
    publisher = Publisher(bus, queue_size=2)  # type: ignore[arg-type]
    dropped = failures("dropped")
    for seq in range(1, 6):
        publisher.offer("centre:T-2", {"seq": seq})
    assert failures("dropped") == dropped + 3
    bus.gate.set()
    await until(lambda: len(bus.published) == 2)
    assert bus.published == [{"seq": 1}, {"seq": 2}]
    await publisher.close()


async def test_every_committed_event_is_counted_even_when_its_doorbell_is_dropped(tmp_path: Path) -> None:
    bus = GatedBus()
    bus.gate.clear()
    publisher = Publisher(bus, queue_size=1)  # type: ignore[arg-type]
    database = Database(f"sqlite:///{tmp_path}/bus.sqlite3")
    database.after_every_commit(publishing(publisher, asyncio.get_running_loop()))
    labels = {"centre": "T-3", "service": "CR", "channel": "kiosk"}
    issued = REGISTRY.get_sample_value("dor_tickets_issued_total", labels) or 0.0
    event = {"seq": 1, "type": "issued", **labels}
    with database.write() as session:
        session.info[STAGED] = [("centre:T-3", event)] * 3  # as three appended events leave them
    assert REGISTRY.get_sample_value("dor_tickets_issued_total", labels) == issued + 3
    database.dispose()
    await publisher.close()


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[tuple[str, Popen[bytes]]]:
    """A Redis of this test's own: its URL and process, which the test may stop."""
    with own_redis(tmp_path) as (port, process):
        yield f"redis://127.0.0.1:{port}/0", process


async def test_publishing_to_a_hung_redis_gives_up_in_time(
    redis: tuple[str, Popen[bytes]],
) -> None:
    url, process = redis
    bus = RedisBus(url, timeout_s=TIMEOUT_S)
    try:
        await bus.publish("centre:T-4", {"seq": 1})  # connected and answering
        process.send_signal(signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await bus.publish("centre:T-4", {"seq": 2})
        assert time.monotonic() - started < PROMPTLY_S
    finally:
        process.send_signal(signal.SIGCONT)
        await bus.close()


async def test_a_hung_redis_does_not_answer_a_ping(redis: tuple[str, Popen[bytes]]) -> None:
    url, process = redis
    bus = RedisBus(url, timeout_s=TIMEOUT_S)
    try:
        assert await answers(bus)
        process.send_signal(signal.SIGSTOP)
        started = time.monotonic()
        assert not await answers(bus)
        assert time.monotonic() - started < PROMPTLY_S
    finally:
        process.send_signal(signal.SIGCONT)
        await bus.close()


async def test_subscribing_to_a_hung_redis_fails_within_the_timeout(redis: tuple[str, Popen[bytes]]) -> None:
    url, process = redis
    bus = RedisBus(url, timeout_s=TIMEOUT_S)
    process.send_signal(signal.SIGSTOP)  # it still accepts connections; it answers nothing
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError):
            async with bus.subscribe("centre:T-5"):
                pass
        assert time.monotonic() - started < PROMPTLY_S
    finally:
        process.send_signal(signal.SIGCONT)
        await bus.close()


async def test_a_subscription_ends_with_an_error_when_redis_hangs(redis: tuple[str, Popen[bytes]]) -> None:
    url, process = redis
    bus = RedisBus(url, timeout_s=TIMEOUT_S, heartbeat_s=0.25)
    try:
        async with bus.subscribe("centre:T-6") as messages:
            await bus.publish("centre:T-6", {"seq": 1})
            assert await asyncio.wait_for(anext(messages), 5) == {"seq": 1}
            process.send_signal(signal.SIGSTOP)
            with pytest.raises(TimeoutError, match="did not answer a ping"):
                await asyncio.wait_for(anext(messages), 10)
    finally:
        process.send_signal(signal.SIGCONT)
        await bus.close()


async def test_a_quiet_subscription_stays_open_while_redis_answers(redis: tuple[str, Popen[bytes]]) -> None:
    url, _ = redis
    bus = RedisBus(url, timeout_s=TIMEOUT_S, heartbeat_s=0.25)
    try:
        async with bus.subscribe("centre:T-7") as messages:
            waiting = asyncio.ensure_future(anext(messages))
            done, _ = await asyncio.wait({waiting}, timeout=1.5)  # six heartbeats, each answered
            assert not done
            await bus.publish("centre:T-7", {"seq": 1})
            assert await asyncio.wait_for(waiting, 5) == {"seq": 1}
    finally:
        await bus.close()
