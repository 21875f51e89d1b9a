"""What other packages (display, booking) use of queueing: a narrow facade over the engine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from queueing import hours
from queueing.admin_api import centre_report, managed_read
from queueing.capacity import capacity, places_by_demand
from queueing.catalogue import find_centre, find_service, list_centres, service_code, services_of
from queueing.control_api import managed_change
from queueing.engine import check_in_ticket, issue_ticket
from queueing.events import centre_channel
from queueing.hours import Spans, spans_on
from queueing.idempotency import MAX_KEY_LENGTH, KeyReused, fingerprint, remember, replay
from queueing.models import Centre, Counter, Event, Service, Ticket, id_of
from queueing.otp import OtpRules, Purpose, Verdict, check_code
from queueing.otp_api import otp_rules, phone_field
from queueing.phones import to_ascii_digits
from queueing.policy import PolicyConfig
from queueing.presence import CannotCheckIn, scanned_token
from queueing.recommendations import Option, distance_km
from queueing.schemas import CentreStatus, NowServing, ServiceStatus, TicketOut
from queueing.states import ACTIVE, TicketStatus
from queueing.throttle import Limit, clear, record_failure, retry_after
from queueing.tickets import (
    Channel,
    find_ticket,
    intake_open,
    open_counters_serving,
    waiting_candidates,
)
from queueing.waits import Standing, standing, wait_model
from queueing.web import credentials, now, policy_config, require_device

__all__ = [
    "MAX_KEY_LENGTH",
    "CannotCheckIn",
    "Channel",
    "KeyReused",
    "Limit",
    "OtpRules",
    "Purpose",
    "Spans",
    "Verdict",
    "capacity",
    "centre_channel",
    "centre_options",
    "centre_report",
    "centre_status",
    "check_code",
    "check_in_ticket",
    "clear",
    "credentials",
    "event_message",
    "events_since",
    "find_centre",
    "find_service",
    "find_ticket",
    "fingerprint",
    "issue_ticket",
    "last_seq",
    "list_centres",
    "managed_change",
    "managed_read",
    "now",
    "otp_rules",
    "phone_field",
    "places_by_demand",
    "policy_config",
    "recent_calls",
    "record_failure",
    "remember",
    "replay",
    "require_device",
    "retry_after",
    "scanned_token",
    "services_of",
    "spans_on",
    "ticket_view",
    "to_ascii_digits",
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


def centre_options(
    session: Session,
    *,
    service: Service,
    at: tuple[float | None, float | None],
    now: datetime,
    always_open: bool,
) -> list[Option]:
    """Every centre offering the service, with its distance from `at` (lat, lon; unknown: None) and
    its predicted wait now: what /api/v1/recommendations ranks (the simulator asks the same)."""
    lat, lon = at
    options = []
    for centre in list_centres(session):
        status = centre_status(session, centre=centre, now=now, always_open=always_open)
        row = next((r for r in status.services if r.code == service.code), None)
        if row is None:
            continue  # the centre does not offer it
        distance = None
        if lat is not None and lon is not None:
            distance = round(distance_km(lat, lon, centre.latitude, centre.longitude), 1)
        options.append(Option(centre.code, distance, row.estimated_wait_s, status.open and row.intake_open))
    return options


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
        place = place or standing(session, ticket=ticket, policy=policy, now=now)
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
        tracking_url=f"{base_url}/t/{ticket.token}",
        away=ticket.away,
        counter=counter.number if counter else None,
        issued_at=ticket.issued_at,
    )


def event_message(event: Event, *, centre_code: str) -> dict[str, Any]:
    """The bus/websocket form of a logged event (the same as what was published after commit)."""
    return {
        "seq": event.seq,
        "type": event.type,
        "centre": centre_code,
        "at": event.at.isoformat(),
        **event.data,
    }


def events_since(session: Session, *, centre_id: int, after_seq: int, limit: int = 500) -> Sequence[Event]:
    """The centre's events after `after_seq`, in order."""
    return session.exec(
        select(Event)
        .where(Event.centre_id == centre_id, Event.seq > after_seq)
        .order_by(col(Event.seq))
        .limit(limit)
    ).all()


def last_seq(session: Session, *, centre_id: int) -> int:
    """The centre's newest event seq (0 when it has none)."""
    newest = session.exec(
        select(Event.seq).where(Event.centre_id == centre_id).order_by(col(Event.seq).desc()).limit(1)
    ).first()
    return newest or 0


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
