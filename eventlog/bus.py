"""The event bus: a doorbell that rings after a commit. Backends are chosen by URL.

A bus that is down or hung must cost a request nothing: the `Publisher` rings it off the request's
path, and a Redis subscription that stops answering ends with an error, so that a screen's feed goes
back to reading the event log (the truth) at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

from config.metrics import BUS_PUBLISH_FAILURES

Message = dict[str, Any]
_Queue = asyncio.Queue[tuple[str, Message]]  # (channel, message) waiting to be published
log = logging.getLogger(__name__)


class Bus(Protocol):
    """Publish to a channel; subscribe to receive what is published after subscribing.

    Every operation returns or raises within the backend's timeout, and a subscription to a bus that
    stops answering ends with an error: a caller never waits on the bus for long.
    """

    async def publish(self, channel: str, message: Message) -> None: ...

    def subscribe(self, channel: str) -> Any:  # an async context manager of AsyncIterator[Message]
        ...

    async def ping(self) -> None:
        """Returns once the bus has answered; raises if it cannot."""

    async def close(self) -> None: ...


class MemoryBus:
    """One process: subscribers' queues in memory."""

    def __init__(self, *, queue_size: int = 1000) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[Message]]] = {}
        self._queue_size = queue_size

    async def publish(self, channel: str, message: Message) -> None:
        for queue in list(self._subscribers.get(channel, ())):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                # A subscriber that does not keep up misses messages; it sees the gap in `seq`.
                log.warning("bus subscriber on %s is full; message dropped", channel)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[Message]]:
        queue: asyncio.Queue[Message] = asyncio.Queue(self._queue_size)
        self._subscribers.setdefault(channel, set()).add(queue)

        async def messages() -> AsyncIterator[Message]:
            while True:
                yield await queue.get()

        try:
            yield messages()
        finally:  # the bus may have been closed first (a server stopping): nothing left to leave
            self._subscribers.get(channel, set()).discard(queue)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._subscribers.clear()


class RedisBus:
    """Several processes: Redis publish/subscribe. Nothing is stored in Redis; the log is the truth.

    Publishing, pinging and subscribing give up after `timeout_s`. A hung Redis accepts connections
    and writes but never answers, so a quiet subscription pings it every `heartbeat_s` and ends with
    TimeoutError when a ping goes unanswered.
    """

    def __init__(self, url: str, *, timeout_s: float = 0.5, heartbeat_s: float = 1.0) -> None:
        import redis.asyncio as redis  # optional driver, imported only when configured

        # No health_check_interval: its pongs are swallowed by the client, and the heartbeat must see them.
        self._redis = redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
        self._timeout_s = timeout_s
        self._heartbeat_s = heartbeat_s

    async def publish(self, channel: str, message: Message) -> None:
        async with asyncio.timeout(self._timeout_s):
            await self._redis.publish(channel, json.dumps(message, ensure_ascii=False, default=str))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[Message]]:
        pubsub = self._redis.pubsub()
        try:
            # Entered once Redis has confirmed: a hung Redis takes the SUBSCRIBE and never answers.
            async with asyncio.timeout(self._timeout_s):
                await pubsub.subscribe(channel)
                confirmation = await pubsub.get_message(timeout=None)
            if confirmation is None or confirmation["type"] != "subscribe":
                raise ConnectionError(f"Redis answered SUBSCRIBE with {confirmation!r}")
            yield self._messages(pubsub)
        finally:
            with contextlib.suppress(Exception):  # the connection may be the thing that failed
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _messages(self, pubsub: Any) -> AsyncIterator[Message]:
        pinged = False
        while True:
            # The outer bound covers the client's own reconnecting and retrying, should the connection
            # drop. A hung Redis is told by its unanswered ping, not by these bounds: they are a
            # heartbeat long, so that an event loop busy for a moment (thousands of sockets at a
            # national peak) does not take a Redis that answers for a lost one and leave its screens
            # to the slower poll of the log.
            async with asyncio.timeout(2 * self._heartbeat_s + self._timeout_s):
                item = await pubsub.get_message(timeout=self._heartbeat_s)
            if item is None:
                if pinged:
                    raise TimeoutError(f"Redis did not answer a ping within {self._heartbeat_s} s")
                async with asyncio.timeout(self._heartbeat_s + self._timeout_s):
                    await pubsub.ping()  # the answer comes as a message of type "pong"
                pinged = True
                continue
            pinged = False
            if item["type"] == "message":
                yield json.loads(item["data"])

    async def ping(self) -> None:
        async with asyncio.timeout(self._timeout_s):
            await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()


