"""A hall display's snapshot (what it shows on connecting), shared by the displays of a centre.

A display gets the snapshot, then every event after its `seq`. A snapshot depends on the centre's
log position and, through the wait estimates and the hall message's window, on the time: so one
snapshot serves every display of the centre that connects while the log has not moved and it is at
most `MAX_AGE_S` old. After a restart the displays of a centre then cost one read between them, not
one each (docs/performance.md, "Websockets at national peaks").

A display may use a snapshot only if it is at least as new as its feed was when it subscribed: the
events up to then reach it through no other way. One read after its subscription always is.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from config.clock import Clock
from display.batched import Batched
from display.hall_messages import current_message
from display.hub import Subscriber
from eventlog.log import event_message, last_seq
from organisation.catalogue import services_of
from organisation.models import Centre
from organisation.snapshot import organisation
from queueing.service import centre_status, recent_calls

MAX_AGE_S = 2.0
RECENT_CALLS = 16  # enough to fill the list once recalls are folded into their number's row


def hall_snapshot(session: Session, *, centre: Centre, now: datetime, always_open: bool) -> dict[str, Any]:
    """What a display of the centre shows now, with the log position it shows at least."""
    centre_id = centre.id or 0
    # The position first: on PostgreSQL each statement sees what has committed by its start, so what
    # is read after it shows every event up to it (and maybe later ones, which the display gets
    # again as deltas). Read last, an event committed meanwhile would be counted in and not shown.
    seq = last_seq(session, centre_id=centre_id)
    status = centre_status(session, centre=centre, now=now, always_open=always_open)
    message = current_message(session, centre=centre, now=now)
    return {
        "type": "snapshot",
        "seq": seq,
        "centre": {"code": centre.code, "name": {"ar": centre.name_ar, "en": centre.name_en}},
        "services": {
            s.code: {"ar": s.name_ar, "en": s.name_en} for s in services_of(session, centre_id=centre_id)
        },
        "now_serving": [row.model_dump() for row in status.now_serving],
        "recent": [
            event_message(e, centre_code=centre.code)
            for e in recent_calls(session, centre_id=centre_id, limit=RECENT_CALLS)
        ],
        "waiting": {
            row.code: {"waiting": row.waiting, "estimated_wait_s": row.estimated_wait_s}
            for row in status.services
        },
        # After a reload too, a message still shows (and one that ended does not).
        "hall_message": message.model_dump(mode="json") if message else None,
    }


@dataclass(frozen=True)
class Snapshot:
    seq: int
    text: str  # as sent
    at: datetime  # the application's clock when it was read
    read_at: float  # time.monotonic() then


class Snapshots:
    """The latest snapshot of each centre, read again when the log has moved past it or it is old."""

    def __init__(
        self,
        read: Callable[[Callable[[Session], Any]], Awaitable[Any]],
        *,
        clock: Clock,
        always_open: bool,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.always_open = always_open
        self.monotonic = monotonic
        self.latest: dict[int, Snapshot] = {}
        self.batched: Batched[int, Snapshot] = Batched(
            lambda ids: read(lambda session: self._read(session, ids))
        )

    async def get(self, subscriber: Subscriber) -> Snapshot | None:
        """A snapshot of the subscriber's centre that follows on from what its feed delivers (None if
        the centre is gone)."""
        feed = subscriber.feed
        kept = self.latest.get(feed.centre_id)
        if kept is None or kept.seq < subscriber.since or not self._fresh(kept):
            kept = await self.batched.get(feed.centre_id)
            if kept is not None:
                self.latest[feed.centre_id] = kept
        return kept

    def _fresh(self, snapshot: Snapshot) -> bool:
        # Both clocks: the application's may be a test's, which jumps; the monotonic one runs.
        age = self.clock() - snapshot.at
        return timedelta(0) <= age < timedelta(seconds=MAX_AGE_S) and (
            self.monotonic() - snapshot.read_at < MAX_AGE_S
        )

    def _read(self, session: Session, centre_ids: list[int]) -> dict[int, Snapshot]:
        centres = organisation(session).centres_by_id
        now, read_at = self.clock(), self.monotonic()
        found = {}
        for centre_id in centre_ids:
            if centre_id in centres:
                snapshot = hall_snapshot(
                    session, centre=centres[centre_id], now=now, always_open=self.always_open
                )
                text = json.dumps(snapshot, ensure_ascii=False, default=str)
                found[centre_id] = Snapshot(snapshot["seq"], text, now, read_at)
        return found
