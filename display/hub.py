"""The websocket hub: one feed per centre per process, tailing the event log and fanning it out.

The database is the truth and the bus only a doorbell: a feed reads new events from the log when the
bus rings, and also every few seconds whatever the bus does, so a lost Redis message (or Redis being
down) delays a screen by seconds at most and never loses a call. A hung Redis ends the subscription
(eventlog/bus.py: the heartbeat), and the feed polls every `poll_when_bus_down_s` until it is back.
Subscribers get bounded queues; one that falls behind is dropped and resyncs from a fresh snapshot
instead of slowing the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from anyio import to_thread
from sqlmodel import Session

from config.db import Database
from display.batched import Batched
from eventlog.bus import Bus
from eventlog.log import centre_channel, event_message, events_since, last_seq
from organisation.catalogue import find_centre

log = logging.getLogger(__name__)
OVERFLOW = object()  # put in a subscriber's queue when it fell behind


@dataclass(frozen=True)
class Delivery:
    """One event for the subscribers: serialised once, with what they filter on kept beside it."""

    seq: int
    type: str
    text: str
    number: str | None = None  # the ticket's, for an event of one ticket


class UnknownCentre(LookupError):
    """No centre has this code."""


@dataclass(eq=False)
class Subscriber:
    """One connected screen: the deliveries waiting for it (or OVERFLOW once it fell behind), those
    after `since`, its feed's position when it subscribed."""

    feed: Feed
    since: int
    queue: asyncio.Queue[Any]
    overflowed: bool = False

    def offer(self, delivery: Delivery) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(delivery)
        except asyncio.QueueFull:
            self.overflowed = True
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.get_nowait()
                self.queue.put_nowait(OVERFLOW)


@dataclass(eq=False)
class Feed:
    """The events of one centre for the subscribers of this process."""

    centre_id: int
    centre_code: str
    seq: int
    subscribers: set[Subscriber] = field(default_factory=set)
    doorbell: asyncio.Event = field(default_factory=asyncio.Event)
    bus_ok: bool = False
    task: asyncio.Task[None] | None = None


class Hub:
    """Feeds per centre, started on first subscriber and stopped after the last one leaves."""

    def __init__(
        self,
        *,
        database: Database,
        bus: Bus,
        queue_size: int = 256,
        poll_s: float = 5.0,
        poll_when_bus_down_s: float = 1.0,
    ) -> None:
        self.database = database
        self.bus = bus
        self.queue_size = queue_size
        self.poll_s = poll_s
        self.poll_when_bus_down_s = poll_when_bus_down_s
        self.feeds: dict[str, Feed] = {}
        # A feed starts at its centre's log position: read once for all who subscribe meanwhile.
        self.starts: Batched[str, tuple[int, int]] = Batched(
            lambda codes: self.read(partial(_positions, codes=codes))
        )

    @asynccontextmanager
    async def subscribe(self, centre_code: str) -> AsyncIterator[Subscriber]:
        """Receives the centre's events logged from now on (take the snapshot after entering);
        UnknownCentre if no centre has the code."""
        feed = self.feeds.get(centre_code)
        if feed is None:
            start = await self.starts.get(centre_code)
            if start is None:
                raise UnknownCentre(centre_code)
            feed = self.feeds.get(centre_code)  # another subscriber may have started it meanwhile
            if feed is None:
                feed = Feed(start[0], centre_code, start[1])
                self.feeds[centre_code] = feed
                feed.task = asyncio.create_task(self._run(feed), name=f"feed {centre_code}")
        subscriber = Subscriber(feed, feed.seq, asyncio.Queue(self.queue_size))
        feed.subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            feed.subscribers.discard(subscriber)
            if not feed.subscribers and feed.task is not None:
                feed.task.cancel()
                self.feeds.pop(centre_code, None)

    async def close(self) -> None:
        """Stops every feed."""
        for feed in list(self.feeds.values()):
            if feed.task is not None:
                feed.task.cancel()
        self.feeds.clear()

    async def read(self, work: Callable[[Session], Any]) -> Any:
        """`work(session)` in a read transaction, on a worker thread."""

        def run() -> Any:
            with self.database.read() as session:
                return work(session)

        return await to_thread.run_sync(run)

    async def _run(self, feed: Feed) -> None:
        bell = asyncio.create_task(self._ring_on_bus(feed))
        try:
            while True:
                interval = self.poll_s if feed.bus_ok else self.poll_when_bus_down_s
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(feed.doorbell.wait(), interval)
                feed.doorbell.clear()
                if bell.done():  # the bus failed: keep polling, and try it again
                    bell = asyncio.create_task(self._ring_on_bus(feed))
                await self._catch_up(feed)
        finally:
            bell.cancel()

    async def _ring_on_bus(self, feed: Feed) -> None:
        try:
            async with self.bus.subscribe(centre_channel(feed.centre_code)) as messages:
                if not feed.bus_ok:
                    log.info("bus connected for %s", feed.centre_code)
                feed.bus_ok = True
                feed.doorbell.set()  # catch up on anything logged while subscribing
                async for _ in messages:
                    feed.doorbell.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Redis down or hung: the feed polls the database meanwhile
            if feed.bus_ok:
                log.warning("bus lost for %s (%r); polling the event log", feed.centre_code, exc)
                feed.bus_ok = False
                feed.doorbell.set()  # wake the feed so that it polls at the shorter interval at once
            await asyncio.sleep(self.poll_when_bus_down_s)  # before the feed tries the bus again

    async def _catch_up(self, feed: Feed) -> None:
        try:
            events = await self.read(
                lambda s: [
                    event_message(e, centre_code=feed.centre_code)
                    for e in events_since(s, centre_id=feed.centre_id, after_seq=feed.seq)
                ]
            )
        except Exception:
            log.exception("could not read the event log of %s", feed.centre_code)
            return
        if not events:
            return
        feed.seq = events[-1]["seq"]
        for message in events:
            text = json.dumps(message, ensure_ascii=False)
            delivery = Delivery(message["seq"], message["type"], text, message.get("number"))
            for subscriber in list(feed.subscribers):
                subscriber.offer(delivery)


def _positions(session: Session, *, codes: list[str]) -> dict[str, tuple[int, int]]:
    """Each known centre's id and newest seq, by code."""
    found = {}
    for code in codes:
        centre = find_centre(session, code=code)
        if centre is not None and centre.id is not None:
            found[code] = (centre.id, last_seq(session, centre_id=centre.id))
    return found
