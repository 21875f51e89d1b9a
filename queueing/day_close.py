"""Closing the day: a ticket of an earlier day still waiting or called is cancelled.

Numbers restart every local day, so yesterday's A-001 left waiting would stand beside today's
A-001, and, having arrived first, it would be called first the next morning for someone long gone
(two calls and a minute per ghost at every counter before the real queue moves). A ticket being
served is left to its counter: only the agent knows when it ends.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col, select

from config.sql import id_of
from organisation.hours import local_day
from organisation.models import Centre
from organisation.snapshot import organisation
from queueing.engine import cancel_ticket
from queueing.models import Ticket
from queueing.states import TicketStatus

log = logging.getLogger(__name__)
DAY_CLOSE = "scheduler:day-close"
REASON = "day_closed"


def close_past_days(session: Session, *, now: datetime) -> int:
    """Cancels, at every centre, the tickets of days before its local today that are still waiting
    or called, each logged as `cancelled` with the reason `day_closed`; returns how many. A centre on
    its own node is left to the node (docs/centre-node.md)."""
    closed = 0
    on_nodes = organisation(session).node_centres
    for centre in session.exec(select(Centre)).all():
        if id_of(centre) in on_nodes:
            continue
        left = session.exec(
            select(Ticket)
            .where(
                Ticket.centre_id == id_of(centre),
                col(Ticket.day) < local_day(now, timezone=centre.timezone),
                col(Ticket.status).in_([TicketStatus.WAITING.value, TicketStatus.CALLED.value]),
            )
            .order_by(col(Ticket.id))
            .with_for_update()
        ).all()
        for ticket in left:
            cancel_ticket(session, ticket=ticket, centre=centre, actor=DAY_CLOSE, now=now, reason=REASON)
        if left:
            log.info("%s: %d ticket(s) of earlier days closed", centre.code, len(left))
        closed += len(left)
    return closed
