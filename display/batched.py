"""Reads that many connections want at the same moment, done as one.

When a process restarts, thousands of screens and phones reconnect within seconds, and a call at a
busy centre moves every tracker of its queue at once. Each of them reading the database for itself
would cost a transaction (and a worker thread) apiece: 4,000 displays took a minute to get their
snapshots. A `Batched` read gathers the keys asked for while its previous read runs and reads them
all in the next one, so that the database sees one transaction per batch, whatever its size.

No timer holds a request back: a key asked for when no read runs is read at once (alone, or with
those asked for in the same turn of the event loop); those asked for meanwhile wait for the read in
progress to end. Every read starts after each of its keys was asked for, so what it returns is at
least as new as the moment it was asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Batched(Generic[K, V]):
    """`await get(key)`: the value `read` gives for `key` (None if it gives none), read together with
    every other key asked for meanwhile."""

    def __init__(self, read: Callable[[list[K]], Awaitable[dict[K, V]]]) -> None:
        self.read = read
        self.pending: dict[K, list[asyncio.Future[V | None]]] = {}
        self.running: asyncio.Task[None] | None = None

    async def get(self, key: K) -> V | None:
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self.pending.setdefault(key, []).append(future)
        if self.running is None:
            # Scheduled after the callbacks already due, so that the waiters woken in this turn of
            # the loop (a feed's fan-out) are all in its first batch.
            self.running = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        try:
            while self.pending:
                batch, self.pending = self.pending, {}
                try:
                    found = await self.read(list(batch))
                except Exception as exc:  # each waiter gets the error (its socket ends); the next batch runs
                    for futures in batch.values():
                        for future in futures:
                            if not future.done():
                                future.set_exception(exc)
                    continue
                for key, futures in batch.items():
                    for future in futures:
                        if not future.done():  # a waiter that left (its socket closed) is cancelled
                            future.set_result(found.get(key))
        finally:
            self.running = None
