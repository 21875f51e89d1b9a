"""At the central: what a centre's node pushes (docs/centre-node.md), taken in one transaction.

The rows come first (the entries name tickets), as the node holds them now: its tickets, its
counters' state, the check-ins of appointments. Then the entries, by seq (eventlog/intake.py), so a
batch sent twice changes nothing the second time. Each call of the node is also its sign of life:
the link's last contact, and an outage kept when it had been silent too long (eventlog/intake.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from booking.models import Appointment
from config.sql import id_of
from eventlog.chain import Entry
from eventlog.intake import LogHead, take_in
from node.schemas import PushIn
from organisation.models import Centre, Counter
from organisation.snapshot import organisation
from queueing.models import Ticket

TICKET_ID_SHIFT = 32  # a node's ticket ids start at its centre's id times 2^32 (docs/centre-node.md)

# A counter's state that the node owns; its number, label and queues are the organisation's.
COUNTER_STATE = ("is_open", "agent_id", "paused_reason", "paused_at")
# An appointment's check-in, which the node owns; the booking itself is the central's.
CHECK_IN = ("status", "checked_in_at", "ticket_id")


class PushRefused(Exception):
    """Rows the central does not take (another centre's, or not valid): nothing of the push is kept."""


def take_in_push(session: Session, *, centre: Centre, push: PushIn) -> LogHead:
    """Writes the push's rows, then its entries; the centre's log head after them."""
    centre_id = id_of(centre)
    counters = set(session.exec(select(Counter.id).where(Counter.centre_id == centre_id)).all())
    tickets = [_valid(Ticket, row) for row in push.tickets]
    _check_tickets(session, centre_id=centre_id, tickets=tickets, counters=counters)
    named = {e.ticket for e in push.events if e.ticket is not None}
    missing = named - {t.id for t in tickets}
    if missing:
        raise PushRefused(f"entries name tickets that were not sent: {sorted(missing)[:5]}")
    if any(e.counter is not None and e.counter not in counters for e in push.events):
        raise PushRefused("an entry names a counter of another centre")
    for ticket in tickets:
        session.merge(ticket)
    session.flush()
    _states(session, Counter, centre_id=centre_id, rows=push.counters, names=COUNTER_STATE)
    _states(session, Appointment, centre_id=centre_id, rows=push.appointments, names=CHECK_IN)
    entries = [
        Entry(centre_id, e.seq, e.type, e.ticket, e.counter, e.actor, e.at, e.data, e.hash)
        for e in push.events
    ]
    return take_in(session, centre_id=centre_id, centre_code=centre.code, entries=entries)


def _check_tickets(
    session: Session, *, centre_id: int, tickets: Sequence[Ticket], counters: set[int | None]
) -> None:
    """The node's tickets only: of its centre, of services the central knows, at its counters, and
    either numbered in its range or held by the central for that centre already."""
    known = organisation(session)
    held = {
        t.id: t.centre_id
        for t in session.exec(select(Ticket).where(col(Ticket.id).in_([t.id for t in tickets])))
    }
    first, last = centre_id << TICKET_ID_SHIFT, (centre_id + 1) << TICKET_ID_SHIFT
    for ticket in tickets:
        if ticket.id is None or ticket.centre_id != centre_id or held.get(ticket.id, centre_id) != centre_id:
            raise PushRefused("a ticket of another centre")
        if ticket.id not in held and not first < ticket.id < last:
            raise PushRefused(f"ticket {ticket.id} is outside the node's numbers")
        if ticket.service_id not in known.services_by_id or ticket.counter_id not in counters | {None}:
            raise PushRefused(f"ticket {ticket.id} names a service or counter the central does not know")


def _valid(model: Any, row: dict[str, Any]) -> Any:
    try:
        return model.model_validate(row)
    except ValidationError as exc:
        raise PushRefused(f"a {model.__name__.lower()} row is not valid: {exc.errors()[0]['msg']}") from None


def _states(
    session: Session, model: Any, *, centre_id: int, rows: Sequence[dict[str, Any]], names: Sequence[str]
) -> None:
    """Rows the central holds, of the centre, with the fields `names` (the node's to change) as sent."""
    for row in rows:
        held = session.get(model, row["id"]) if isinstance(row.get("id"), int) else None
        if held is None or held.centre_id != centre_id:
            raise PushRefused(f"a {model.__name__.lower()} the central does not hold for this centre")
        sent = _valid(model, {**held.model_dump(), **{name: row.get(name) for name in names}})
        for name in names:
            setattr(held, name, getattr(sent, name))
        session.add(held)
