"""The event bus: a doorbell that rings after a commit. Backends are chosen by URL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

Message = dict[str, Any]
log = logging.getLogger(__name__)


class Bus(Protocol):
    """Publish to a channel; subscribe to receive what is published after subscribing."""

    async def publish(self, channel: str, message: Message) -> None: ...

    def subscribe(self, channel: str) -> Any:  # an async context manager of AsyncIterator[Message]
        ...

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
        finally:
            self._subscribers[channel].discard(queue)

    async def close(self) -> None:
        self._subscribers.clear()


class RedisBus:
    """Several processes: Redis publish/subscribe. Nothing is stored in Redis; the log is the truth."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis  # optional driver, imported only when configured

        self._redis = redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=15
        )

    async def publish(self, channel: str, message: Message) -> None:
        await self._redis.publish(channel, json.dumps(message, ensure_ascii=False, default=str))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[Message]]:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(channel)

        async def messages() -> AsyncIterator[Message]:
            async for item in pubsub.listen():
                if item.get("type") == "message":
                    yield json.loads(item["data"])

        try:
            yield messages()
        finally:
            with contextlib.suppress(Exception):  # the connection may be the thing that failed
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        await self._redis.aclose()


def bus_from_url(url: str) -> Bus:
    """The backend for `url`: memory:// (one process) or redis://host:port/db (several)."""
    if url.startswith("memory://"):
        return MemoryBus()
    if url.startswith(("redis://", "rediss://")):
        return RedisBus(url)
    raise ValueError(f"unsupported bus URL {url!r}; use memory:// or redis://")
