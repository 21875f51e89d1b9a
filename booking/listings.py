"""Slot listings served from a snapshot per centre, service, first day and number of days.

Why: at a booking release thousands of citizens ask for the same week of the same service at the same
instant, and each listing reads the counters, four weeks of walk-ins and the week's slot rows (a few
milliseconds of the one quick read thread, config/web/threads.py): computed for each of them, listings
drained at about a hundred a second and the last citizens waited many seconds for their week. One
answer, computed once and sent to everyone who asks within a second, leaves a listing the cost of
the web stack alone (docs/performance.md, "Booking release surge").

How fresh: a snapshot serves a request while it is less than a second old (the monotonic clock), the
application's clock has moved less than a second forward from the time it was computed for (a virtual
clock that jumps gets a fresh answer), and nothing has changed the centre's slots in this process since
it was taken. A commit hook (config/db.py) moves a centre's generation when a transaction changed its
slot rows (`slots_changed`, called where `booking_slot` rows are written: a booking, a cancellation, a
draw) or appended to its event log (its booking settings, hours, closures, counters). So such a change
made through this process shows in the next listing at once; one made through another process, and
any other (a service's mean time, say), within a second. A listing is only a guide: the booking
itself takes a place under the database's guard (booking/appointments.py), whatever it said.

Concurrent requests for the same snapshot await the one computation in flight instead of each reading
the database; or, when it renews an answer less than a second old, they get that answer at once: at a
release every booking renews the week, and the listings would otherwise each wait for the database,
busy with the bookings. The first listing after a change renews and shows it; those asked while it is
renewed may be up to a second behind, as across processes. A computation that fails (an unknown centre
or service, one that cannot be booked) is not kept: the requests that waited for it each try again, so
that each gets its error in its own language.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from threading import Lock

from sqlmodel import Session

from config.metrics import SLOT_LISTINGS
from eventlog.log import STAGED

# A listing may lag a booking made through another process by this much at most.
MOST_A_LISTING_LAGS_S = 1.0
# Enough for every centre, bookable service and a few weeks asked for; odd queries only push out
# the least recently asked.
LISTINGS_KEPT = 4096
# Codes of the centres whose `booking_slot` rows a transaction wrote (in its session's `info`).
SLOTS_CHANGED = "dor_slots_changed"

Monotonic = Callable[[], float]
Compute = Callable[[], Awaitable[bytes]]  # a listing's answer, from the database
# Centre code, service code, the first day asked for (None: the centre's today), days.
ListingKey = tuple[str, str, date | None, int]


def slots_changed(session: Session, centre_code: str) -> None:
    """Notes that this transaction changes the centre's slot rows: its listings are recomputed once
    it commits."""
    session.info.setdefault(SLOTS_CHANGED, set()).add(centre_code)


def changed_centres(session: Session) -> set[str]:
    """The codes of the centres whose slots or event log a committed transaction changed."""
    slots: set[str] = session.info.get(SLOTS_CHANGED, set())
    return slots | {str(message["centre"]) for _, message in session.info.get(STAGED, [])}


@dataclass(frozen=True)
class _Answered:
    body: bytes
    at: datetime  # the application's time it was computed for
    taken: float  # the monotonic time its computation began


@dataclass(frozen=True)
class _Snapshot:
    answer: asyncio.Future[bytes]  # done, or still being computed
    at: datetime  # the application's time it was computed for
    taken: float  # the monotonic time its computation began
    generation: int  # the centre's generation then
    # The answer it renews, sent meanwhile to whoever asks while it is young enough: at a release
    # every booking renews the week, and the listings would otherwise each wait for the database.
    renews: _Answered | None = None


class Listings:
    """This process's snapshots of slot listings (one per application, on `app.state.listings`)."""

    def __init__(self, *, monotonic: Monotonic = time.monotonic, kept: int = LISTINGS_KEPT) -> None:
        self.monotonic = monotonic
        self.kept = kept
        self._snapshots: OrderedDict[ListingKey, _Snapshot] = OrderedDict()
        # Moved by the commit hook on writer threads, read on the event loop.
        self._generations: dict[str, int] = {}
        self._moving = Lock()
        self._from_snapshot = SLOT_LISTINGS.labels(answer="snapshot")
        self._computed = SLOT_LISTINGS.labels(answer="computed")

    def committed(self, session: Session) -> None:
        """The commit hook (Database.after_every_commit): moves the generation of every centre the
        transaction changed."""
        changed = changed_centres(session)
        if not changed:
            return
        with self._moving:
            for code in changed:
                self._generations[code] = self._generations.get(code, 0) + 1

    async def answer(self, key: ListingKey, *, now: datetime, compute: Compute) -> bytes:
        """The listing `key` at `now`: a snapshot's if one still serves, else `compute()`'s, computed
        once for every request that asks meanwhile."""
        while True:
            snapshot = self._snapshots.get(key)
            if snapshot is None or not self._serves(snapshot, key[0], now):
                return await self._compute(key, now=now, compute=compute)
            self._snapshots.move_to_end(key)
            if not snapshot.answer.done():
                renews = snapshot.renews
                if renews is not None and self._young(renews.taken, renews.at, now):
                    self._from_snapshot.inc()
                    return renews.body
                await asyncio.wait([snapshot.answer])  # waiting never cancels it
            if not snapshot.answer.cancelled():
                self._from_snapshot.inc()
                return snapshot.answer.result()
            # It failed for the request that began it: this one tries for itself.

    def _serves(self, snapshot: _Snapshot, centre: str, now: datetime) -> bool:
        return self._young(snapshot.taken, snapshot.at, now) and (
            self._generations.get(centre, 0) == snapshot.generation
        )

    def _young(self, taken: float, at: datetime, now: datetime) -> bool:
        """Computed less than the most a listing lags ago, by both clocks (a test's jumps)."""
        lag = timedelta(seconds=MOST_A_LISTING_LAGS_S)
        return self.monotonic() - taken < MOST_A_LISTING_LAGS_S and timedelta(0) <= now - at < lag

    async def _compute(self, key: ListingKey, *, now: datetime, compute: Compute) -> bytes:
        # The generation is read before the database is: a change committed meanwhile moves it, and
        # the next request computes again.
        old = self._snapshots.get(key)
        snapshot = _Snapshot(
            answer=asyncio.get_running_loop().create_future(),
            at=now,
            taken=self.monotonic(),
            generation=self._generations.get(key[0], 0),
            renews=_answered(old) or (old.renews if old is not None else None),
        )
        self._snapshots[key] = snapshot
        self._snapshots.move_to_end(key)
        while len(self._snapshots) > self.kept:
            self._snapshots.popitem(last=False)
        self._computed.inc()
        try:
            body = await compute()
        except BaseException:
            if self._snapshots.get(key) is snapshot:
                del self._snapshots[key]
            snapshot.answer.cancel()
            raise
        snapshot.answer.set_result(body)
        return body


def _answered(snapshot: _Snapshot | None) -> _Answered | None:
    if snapshot is None or not snapshot.answer.done() or snapshot.answer.cancelled():
        return None
    return _Answered(snapshot.answer.result(), snapshot.at, snapshot.taken)
