"""Issuing and cancelling tickets, and where a ticket stands in its queue."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from queueing import hours
from queueing.errors import CentreClosed, IntakeStopped, NotForWalkIn, ServiceNotOffered
from queueing.events import append_event
from queueing.models import Centre, CentreService, Counter, CounterService, Service, Ticket, id_of
from queueing.numbering import allocate_number
from queueing.policy import Candidate, PolicyConfig, Priority, ordered
from queueing.states import Move, TicketStatus, next_status


class Channel:
    KIOSK = "kiosk"
    REMOTE = "remote"
    APPOINTMENT = "appointment"
    STAFF = "staff"


TOKEN_BYTES = 24  # 192 bits: unguessable tracking tokens


def issue_ticket(
    session: Session,
    *,
    centre: Centre,
    service: Service,
    channel: str,
    actor: str,
    now: datetime,
    priority: Priority = Priority.NONE,
    phone: str | None = None,
    language: str = "ar",
    appointment_at: datetime | None = None,
    ignore_hours: bool = False,
) -> Ticket:
    """A new waiting ticket with the next number of its queue; refuses a closed centre."""
    centre_id, service_id = id_of(centre), id_of(service)
    offered = session.get(CentreService, (centre_id, service_id))
    if offered is None:
        raise ServiceNotOffered(f"{centre.code} does not offer {service.code}")
    if channel != Channel.APPOINTMENT and not service.walk_in:
        raise NotForWalkIn(f"{service.code} is by appointment only")
    if not ignore_hours and not hours.is_open(
        now, hours=centre.opening_hours, holidays=centre.holidays, timezone=centre.timezone
    ):
        opening = hours.next_opening(
            now, hours=centre.opening_hours, holidays=centre.holidays, timezone=centre.timezone
        )
        when = opening.isoformat() if opening else "not within 30 days"
        raise CentreClosed(f"{centre.code} is closed; it next opens {when}", next_opening=opening)
    day = hours.local_day(now, timezone=centre.timezone)
    if offered.intake_stopped_on == day and channel != Channel.APPOINTMENT:
        raise IntakeStopped(f"{service.code} takes no more tickets today at {centre.code}")
    ticket = Ticket(
        centre_id=centre_id,
        service_id=service_id,
        day=day,
        number=allocate_number(session, centre_id=centre_id, prefix=service.prefix, day=day),
        token=secrets.token_urlsafe(TOKEN_BYTES),
        status=TicketStatus.WAITING.value,
        channel=channel,
        priority=priority.value,
        phone=phone,
        language=language,
        arrived_at=now,
        issued_at=now,
        appointment_at=appointment_at,
    )
    session.add(ticket)
    session.flush()
    append_event(
        session,
        centre_id=centre_id,
        centre_code=centre.code,
        type="issued",
        actor=actor,
        at=now,
        ticket_id=id_of(ticket),
        data={
            "number": ticket.number,
            "service": service.code,
            "channel": channel,
            "priority": priority.value,
        },
    )
    return ticket


def cancel_ticket(session: Session, *, ticket: Ticket, centre: Centre, actor: str, now: datetime) -> None:
    """The citizen leaves the queue (waiting or called)."""
    ticket.status = next_status(TicketStatus(ticket.status), Move.CANCEL).value
    counter_id = ticket.counter_id
    ticket.counter_id = None
    ticket.ended_at = now
    session.add(ticket)
    append_event(
        session,
        centre_id=centre.id or 0,
        centre_code=centre.code,
        type="cancelled",
        actor=actor,
        at=now,
        ticket_id=id_of(ticket),
        counter_id=counter_id,
        data={"number": ticket.number},
    )


def find_ticket(session: Session, *, token: str) -> Ticket | None:
    """The ticket with this tracking token."""
    return session.exec(select(Ticket).where(Ticket.token == token)).first()


def waiting_candidates(session: Session, *, centre_id: int, service_ids: Sequence[int]) -> list[Candidate]:
    """The waiting tickets of some queues of a centre, as the policy sees them."""
    columns = (Ticket.id, Ticket.service_id, Ticket.arrived_at, Ticket.priority, Ticket.appointment_at)
    rows = session.execute(
        sa_select(*(col(c) for c in columns)).where(
            col(Ticket.centre_id) == centre_id,
            col(Ticket.status) == TicketStatus.WAITING.value,
            col(Ticket.service_id).in_(service_ids),
        )
    ).all()
    return [
        Candidate(ticket_id=i or 0, service_id=s, arrived_at=a, priority=Priority(p), appointment_at=ap)
        for i, s, a, p, ap in rows
    ]


def anyone_waiting(session: Session, *, centre_id: int, service_ids: Sequence[int]) -> bool:
    """Whether any ticket waits in these queues of the centre (one indexed lookup)."""
    first = session.exec(
        select(Ticket.id)
        .where(
            Ticket.centre_id == centre_id,
            Ticket.status == TicketStatus.WAITING.value,
            col(Ticket.service_id).in_(service_ids),
        )
        .limit(1)
    ).first()
    return first is not None


@dataclass(frozen=True)
class Standing:
    """Where a waiting ticket stands: people ahead and the estimated wait."""

    ahead: int
    estimated_wait_s: int


def open_counters_serving(session: Session, *, centre_id: int, service_id: int) -> int:
    """How many counters of the centre are open and serve this service."""
    return session.exec(
        select(func.count())
        .select_from(Counter)
        .join(CounterService, col(CounterService.counter_id) == Counter.id)
        .where(Counter.centre_id == centre_id, col(Counter.is_open), CounterService.service_id == service_id)
    ).one()


def estimate_wait_s(*, ahead: int, open_counters: int, mean_service_s: int) -> int:
    """Queue-length estimate: people ahead / counters serving x mean service time."""
    return round(ahead / max(open_counters, 1) * mean_service_s)


def standing(
    session: Session, *, ticket: Ticket, service: Service, policy: PolicyConfig, now: datetime
) -> Standing:
    """People ahead of a waiting ticket in its service queue, in the policy's order, and the wait."""
    queue = ordered(
        waiting_candidates(session, centre_id=ticket.centre_id, service_ids=[ticket.service_id]),
        weights={ticket.service_id: 1.0},
        now=now,
        config=policy,
    )
    ahead = next((i for i, c in enumerate(queue) if c.ticket_id == ticket.id), 0)
    counters = open_counters_serving(session, centre_id=ticket.centre_id, service_id=ticket.service_id)
    return Standing(
        ahead, estimate_wait_s(ahead=ahead, open_counters=counters, mean_service_s=service.mean_service_s)
    )


def set_intake(
    session: Session, *, centre: Centre, service: Service, open_: bool, actor: str, now: datetime
) -> None:
    """Stops (or reopens) walk-in intake of a service at a centre for the rest of the local day."""
    offered = session.get(CentreService, (id_of(centre), id_of(service)))
    if offered is None:
        raise ServiceNotOffered(f"{centre.code} does not offer {service.code}")
    offered.intake_stopped_on = None if open_ else hours.local_day(now, timezone=centre.timezone)
    session.add(offered)
    append_event(
        session,
        centre_id=id_of(centre),
        centre_code=centre.code,
        type="intake_reopened" if open_ else "intake_stopped",
        actor=actor,
        at=now,
        data={"service": service.code},
    )


def intake_open(session: Session, *, centre: Centre, service: Service, now: datetime) -> bool:
    """Whether the service takes walk-in tickets at the centre now (intake not stopped today)."""
    offered = session.get(CentreService, (id_of(centre), id_of(service)))
    return offered is not None and offered.intake_stopped_on != hours.local_day(now, timezone=centre.timezone)
