"""A centre's event log as the audit screen reads it: searched by local day, ticket number, staff
member and kind, newest first, a page at a time."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from config.i18n import N_
from config.schemas import Day, Strict
from config.sql import id_of
from eventlog.models import Event
from organisation.models import Centre, Counter
from queueing.models import Ticket
from supervision.reports import local_days


class Kind(StrEnum):
    """The kinds of event a centre's log holds (the national log's are not a centre's)."""

    ISSUED = "issued"
    CALLED = "called"
    RECALLED = "recalled"
    STARTED = "started"
    FINISHED = "finished"
    NO_SHOW = "no_show"
    TRANSFERRED = "transferred"
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"
    MOVED_BACK = "moved_back"
    MOVED = "moved"
    COUNTER_OPENED = "counter_opened"
    COUNTER_CLOSED = "counter_closed"
    COUNTER_PAUSED = "counter_paused"
    COUNTER_RESUMED = "counter_resumed"
    COUNTER_SERVICES_CHANGED = "counter_services_changed"
    QUEUE_ROLE_CHANGED = "queue_role_changed"
    AUTO_BALANCE_CHANGED = "auto_balance_changed"
    NO_SHOW_POLICY_CHANGED = "no_show_policy_changed"
    BOOKING_SETTINGS_CHANGED = "booking_settings_changed"
    INTAKE_STOPPED = "intake_stopped"
    INTAKE_REOPENED = "intake_reopened"
    APPOINTMENT_VOIDED = "appointment_voided"
    APPOINTMENT_NO_SHOW = "appointment_no_show"
    IDENTITY_BLOCKED = "identity_blocked"
    BLOCK_LIFTED = "block_lifted"
    DEVICE_REGISTERED = "device_registered"
    DEVICE_REVOKED = "device_revoked"
    DEVICE_PRINTER_SET = "device_printer_set"
    DAY_CLOSED = "day_closed"
    DAY_REOPENED = "day_reopened"
    HOURS_CHANGED = "hours_changed"


# What each kind is called on the audit screen and in its CSV.
KIND_NAMES: dict[Kind, str] = {
    Kind.ISSUED: N_("Ticket issued"),
    Kind.CALLED: N_("Called"),
    Kind.RECALLED: N_("Called again"),
    Kind.STARTED: N_("Service started"),
    Kind.FINISHED: N_("Service finished"),
    Kind.NO_SHOW: N_("Did not come"),
    Kind.TRANSFERRED: N_("Transferred"),
    Kind.CANCELLED: N_("Ticket cancelled"),
    Kind.CHECKED_IN: N_("Checked in"),
    Kind.MOVED_BACK: N_("Running late: moved back"),
    Kind.MOVED: N_("Moved to another service by a supervisor"),
    Kind.COUNTER_OPENED: N_("Counter opened"),
    Kind.COUNTER_CLOSED: N_("Counter closed"),
    Kind.COUNTER_PAUSED: N_("Counter paused"),
    Kind.COUNTER_RESUMED: N_("Counter resumed"),
    Kind.COUNTER_SERVICES_CHANGED: N_("Counter's services changed"),
    Kind.QUEUE_ROLE_CHANGED: N_("Backup queue taken up or let go"),
    Kind.AUTO_BALANCE_CHANGED: N_("Automatic balancing switched"),
    Kind.NO_SHOW_POLICY_CHANGED: N_("No-show rule changed"),
    Kind.BOOKING_SETTINGS_CHANGED: N_("Booking capacity settings changed"),
    Kind.INTAKE_STOPPED: N_("Intake stopped"),
    Kind.INTAKE_REOPENED: N_("Intake reopened"),
    Kind.APPOINTMENT_VOIDED: N_("Appointment voided"),
    Kind.APPOINTMENT_NO_SHOW: N_("Appointment missed"),
    Kind.IDENTITY_BLOCKED: N_("Barred from booking"),
    Kind.BLOCK_LIFTED: N_("Block lifted"),
    Kind.DEVICE_REGISTERED: N_("Device registered"),
    Kind.DEVICE_REVOKED: N_("Device revoked"),
    Kind.DEVICE_PRINTER_SET: N_("Kiosk printer set"),
    Kind.DAY_CLOSED: N_("Day closed"),
    Kind.DAY_REOPENED: N_("Day reopened"),
    Kind.HOURS_CHANGED: N_("Opening hours changed"),
}

