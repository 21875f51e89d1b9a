"""SMS to people in the queue: one "your turn is near" when at most N people are ahead of a ticket
with a phone or its estimated wait is within the lead time (the time to get to the hall), never
repeated even if the ticket moves back; one more when it is called; one after it is served, asking
how it went; each with the ticket's tracker link. All are outbox rows written in the transaction
that moved the queue, so they go out only if it commits. The tracker link is also sent again on
request (`send_tracker_link`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from config.sql import id_of
from organisation.models import Centre
from queueing.models import Ticket
from queueing.policy import PolicyConfig, ordered
from queueing.states import TicketStatus
from queueing.tickets import held_ticket, queue_heads, tracking_url
from queueing.waits import wait_model
from sms_gateway.outbox import enqueue
from sms_gateway.templates import TemplateError

log = logging.getLogger(__name__)
MAX_REACH = 200  # "near" never reaches further down a queue than this


@dataclass(frozen=True)
class QueueNotices:
    ahead: int  # "your turn is near" once this many people or fewer are ahead,
    policy: PolicyConfig
    base_url: str  # where the tracker links in the messages point
    lead_s: float = 0.0  # or once the estimated wait is this short

    def reach(self, wait_s: Callable[[int], float]) -> int:
        """How many people ahead still count as near: `ahead`, or more while the predicted wait with
        that many ahead is within the lead time."""
        reach = self.ahead
        while self.lead_s > 0 and reach < MAX_REACH and wait_s(reach + 1) <= self.lead_s:
            reach += 1
        return reach


def _send(
    session: Session,
    *,
    centre: Centre,
    ticket: Ticket,
    kind: str,
    base_url: str,
    now: datetime,
    template: str | None = None,
    **params: object,
) -> None:
    """Queues one SMS of this kind for the ticket (at most one per kind: `kind` makes the key)."""
    assert ticket.phone is not None
    name = centre.name_ar if ticket.language == "ar" else centre.name_en
    link = tracking_url(base_url, ticket.token)
    try:
        enqueue(
            session,
            dedupe_key=f"ticket:{ticket.id}:{kind}",
            phone=ticket.phone,
            template=template or kind,
            language=ticket.language,
            params={"number": ticket.number, "centre": name, "link": link, **params},
            now=now,
            centre_id=id_of(centre),
        )
    except TemplateError as exc:
        # A message that cannot be sent must not stop the queue: the refusal is logged by render().
        log.error("no %s SMS for ticket %s: %s", kind, ticket.number, exc)


def notify_near(
    session: Session, *, centre: Centre, service_id: int, notices: QueueNotices, now: datetime
) -> None:
    """Queues the "turn near" SMS of the tickets of one service queue that are now close enough."""
    if not _phones_waiting(session, centre_id=id_of(centre), service_id=service_id):
        return  # nobody in this queue can be told: most calls, where few tickets have a phone
    limit = notices.ahead + 1
    if notices.lead_s > 0:
        model = wait_model(session, centre=centre, now=now)
        limit = notices.reach(lambda ahead: model.forecast(service_id, ahead=ahead).typical_s) + 1
    heads = queue_heads(session, centre_id=id_of(centre), service_ids=[service_id], now=now, per_queue=limit)
    first = ordered(heads, weights={service_id: 1.0}, now=now, config=notices.policy)[:limit]
    ahead_of = {candidate.ticket_id: index for index, candidate in enumerate(first)}
    if not ahead_of:
        return
    with_phone = session.exec(
        select(Ticket).where(col(Ticket.id).in_(list(ahead_of)), col(Ticket.phone).is_not(None))
    ).all()
    for ticket in with_phone:
        # An away ticket's holder is also told to check in, or the ticket is never called.
        template = "turn_near_check_in" if ticket.away else "turn_near"
        ahead = ahead_of[id_of(ticket)]
        _send(
            session,
            centre=centre,
            ticket=ticket,
            kind="turn_near",
            template=template,
            base_url=notices.base_url,
            now=now,
            ahead=ahead,
        )


_PHONE_WAITING = (
    select(Ticket.id)
    .where(
        Ticket.centre_id == bindparam("centre_id"),
        Ticket.service_id == bindparam("service_id"),
        Ticket.status == TicketStatus.WAITING.value,
        col(Ticket.phone).is_not(None),
    )
    .limit(1)
)


def _phones_waiting(session: Session, *, centre_id: int, service_id: int) -> bool:
    """Whether anyone with a phone waits in the queue (else there is nobody to tell)."""
    return (
        session.exec(_PHONE_WAITING, params={"centre_id": centre_id, "service_id": service_id}).first()
        is not None
    )


def notify_called(
    session: Session, *, centre: Centre, ticket: Ticket, counter_number: int, base_url: str, now: datetime
) -> None:
    """Queues the "go to counter N" SMS of a ticket with a phone (once: a recall sends nothing)."""
    if ticket.phone is not None:
        _send(
            session,
            centre=centre,
            ticket=ticket,
            kind="called",
            base_url=base_url,
            now=now,
            counter=counter_number,
        )


def notify_served(session: Session, *, centre: Centre, ticket: Ticket, base_url: str, now: datetime) -> None:
    """Queues the one "how was it?" SMS of a served ticket with a phone: its link leads to the tracker,
    where the holder rates the service (queueing/feedback.py)."""
    if ticket.phone is not None:
        _send(session, centre=centre, ticket=ticket, kind="feedback", base_url=base_url, now=now)


def send_tracker_link(
    session: Session, *, centre: Centre, number: str, phone: str, base_url: str, now: datetime
) -> bool:
    """Queues the tracker link of today's waiting or called ticket `number` at the centre to its
    phone, if it was taken with `phone`; whether it did (the caller must not tell the asker)."""
    ticket = held_ticket(session, centre=centre, number=number, phone=phone, now=now)
    if ticket is None:
        return False
    # Each request its own message (the caller throttles them); twins sent at once make one.
    _send(
        session,
        centre=centre,
        ticket=ticket,
        kind=f"tracker_link:{now.isoformat()}",
        template="tracker_link",
        base_url=base_url,
        now=now,
    )
    return True
