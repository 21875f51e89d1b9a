"""Check-in: an appointment that arrives within its window becomes a ticket with appointment priority;
a remote ticket's holder who arrives makes it callable (queueing/presence.py)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from booking.models import Appointment, AppointmentStatus
from config.errors import Refused
from config.i18n import N_
from organisation import hours
from organisation.models import Centre, Service
from queueing.models import Ticket
from queueing.service import (
    CannotCheckIn,
    Channel,
    check_in_ticket,
    find_ticket,
    find_ticket_today,
    issue_ticket,
    phone_ends_with,
)

# Codes avoid look-alikes (0/O, 1/I/L, 2/Z, 5/S, 8/B); people may type Arabic-Indic digits.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
MANAGE_LINK = re.compile(r"/book/manage/([A-Za-z0-9_-]{16,64})/?$")
log = logging.getLogger(__name__)
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


class CheckInRefused(Refused):
    """Why an appointment cannot be checked in; `code` names the reason for the API."""

    def __init__(self, code: str, message: str, /, **params: object) -> None:
        super().__init__(message, **params)
        self.code = code
        self.http_status = 404 if code == "unknown_code" else 409


@dataclass(frozen=True)
class Window:
    """How early and how late an appointment may check in; what happens after the late limit."""

    early: timedelta
    late: timedelta
    late_becomes_walk_in: bool


def normalise_code(typed: str) -> str:
    """The code as stored: ASCII, upper case, without spaces or dashes (a scanner may add them)."""
    return typed.translate(_DIGITS).upper().replace(" ", "").replace("-", "")


def check_in(
    session: Session,
    *,
    centre: Centre,
    typed_code: str,
    window: Window,
    actor: str,
    now: datetime,
    ignore_hours: bool = False,
) -> Ticket:
    """Turns the appointment into a ticket, or raises CheckInRefused."""
    # A scanned confirmation QR carries the manage link: its last part is the appointment's token.
    scanned = MANAGE_LINK.search(typed_code.strip())
    if scanned:
        match = Appointment.token == scanned.group(1)
    else:
        match = Appointment.code == normalise_code(typed_code)
    appointment = session.exec(select(Appointment).where(match).with_for_update()).first()
    if appointment is None or appointment.centre_id != centre.id:
        raise CheckInRefused(
            "unknown_code", N_("no appointment with this code at %(centre)s"), centre=centre.code
        )
    if appointment.status == AppointmentStatus.CHECKED_IN.value:
        raise CheckInRefused("already_checked_in", N_("this appointment has already been checked in"))
    if appointment.status != AppointmentStatus.BOOKED.value:
        raise CheckInRefused(
            "appointment_not_active", N_("this appointment is %(status)s"), status=appointment.status
        )
    if now < appointment.start - window.early:
        opens = (appointment.start - window.early).astimezone(ZoneInfo(centre.timezone))
        raise CheckInRefused(
            "too_early", N_("too early: check-in opens at %(time)s"), time=opens.strftime("%H:%M")
        )
    late = now > appointment.start + window.late
    if late and not window.late_becomes_walk_in:
        raise CheckInRefused("too_late", N_("too late for this appointment; please book again"))
    service = session.get(Service, appointment.service_id)
    assert service is not None
    ticket = issue_ticket(
        session,
        centre=centre,
        service=service,
        channel=Channel.APPOINTMENT,
        actor=actor,
        now=now,
        phone=appointment.phone,
        language=appointment.language,
        # Late arrivals queue like walk-ins; on time, they go first once their time has come.
        appointment_at=None if late else appointment.start,
        ignore_hours=ignore_hours or (not late and _kept_promise(appointment, centre)),
    )
    appointment.status = AppointmentStatus.CHECKED_IN.value
    appointment.checked_in_at = now
    appointment.ticket_id = ticket.id
    session.add(appointment)
    return ticket


def _kept_promise(appointment: Appointment, centre: Centre) -> bool:
    """An appointment booked before the centre's hours changed and left outside them: it is served
    all the same (supervision/opening_hours.py), so the hours do not refuse its check-in. A closed
    day still does: its appointments were cancelled when it was closed."""
    day = appointment.start.astimezone(ZoneInfo(centre.timezone)).date()
    return day.isoformat() not in centre.holidays and not hours.covers(
        appointment.start, appointment.end, hours=centre.opening_hours, timezone=centre.timezone
    )


def check_in_remote(
    session: Session, *, centre: Centre, token: str, actor: str, now: datetime, grace: timedelta
) -> Ticket:
    """A remote ticket's holder scanned its tracker QR at the kiosk: the ticket may now be called."""
    ticket = find_ticket(session, token=token)
    if ticket is None or ticket.centre_id != centre.id:
        raise CheckInRefused(
            "unknown_code", N_("no ticket with the scanned link at %(centre)s"), centre=centre.code
        )
    return _arrived(session, ticket=ticket, centre=centre, actor=actor, now=now, grace=grace)


def check_in_by_number(
    session: Session,
    *,
    centre: Centre,
    number: str,
    phone_last4: str,
    actor: str,
    now: datetime,
    grace: timedelta,
) -> Ticket:
    """A remote ticket's holder typed its number and the last four digits of its phone at the kiosk.
    A wrong phone is answered as an unknown number: the kiosk tells nothing about either."""
    ticket = find_ticket_today(session, centre=centre, number=number, now=now)
    if ticket is None or not phone_ends_with(ticket.phone, phone_last4):
        raise CheckInRefused(
            "unknown_code",
            N_("no ticket %(number)s taken with that phone at %(centre)s today"),
            number=number,
            centre=centre.code,
        )
    return _arrived(session, ticket=ticket, centre=centre, actor=actor, now=now, grace=grace)


def _arrived(
    session: Session, *, ticket: Ticket, centre: Centre, actor: str, now: datetime, grace: timedelta
) -> Ticket:
    try:
        kept = check_in_ticket(session, ticket=ticket, centre=centre, actor=actor, now=now, grace=grace)
    except CannotCheckIn as refusal:
        raise CheckInRefused(refusal.code, refusal.template, **refusal.params) from None
    log.info("remote ticket %s checked in at %s; place kept: %s", ticket.number, centre.code, kept)
    return ticket
