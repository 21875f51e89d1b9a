"""The booking jobs: reminders the day before, no-shows after the grace period, and the erasure of
personal data after the retention period. Each is a set of conditional updates or deduplicated
outbox rows, so it may run in every process at once."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from booking.appointments import send_appointment_sms
from booking.models import Appointment, AppointmentStatus, BookingBlock, Draw, DrawApplication
from config.sql import id_of
from eventlog.log import append_event, append_national_event
from identity.models import OtpChallenge
from organisation.models import Centre
from organisation.snapshot import organisation
from queueing.models import Feedback, Ticket
from sms_gateway.models import SmsMessage

log = logging.getLogger(__name__)
NO_SHOWS = "scheduler:no-shows"
RETENTION = "scheduler:retention"
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
    """Appointments not checked in by `grace` after their start become no-shows, each logged in its
    centre's log by the scheduler; at a centre on its own node, its node decides (docs/centre-node.md)."""
    due = session.exec(
        select(Appointment)
        .where(
            col(Appointment.status) == AppointmentStatus.BOOKED.value,
            col(Appointment.start) < now - grace,
            col(Appointment.centre_id).not_in(organisation(session).node_centres),
        )
        .with_for_update()
    ).all()
    centres = {id_of(c): c for c in session.exec(select(Centre)).all()} if due else {}
    for appointment in due:
        appointment.status = AppointmentStatus.NO_SHOW.value
        session.add(appointment)
        centre = centres[appointment.centre_id]
        append_event(
            session,
            centre_id=id_of(centre),
            centre_code=centre.code,
            type="appointment_no_show",
            actor=NO_SHOWS,
            at=now,
            data={"code": appointment.code},
        )
    if due:
        log.info("%d appointment(s) marked no-show", len(due))
    return len(due)


def erase_personal_data(session: Session, *, now: datetime, retention: timedelta) -> None:
    """Erases phones, the hashes of national IDs, browsers and addresses, blocks that ended, message
    texts and feedback comments older than the retention period, keeping the anonymous facts reports
    need (times, services, centres, statuses, segment counts, ratings)."""
    before = now - retention
    erased = {
        "appointments": session.execute(
            update(Appointment)
            .where(col(Appointment.end) < before)
            .where(
                col(Appointment.phone).is_not(None)
                | col(Appointment.national_id_hash).is_not(None)
                | col(Appointment.device_hash).is_not(None)
                | col(Appointment.address_hash).is_not(None)
            )
            .values(phone=None, national_id_hash=None, device_hash=None, address_hash=None)
        ),
        "draw_applications": session.execute(
            update(DrawApplication)
            .where(
                col(DrawApplication.draw_id).in_(select(Draw.id).where(col(Draw.last_day) < before.date()))
            )
            .where(
                col(DrawApplication.phone).is_not(None)
                | col(DrawApplication.national_id_hash).is_not(None)
                | col(DrawApplication.device_hash).is_not(None)
                | col(DrawApplication.address_hash).is_not(None)
            )
            .values(phone=None, national_id_hash=None, device_hash=None, address_hash=None)
        ),
        "blocks": session.execute(delete(BookingBlock).where(col(BookingBlock.until) < before)),
        "tickets": session.execute(
            update(Ticket)
            .where(col(Ticket.arrived_at) < before, col(Ticket.phone).is_not(None))
            .values(phone=None)
        ),
        "messages": session.execute(
            update(SmsMessage)
            .where(col(SmsMessage.created_at) < before, col(SmsMessage.phone) != ERASED)
            .values(phone=ERASED, body=ERASED, params={})
        ),
        "codes": session.execute(delete(OtpChallenge).where(col(OtpChallenge.created_at) < before)),
        # Free text, where a citizen may have written a name; the rating stays for the reports.
        "comments": session.execute(
            update(Feedback)
            .where(col(Feedback.given_at) < before, col(Feedback.comment).is_not(None))
            .values(comment=None)
        ),
    }
    counts = {what: result.rowcount for what, result in erased.items()}  # type: ignore[attr-defined]
    if any(counts.values()):
        append_national_event(
            session,
            type="personal_data_erased",
            actor=RETENTION,
            at=now,
            data={"before": before.isoformat(), **counts},
        )
    log.info("personal data before %s erased: %s", before.date().isoformat(), counts)
