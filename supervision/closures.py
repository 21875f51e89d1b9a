"""A centre closed for a day it would have opened (a power cut, the civil registry's system down, a
day of mourning): the day joins the centre's holidays, so no slot is offered and no ticket is issued
for it, and each appointment booked for it is cancelled with an SMS that says why and where to book
again. Who closed it and why is in the centre's audit chain (`day_closed`). A closed day may be
reopened (`day_reopened`); what its closure cancelled stays cancelled.

The holidays are part of the organisation: the change bumps its version, so every process sees the
closure on its next request (organisation/snapshot.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from booking.appointments import BookingRefused, cancel
from booking.models import Appointment, AppointmentStatus
from config.errors import Refused
from config.i18n import N_
from config.sql import id_of
from eventlog.log import append_event
from eventlog.models import Event
from organisation.models import Centre
from supervision.reports import local_days

log = logging.getLogger(__name__)
MAX_AHEAD = timedelta(days=366)  # a closure is for a day of the coming year


class ClosureRefused(Refused):
    code = "closure_refused"
    http_status = 422


@dataclass(frozen=True)
class Closed:
    day: date
    cancelled: int


def booked_on(session: Session, *, centre: Centre, day: date) -> int:
    """How many appointments are booked at the centre for `day`: what a closure would cancel."""
    start, end = local_days(day, day, centre.timezone)
    return session.exec(
        select(func.count())
        .select_from(Appointment)
        .where(
            Appointment.centre_id == id_of(centre),
            Appointment.status == AppointmentStatus.BOOKED.value,
            col(Appointment.start) >= start,
            col(Appointment.start) < end,
        )
    ).one()


def close_day(
    session: Session, *, centre: Centre, day: date, reason: str, actor: str, book_url: str, now: datetime
) -> Closed:
    """Closes the centre on `day` (today or a later day within a year) and cancels that day's
    appointments, each holder told by SMS; ClosureRefused for a past day or one closed already."""
    today = now.astimezone(ZoneInfo(centre.timezone)).date()
    if day < today or day - today > MAX_AHEAD:
        raise ClosureRefused(
            N_("field 'day': a closure is for today or a day of the coming year, not %(day)s"),
            day=day.isoformat(),
        )
    # The centre's row, locked and read afresh: two closures at once must not lose one another's day.
    holidays = session.exec(
        select(Centre.holidays).where(col(Centre.id) == id_of(centre)).with_for_update()
    ).one()
    if day.isoformat() in holidays:
        raise ClosureRefused(N_("field 'day': %(day)s is closed already"), day=day.isoformat())
    session.execute(
        update(Centre)
        .where(col(Centre.id) == id_of(centre))
        .values(holidays=sorted([*holidays, day.isoformat()]))
    )
    start, end = local_days(day, day, centre.timezone)
    booked = session.exec(
        select(Appointment).where(
            Appointment.centre_id == id_of(centre),
            Appointment.status == AppointmentStatus.BOOKED.value,
            col(Appointment.start) >= start,
            col(Appointment.start) < end,
        )
    ).all()
    cancelled = 0
    for appointment in booked:
        try:
            cancel(session, appointment=appointment, centre=centre, now=now, sms="closure", link=book_url)
        except BookingRefused:  # its holder cancelled it a moment ago
            continue
        cancelled += 1
    append_event(
        session,
        centre_id=id_of(centre),
        centre_code=centre.code,
        type="day_closed",
        actor=actor,
        at=now,
        data={"day": day.isoformat(), "reason": reason, "cancelled": cancelled},
    )
    log.info("%s closed on %s by %s: %d appointments cancelled", centre.code, day, actor, cancelled)
    return Closed(day=day, cancelled=cancelled)


def reopen_day(
    session: Session, *, centre: Centre, day: date, reason: str, actor: str, now: datetime
) -> None:
    """Opens again a closed day (a closure or a holiday) from today on, logged as `day_reopened`; its
    slots are offered again. The appointments its closure cancelled stay cancelled: their holders were
    told, and may book again. ClosureRefused for a past day or one not closed."""
    today = now.astimezone(ZoneInfo(centre.timezone)).date()
    if day < today:
        raise ClosureRefused(
            N_("path parameter 'day': %(day)s is past; only today or a later day is reopened"),
            day=day.isoformat(),
        )
    holidays = session.exec(
        select(Centre.holidays).where(col(Centre.id) == id_of(centre)).with_for_update()
    ).one()
    if day.isoformat() not in holidays:
        raise ClosureRefused(N_("path parameter 'day': %(day)s is not closed"), day=day.isoformat())
    session.execute(
        update(Centre)
        .where(col(Centre.id) == id_of(centre))
        .values(holidays=[kept for kept in holidays if kept != day.isoformat()])
    )
    append_event(
        session,
        centre_id=id_of(centre),
        centre_code=centre.code,
        type="day_reopened",
        actor=actor,
        at=now,
        data={"day": day.isoformat(), "reason": reason},
    )
    log.info("%s reopened on %s by %s", centre.code, day, actor)


def reasons(session: Session, *, centre: Centre) -> dict[str, str]:
    """Why each day was closed, by day (the latest closure of a day wins)."""
    rows = session.exec(
        select(Event.data)
        .where(Event.centre_id == id_of(centre), Event.type == "day_closed")
        .order_by(col(Event.seq))
    ).all()
    return {data["day"]: data["reason"] for data in rows}
