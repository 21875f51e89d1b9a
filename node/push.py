"""At a centre node: what it pushes to the central next (docs/centre-node.md). The entries of its
centre's log after the central's head, oldest first, and the rows they name as the node holds them
now: their tickets, the centre's counters when an entry names one, and the check-ins of those
tickets' appointments."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from booking.models import Appointment
from eventlog.log import events_since
from node.intake import CHECK_IN, COUNTER_STATE
from node.schemas import PUSH_ENTRIES
from organisation.models import Counter
from queueing.models import Ticket


def next_push(session: Session, *, centre_id: int, after_seq: int, head: int) -> dict[str, Any]:
    """The push body (node.schemas.PushIn as JSON) of the entries after `after_seq`; `head` is the
    node's own head, which the central shows as how far behind it is."""
    events = events_since(session, centre_id=centre_id, after_seq=after_seq, limit=PUSH_ENTRIES)
    ticket_ids = {e.ticket_id for e in events if e.ticket_id is not None}
    tickets = session.exec(select(Ticket).where(col(Ticket.id).in_(ticket_ids))).all() if ticket_ids else []
    counters = (
        session.exec(select(Counter).where(Counter.centre_id == centre_id)).all()
        if any(e.counter_id is not None for e in events)
        else []
    )
    check_ins = (
        session.exec(select(Appointment).where(col(Appointment.ticket_id).in_(ticket_ids))).all()
        if ticket_ids
        else []
    )
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