PAGE = 100
MOST_A_PAGE = 500
MOST_A_SEQ = 2**31 - 1


class AuditQuery(Strict):
    day: Day | None = Field(default=None, description="the centre's local day")
    ticket: str | None = Field(
        default=None,
        max_length=16,
        description="a ticket number (A-042, a42, ٤٢…): every day's ticket of that number",
    )
    staff: str | None = Field(
        default=None, max_length=64, description="a staff member's username: what they did"
    )
    kind: Kind | None = None
    after_seq: int | None = Field(
        default=None, ge=1, le=MOST_A_SEQ, description="the page after this entry: entries older than it"
    )
    limit: int = Field(default=PAGE, ge=1, le=MOST_A_PAGE)


class AuditEntryOut(BaseModel):
    seq: int
    at: datetime
    kind: str
    actor: str = Field(description="staff:<username>, device:<id>, citizen, or a job's name")
    ticket: str | None = Field(description="the ticket's number")
    counter: int | None = Field(description="the counter's number")
    data: dict[str, Any]


class AuditPageOut(BaseModel):
    entries: list[AuditEntryOut] = Field(description="newest first")
    next_after_seq: int | None = Field(description="`after_seq` of the next page; null on the last")


def search(
    session: Session,
    *,
    centre: Centre,
    day: date | None = None,
    ticket: str | None = None,
    actor: str | None = None,
    kind: Kind | None = None,
    after_seq: int | None = None,
    limit: int = PAGE,
) -> AuditPageOut:
    """The centre's entries that match every filter given, newest first; `ticket` is a number as
    numbering writes it (A-042), `actor` as the log writes it (staff:agent1)."""
    centre_id = id_of(centre)
    query = (
        select(Event, Ticket.number, Counter.number)
        .outerjoin(Ticket, col(Ticket.id) == col(Event.ticket_id))
        .outerjoin(Counter, col(Counter.id) == col(Event.counter_id))
        .where(Event.centre_id == centre_id)
    )
    if day is not None:
        start, end = local_days(day, day, centre.timezone)
        query = query.where(col(Event.at) >= start, col(Event.at) < end)
    if ticket is not None:
        # Numbers start again every day: each day's ticket of that number, by the ticket's index.
        tickets = select(Ticket.id).where(Ticket.centre_id == centre_id, Ticket.number == ticket)
        if day is not None:
            tickets = tickets.where(Ticket.day == day)
        query = query.where(col(Event.ticket_id).in_(tickets))
    if actor is not None:
        query = query.where(Event.actor == actor)
    if kind is not None:
        query = query.where(Event.type == kind.value)
    if after_seq is not None:
        query = query.where(col(Event.seq) < after_seq)
    # With a day, its few thousand entries are found by (centre_id, at) and sorted: ordering by the
    # bare seq would let PostgreSQL walk the (centre_id, seq) index back from today instead, through
    # every entry since the day asked for (0.3 s for a day half a year back; docs/operations.md).
    # Without a day, a staff member or a kind is read newest first from (centre_id, actor, seq) or
    # (centre_id, type, seq), however few entries it has.
    newest_first = (col(Event.seq) + 0 if day is not None else col(Event.seq)).desc()
    rows = session.exec(query.order_by(newest_first).limit(limit + 1)).all()
    entries = [
        AuditEntryOut(
            seq=event.seq,
            at=event.at,
            kind=event.type,
            actor=event.actor,
            ticket=number,
            counter=counter,
            data=event.data,
        )
        for event, number, counter in rows[:limit]
    ]
    more = len(rows) > limit
    return AuditPageOut(entries=entries, next_after_seq=entries[-1].seq if more else None)
