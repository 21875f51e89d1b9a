"""Changing a centre's week of opening hours (organisation/week.py), with who and why in the
centre's audit chain (`hours_changed`, the week before and after).

A promise made is kept: appointments already booked that the new hours no longer cover stay booked,
their holders are served (check-in takes them: booking/checkin.py), and the new week shapes only the
slots offered from now on. Before saving, the manager sees how many such appointments there are, day
by day (`outside_hours`), and closes those days instead if the centre cannot serve them
(supervision/closures.py). The week is part of the organisation: the change bumps its version, so
every process offers the new slots on its next request (organisation/snapshot.py)."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, select

from booking.models import Appointment, AppointmentStatus
from config.sql import id_of
from eventlog.log import append_event
from organisation.hours import Spans, covers
from organisation.models import Centre
from organisation.week import Week

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outside:
    """The appointments booked from now on that a week's hours do not cover, by local day."""

    days: dict[date, int]

    @property
    def total(self) -> int:
        return sum(self.days.values())


@dataclass(frozen=True)
class HoursChanged:
    week: Week
    changed: bool
    outside: Outside


def outside_hours(session: Session, *, centre: Centre, hours: Spans, now: datetime) -> Outside:
    """The centre's booked appointments from `now` on that the week's `hours` would not cover,
    counted by day."""
    booked = session.exec(
        select(Appointment.start, Appointment.end).where(
            Appointment.centre_id == id_of(centre),
            Appointment.status == AppointmentStatus.BOOKED.value,
            col(Appointment.start) >= now,
        )
    ).all()
    zone = ZoneInfo(centre.timezone)
    days = Counter(
        start.astimezone(zone).date()
        for start, end in booked
        if not covers(start, end, hours=hours, timezone=centre.timezone)
    )
    return Outside(days=dict(sorted(days.items())))


def change_hours(
    session: Session, *, centre: Centre, week: Week, reason: str, actor: str, now: datetime
) -> HoursChanged:
    """Sets the centre's week and logs it as `hours_changed` (who, why, from, to, and how many
    booked appointments it leaves outside its hours, kept). The same week as now: nothing logged."""
    # The centre's row, locked and read afresh: the log's "from" is the week this change replaced.
    before = session.exec(
        select(Centre.opening_hours).where(col(Centre.id) == id_of(centre)).with_for_update()
    ).one()
    after = week.opening_hours()
    outside = outside_hours(session, centre=centre, hours=after, now=now)
    if {day: sorted(spans) for day, spans in before.items() if spans} == after:
        return HoursChanged(week=week, changed=False, outside=outside)
    session.execute(update(Centre).where(col(Centre.id) == id_of(centre)).values(opening_hours=after))
    append_event(
        session,
        centre_id=id_of(centre),
        centre_code=centre.code,
        type="hours_changed",
        actor=actor,
        at=now,
        data={"reason": reason, "from": before, "to": after, "outside": outside.total},
    )
    log.info("%s: opening hours changed by %s; %d booked outside them", centre.code, actor, outside.total)
    return HoursChanged(week=week, changed=True, outside=outside)
