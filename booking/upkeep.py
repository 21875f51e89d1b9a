"""The booking jobs: reminders the day before, no-shows after the grace period, and the erasure of
personal data after the retention period. Each is a set of conditional updates or deduplicated
outbox rows, so it may run in every process at once."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from booking.appointments import send_appointment_sms
from booking.models import Appointment, AppointmentStatus
from queueing.models import Centre, OtpChallenge, Ticket
from sms_gateway.models import SmsMessage

log = logging.getLogger(__name__)
REMINDER_AHEAD = timedelta(hours=24)
ERASED = ""


def send_reminders(session: Session, *, now: datetime, base_url: str) -> int:
    """Queues the reminder, with its cancel link, of every appointment starting within 24 hours that
    was booked before that (a booking made the day before has its confirmation); once each."""
    soon = session.exec(
        select(Appointment).where(
            Appointment.status == AppointmentStatus.BOOKED.value,
            col(Appointment.start) > now,
            col(Appointment.start) <= now + REMINDER_AHEAD,
            col(Appointment.phone).is_not(None),
        )
    ).all()
    due = [a for a in soon if a.created_at < a.start - REMINDER_AHEAD]
    for appointment in due:
        centre = session.get(Centre, appointment.centre_id)
        assert centre is not None
        link = f"{base_url}/book/manage/{appointment.token}"
        send_appointment_sms(session, appointment, centre, "reminder", now, link=link)
    return len(due)


def mark_no_shows(session: Session, *, now: datetime, grace: timedelta) -> int:
    """Appointments not checked in by `grace` after their start become no-shows."""
    result = session.execute(
        update(Appointment)
        .where(
            col(Appointment.status) == AppointmentStatus.BOOKED.value,
            col(Appointment.start) < now - grace,
        )
        .values(status=AppointmentStatus.NO_SHOW.value)
    )
    count: int = result.rowcount  # type: ignore[attr-defined]
    if count:
        log.info("%d appointment(s) marked no-show", count)
    return count


def erase_personal_data(session: Session, *, now: datetime, retention: timedelta) -> None:
    """Erases phones, national-ID hashes and message texts older than the retention period, keeping
    the anonymous facts reports need (times, services, centres, statuses, segment counts)."""
    before = now - retention
    session.execute(
        update(Appointment)
        .where(col(Appointment.end) < before)
        .where(col(Appointment.phone).is_not(None) | col(Appointment.national_id_hash).is_not(None))
        .values(phone=None, national_id_hash=None)
    )
    session.execute(
        update(Ticket)
        .where(col(Ticket.arrived_at) < before, col(Ticket.phone).is_not(None))
        .values(phone=None)
    )
    session.execute(
        update(SmsMessage)
        .where(col(SmsMessage.created_at) < before, col(SmsMessage.phone) != ERASED)
        .values(phone=ERASED, body=ERASED, params={})
    )
    session.execute(delete(OtpChallenge).where(col(OtpChallenge.created_at) < before))
    log.info("personal data before %s erased", before.date().isoformat())
