"""Ticket numbers: per centre, per service prefix, per centre-local day (A-001, A-002, ...); and
ticket ids, on a centre node."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from config.db import TICKET_ID_BASE
from eventlog.serials import next_value


def allocate_number(session: Session, *, centre_id: int, prefix: str, day: date) -> str:
    """The next number of this queue today; a new day starts again at 001."""
    value = next_value(session, name=f"ticket:{centre_id}:{prefix}:{day.isoformat()}")
    return f"{prefix}-{value:03d}"


def ticket_id(session: Session) -> int | None:
    """A new ticket's id on a centre node: its centre's id times 2^32 plus its own count, so that the
    central holds the node's tickets under the same ids (docs/centre-node.md). None elsewhere: the
    database numbers them."""
    base = session.info.get(TICKET_ID_BASE)
    return None if base is None else int(base) + next_value(session, name="ticket_ids")
