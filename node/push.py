"""At a centre node: what it pushes to the central next (docs/centre-node.md). The entries of its
centre's log after the central's head, oldest first, and the rows they name as the node holds them
now: their tickets, the centre's counters when an entry names one, and the appointments the node
decided (checked in, or a no-show)."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from booking.models import Appointment
from eventlog.log import events_since
from node.intake import CHECK_IN, COUNTER_STATE
from node.schemas import PUSH_ENTRIES
from organisation.models import Counter
from queueing.models import Ticket

# A push's body at most: under the central's limit on a request's body (DOR_MAX_BODY_BYTES, 64 KiB by
# default). An entry with its ticket is about 1 KB, so a push carries some fifty.
PUSH_BYTES = 48 * 1024


def next_push(session: Session, *, centre_id: int, after_seq: int, head: int) -> bytes:
    """The next push's body (node.schemas.PushIn as JSON): as many entries after `after_seq` as fit in
    PUSH_BYTES, at least one. `head` is the node's own head: how far behind the central is."""
    entries = PUSH_ENTRIES
    while True:
        body = json.dumps(_push(session, centre_id, after_seq, head, entries), separators=(",", ":")).encode()
        if len(body) <= PUSH_BYTES or entries == 1:
            return body
        entries = max(1, entries * PUSH_BYTES // len(body) * 9 // 10)


def _push(session: Session, centre_id: int, after_seq: int, head: int, entries: int) -> dict[str, Any]:
    events = events_since(session, centre_id=centre_id, after_seq=after_seq, limit=entries)
    ticket_ids = {e.ticket_id for e in events if e.ticket_id is not None}
    tickets = session.exec(select(Ticket).where(col(Ticket.id).in_(ticket_ids))).all() if ticket_ids else []
    counters = (
        session.exec(select(Counter).where(Counter.centre_id == centre_id)).all()
        if any(e.counter_id is not None for e in events)
        else []
    )
    # Check-ins (the appointment names its ticket) and no-shows (the entry names the appointment).
    missed = {e.data.get("code") for e in events if e.type == "appointment_no_show"}
    decided = col(Appointment.ticket_id).in_(ticket_ids) | col(Appointment.code).in_(missed)
    check_ins = session.exec(select(Appointment).where(decided)).all() if ticket_ids or missed else []
    return {
        "head": head,
        "events": [
            {
                "seq": e.seq,
                "type": e.type,
                "ticket": e.ticket_id,
                "counter": e.counter_id,
                "actor": e.actor,
                "at": e.at.isoformat(),
                "data": e.data,
                "hash": e.hash,
            }
            for e in events
        ],
        "tickets": [t.model_dump(mode="json") for t in tickets],
        "counters": [{"id": c.id, **c.model_dump(mode="json", include=set(COUNTER_STATE))} for c in counters],
        "appointments": [{"id": a.id, **a.model_dump(mode="json", include=set(CHECK_IN))} for a in check_ins],
    }
