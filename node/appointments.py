"""Appointments' way down to a centre node (docs/centre-node.md): the central owns bookings, the node
owns check-ins. The central exports its centre's appointments from today for APPOINTMENT_DAYS days,
booked or cancelled, without what only broker detection needs (the hashes of identities, browsers and
addresses); the node takes them, keeping what it decided itself (a check-in, a no-show)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from booking.models import Appointment, AppointmentStatus
from config.sql import id_of
from organisation.models import Centre

APPOINTMENT_DAYS = 7
PRIVATE = {"national_id_hash", "device_hash", "address_hash"}
TAKEN = (AppointmentStatus.BOOKED.value, AppointmentStatus.CANCELLED.value)


def export_appointments(session: Session, *, centre: Centre, now: datetime) -> dict[str, Any]:
    """The centre's appointments from the start of its day for APPOINTMENT_DAYS days, with a
    fingerprint of them all (the node asks again with it, and gets nothing when nothing changed)."""
    zone = ZoneInfo(centre.timezone)
    today = datetime.combine(now.astimezone(zone).date(), time(), tzinfo=zone)
    rows = session.exec(
        select(Appointment)
        .where(
            Appointment.centre_id == id_of(centre),
            col(Appointment.start) >= today,
            col(Appointment.start) < today + timedelta(days=APPOINTMENT_DAYS),
            col(Appointment.status).in_(TAKEN),
        )
        .order_by(col(Appointment.id))
    ).all()
    appointments = [{**a.model_dump(mode="json", exclude=PRIVATE), "ticket_id": None} for a in rows]
    fingerprint = hashlib.sha256(json.dumps(appointments, sort_keys=True).encode()).hexdigest()
    return {"fingerprint": fingerprint, "appointments": appointments}


def import_appointments(session: Session, rows: list[dict[str, Any]]) -> None:
    """The central's appointments into the node's copy: new ones added, booked ones updated (a
    cancellation, a new time); one the node has checked in or marked a no-show keeps that."""
    held = {
        a.id: a
        for a in session.exec(select(Appointment).where(col(Appointment.id).in_([r["id"] for r in rows])))
    }
    for row in rows:
        sent = Appointment.model_validate(row)
        mine = held.get(sent.id)
        if mine is None:
            session.add(sent)
        elif mine.status == AppointmentStatus.BOOKED.value:
            session.merge(sent)
