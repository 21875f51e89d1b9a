"""Ticket numbers: per centre, per service prefix, per centre-local day (A-001, A-002, ...)."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from eventlog.serials import next_value


def allocate_number(session: Session, *, centre_id: int, prefix: str, day: date) -> str:
    """The next number of this queue today; a new day starts again at 001."""
    value = next_value(session, name=f"ticket:{centre_id}:{prefix}:{day.isoformat()}")
    return f"{prefix}-{value:03d}"
