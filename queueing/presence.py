"""Remote tickets at a centre that asks for check-in: away until the holder checks in at the kiosk.

An away ticket keeps its place (its arrival time) but no counter calls it, so nobody still at home
holds a counter idle. Checking in by scanning the tracker page's QR at the kiosk makes it callable.
Whoever checks in long after the "your turn is near" SMS joins the back of the queue instead: a
place kept all day would let a remote ticket jump everyone who came while its holder stayed away.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from queueing.errors import QueueError, TicketNotWaiting
from queueing.events import append_event
from queueing.models import Centre, Ticket, id_of
from queueing.states import TicketStatus
from sms_gateway.models import SmsMessage

# The tracker page's address, as a scanner types the QR: its last part is the ticket's token.
TRACKER_LINK = re.compile(r"/t/([A-Za-z0-9_-]{16,64})/?$")


class CannotCheckIn(QueueError):
    """A ticket that cannot be checked in; `code` is `already_checked_in` or `ticket_not_waiting`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def scanned_token(scanned: str) -> str | None:
    """The ticket token in a scanned tracker link, or None when the text is something else."""
    match = TRACKER_LINK.search(scanned.strip())
    return match.group(1) if match else None


def check_in_ticket(
    session: Session, *, ticket: Ticket, centre: Centre, actor: str, now: datetime, grace: timedelta
) -> bool:
    """Makes an away ticket callable; True when it kept its place, False when it joined the back."""
    session.refresh(ticket, with_for_update=True)  # two scans at once: the second sees the first
    if ticket.status != TicketStatus.WAITING.value:
        raise CannotCheckIn(TicketNotWaiting.code, f"ticket {ticket.number} is {ticket.status}")
    if not ticket.away:
        raise CannotCheckIn("already_checked_in", f"ticket {ticket.number} is already checked in")
    told = session.exec(
        select(SmsMessage.created_at).where(col(SmsMessage.dedupe_key) == f"ticket:{ticket.id}:turn_near")
    ).first()
    kept = told is None or now - told <= grace
    ticket.away = False
    if not kept:
        ticket.arrived_at = now
    session.add(ticket)
    append_event(
        session,
        centre_id=id_of(centre),
        centre_code=centre.code,
        type="checked_in",
        actor=actor,
        at=now,
        ticket_id=id_of(ticket),
        data={"number": ticket.number, "kept_place": kept},
    )
    return kept
