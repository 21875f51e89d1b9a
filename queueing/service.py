"""What the packages that face people (display, booking, supervision) use of the queue: a narrow
facade over the engine and its queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from config.sql import id_of
from eventlog.intake import link_state
from eventlog.models import Event
from organisation import hours
from organisation.catalogue import service_code, services_of
from organisation.models import Centre, Counter, Service
from organisation.snapshot import organisation
from queueing.counters import counter_queues, current_ticket
from queueing.engine import LATE_PLACES, check_in_ticket, issue_ticket
from queueing.feedback import COMMENT_MAX, feedback_given
from queueing.models import Ticket
from queueing.policy import PolicyConfig
from queueing.presence import CannotCheckIn, phone_ends_with, scanned_token, typed_number
from queueing.schemas import CentreStatus, NowServing, ServiceStatus, TicketOut
from queueing.staffing import CounterNotFound, force_close, move_agent
from queueing.states import ACTIVE, TicketStatus
from queueing.tickets import (
    Channel,
    centres_of,
    find_ticket,
    find_ticket_today,
    find_tickets,
    intake_open,
    open_counters_serving,
    set_intake,
    tracking_url,
    waiting_candidates,
)
from queueing.waits import Standing, standings, wait_model

__all__ = [
    "COMMENT_MAX",
    "LATE_PLACES",
    "CannotCheckIn",
    "Channel",
    "CounterNotFound",
    "PolicyConfig",
    "centre_status",
    "centres_of",
    "check_in_ticket",
    "counter_queues",
    "current_ticket",
    "find_ticket",
    "find_ticket_today",
    "find_tickets",
    "force_close",
    "issue_ticket",
    "move_agent",
    "phone_ends_with",
    "recent_calls",
    "scanned_token",
    "set_intake",
    "ticket_view",
    "ticket_views",
    "typed_number",
    "was_called",
]
CALL_EVENTS = ("called", "recalled")


def centre_status(session: Session, *, centre: Centre, now: datetime, always_open: bool) -> CentreStatus:
    """A centre's queues now: waiting counts, estimates and numbers being served; nothing personal."""
    centre_id = id_of(centre)
    services = services_of(session, centre_id=centre_id)
    candidates = waiting_candidates(session, centre_id=centre_id, service_ids=[id_of(s) for s in services])
    rows = []
    model = wait_model(session, centre=centre, now=now)
    for service in services:
        waiting = sum(1 for c in candidates if c.service_id == service.id)
        counters = open_counters_serving(session, centre_id=centre_id, service_id=id_of(service))
        forecast = model.forecast(id_of(service), ahead=waiting)
        rows.append(
            ServiceStatus(
                code=service.code,
                waiting=waiting,
                estimated_wait_s=forecast.typical_s,
                estimated_wait_range_s=[forecast.low_s, forecast.high_s],
                open_counters=counters,
                intake_open=intake_open(session, centre=centre, service=service, now=now),
            )
        )
    serving = session.exec(
        select(Ticket.number, Counter.number, Service.code)
        .join(Counter, col(Counter.id) == Ticket.counter_id)
        .join(Service, col(Service.id) == Ticket.service_id)
        .where(Ticket.centre_id == centre_id, col(Ticket.status).in_([s.value for s in ACTIVE]))
        .order_by(col(Counter.number))
    ).all()
    is_open = always_open or hours.is_open(
        now, hours=centre.opening_hours, holidays=centre.holidays, timezone=centre.timezone
    )
    return CentreStatus(
        centre=centre.code,
        open=is_open,
        services=rows,
        now_serving=[NowServing(number=n, counter=c, service=s) for n, c, s in serving],
    )


def ticket_view(
    session: Session,
    ticket: Ticket,
    *,
    centre: Centre,
    policy: PolicyConfig,
    base_url: str,
    now: datetime,
    place: Standing | None = None,
) -> TicketOut:
    """The holder's view of a ticket, with its live standing (`place`, when the caller has just
    worked it out)."""
    position = ahead = wait = span = None
    if ticket.status == TicketStatus.WAITING.value:
        place = place or standings(session, tickets=[ticket], policy=policy, now=now)[id_of(ticket)]
        position, ahead = place.ahead + 1, place.ahead
        wait, span = place.forecast.typical_s, [place.forecast.low_s, place.forecast.high_s]
    counter = session.get(Counter, ticket.counter_id) if ticket.counter_id else None
    return TicketOut(
        number=ticket.number,
        token=ticket.token,
        status=ticket.status,
        service=service_code(session, ticket.service_id),
        centre=centre.code,
        position=position,
        ahead=ahead,
        estimated_wait_s=wait,
        estimated_wait_range_s=span,
        tracking_url=tracking_url(base_url, ticket.token),
        away=ticket.away,
        counter=counter.number if counter else None,
        issued_at=ticket.issued_at,
        moved_back=ticket.moved_back,
        # Once, for a walk-in: an appointment is called at its time (queueing/engine.py, move_back).
        can_move_back=ahead is not None and ticket.moved_back == 0 and ticket.appointment_at is None,
        feedback_given=ticket.status == TicketStatus.DONE.value
        and feedback_given(session, ticket_id=id_of(ticket)),
        centre_offline_since=offline_since(session, centre=centre, now=now),
    )


def offline_since(session: Session, *, centre: Centre, now: datetime) -> datetime | None:
    """When the central last heard from the centre's node, if that was too long ago to trust what it
    holds of the centre's queue; None for a centre the central serves itself, or a node online."""
    if id_of(centre) not in organisation(session).node_centres:
        return None
    state = link_state(session, centre_id=id_of(centre), now=now)
    return None if state.online else state.last_contact_at


def ticket_views(
    session: Session, tickets: Sequence[Ticket], *, policy: PolicyConfig, base_url: str, now: datetime
) -> dict[str, TicketOut]:
    """The holders' views of many tickets (by token), each as `ticket_view` gives it, their standings
    worked out together (queueing/waits.py, `standings`)."""
    centres = organisation(session).centres_by_id
    places = standings(session, tickets=tickets, policy=policy, now=now)
    return {
        ticket.token: ticket_view(
            session,
            ticket,
            centre=centres[ticket.centre_id],
            policy=policy,
            base_url=base_url,
            now=now,
            place=places.get(id_of(ticket)),
        )
        for ticket in tickets
    }


def recent_calls(session: Session, *, centre_id: int, limit: int = 8) -> Sequence[Event]:
    """The centre's latest calls and recalls, newest first."""
    return session.exec(
        select(Event)
        .where(Event.centre_id == centre_id, col(Event.type).in_(CALL_EVENTS))
        .order_by(col(Event.seq).desc())
        .limit(limit)
    ).all()


def was_called(session: Session, *, centre: Centre, number: str, counter: int, now: datetime) -> bool:
    """Whether ticket `number` of the centre's day (at `now`) was called or recalled to counter `counter`."""
    day = hours.local_day(now, timezone=centre.timezone)
    call = session.exec(
        select(Event.id)
        .join(Ticket, col(Ticket.id) == Event.ticket_id)
        .join(Counter, col(Counter.id) == Event.counter_id)
        .where(
            Ticket.centre_id == id_of(centre),
            Ticket.day == day,
            Ticket.number == number,
            Counter.number == counter,
            col(Event.type).in_(CALL_EVENTS),
        )
        .limit(1)
    ).first()
    return call is not None