def bus_from_url(url: str, *, timeout_s: float = 0.5) -> Bus:
    """The backend for `url`: memory:// (one process) or redis://host:port/db (several)."""
    if url.startswith("memory://"):
        return MemoryBus()
    if url.startswith(("redis://", "rediss://")):
        return RedisBus(url, timeout_s=timeout_s)
    raise ValueError(f"unsupported bus URL {url!r}; use memory:// or redis://")


async def answers(bus: Bus) -> bool:
    """Whether the bus answers a ping (within its timeout): for /healthz and /metrics."""
    try:
        await bus.ping()
    except Exception as exc:
        log.debug("bus ping failed: %r", exc)
        return False
    return True


class Publisher:
    """Rings the bus for committed events off the request's path.

    A bounded queue drained by one task, one publication at a time (each bounded by the bus's own
    timeout). A publication that fails, or finds the queue full, is counted (dor_bus_publish_failures)
    and dropped. Nothing is lost with it: screens see the gap in `seq`, or read the event log at their
    feed's next poll.
    """

    def __init__(self, bus: Bus, *, queue_size: int = 1000) -> None:
        self.bus = bus
        self.queue_size = queue_size
        self.up = True  # as the last publication found it: changes are logged, not every failure
        # A server has one event loop; tests run one per TestClient, and a queue belongs to one loop.
        # The tasks are held here: the loop keeps only weak references.
        self._drains: dict[asyncio.AbstractEventLoop, tuple[_Queue, asyncio.Task[None]]] = {}

    def offer(self, channel: str, message: Message) -> None:
        """Queues `message` for `channel` and returns at once. Call it on the event loop."""
        try:
            self._queue().put_nowait((channel, message))
        except asyncio.QueueFull:
            BUS_PUBLISH_FAILURES.labels(reason="dropped").inc()
            self._found(up=False, why=f"{self.queue_size} publications waiting")

    def _queue(self) -> _Queue:
        """This event loop's queue, its drain started on first use."""
        loop = asyncio.get_running_loop()
        drain = self._drains.get(loop)
        if drain is None or drain[1].done():
            for closed in [other for other in self._drains if other.is_closed()]:
                del self._drains[closed]
            queue: _Queue = asyncio.Queue(self.queue_size)
            drain = self._drains[loop] = (queue, loop.create_task(self._run(queue), name="bus publisher"))
        return drain[0]

    async def _run(self, queue: _Queue) -> None:
        while True:
            channel, message = await queue.get()
            try:
                await self.bus.publish(channel, message)
            except TimeoutError:
                BUS_PUBLISH_FAILURES.labels(reason="timeout").inc()
                self._found(up=False, why="no answer in time")
            except Exception as exc:  # the database already holds the truth
                BUS_PUBLISH_FAILURES.labels(reason="error").inc()
                self._found(up=False, why=repr(exc))
            else:
                self._found(up=True)

    def _found(self, *, up: bool, why: str = "") -> None:
        if up != self.up:
            self.up = up
            if up:
                log.info("bus publications go through again")
            else:
                log.warning("bus publications failing (%s); screens follow the event log meanwhile", why)

    async def close(self) -> None:
        """Stops this loop's drain; what is still queued is dropped, as the feeds' polls make up for it."""
        drain = self._drains.pop(asyncio.get_running_loop(), None)
        if drain is not None:
            drain[1].cancel()
            await asyncio.wait({drain[1]})
