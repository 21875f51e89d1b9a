"""The organisation's way down to a centre node (docs/centre-node.md): what the central exports for
one centre, and how the node makes its copy match it.

A node sees only its centre: the centre, the catalogue of services, its offers, counters and queues,
the staff who work there (with their password hashes, so that they can sign in while the link is
down) and its kiosks and displays. The rows keep the central's ids, so that what the node logs names
the same rows at the central.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, SQLModel, col, delete, select

from config.sql import id_of
from eventlog.log import log_serial
from eventlog.models import Event
from eventlog.serials import set_value
from node.intake import COUNTER_STATE
from organisation.models import (
    Centre,
    CentreService,
    Counter,
    CounterService,
    Device,
    DeviceKind,
    Service,
    Staff,
    StaffCentre,
)
from organisation.snapshot import organisation
from queueing.models import Ticket

Row = dict[str, Any]


def export(session: Session, *, centre: Centre) -> dict[str, Any]:
    """The organisation as the centre's node needs it, with its version; and the centre's log head
    entry (with its ticket), which a new node's log continues from."""
    centre_id = id_of(centre)
    known = organisation(session)
    counters = session.exec(select(Counter).where(Counter.centre_id == centre_id)).all()
    counter_ids = [id_of(c) for c in counters]
    staff_ids = [s for s, centres in known.staff_centres.items() if centre_id in centres]
    head = session.exec(
        select(Event).where(Event.centre_id == centre_id).order_by(col(Event.seq).desc()).limit(1)
    ).first()
    ticket = session.get(Ticket, head.ticket_id) if head and head.ticket_id else None
    return {
        "version": known.version or 0,
        "centre": _row(centre),
        "services": [_row(s) for s in known.services.values()],
        "offers": [_row(o) for (c, _s), o in known.offers.items() if c == centre_id],
        "counters": [_row(c, exclude=set(COUNTER_STATE)) for c in counters],
        "queues": [
            _row(q)
            for q in session.exec(
                select(CounterService).where(col(CounterService.counter_id).in_(counter_ids))
            )
        ],
        "staff": [_row(known.staff[s]) for s in staff_ids],
        "staff_centres": [{"staff_id": s, "centre_id": centre_id} for s in staff_ids],
        "devices": [
            _row(d)
            for d in session.exec(select(Device).where(Device.centre_id == centre_id))
            if d.kind != DeviceKind.NODE.value
        ],
        "log": {"entry": _row(head) if head else None, "ticket": _row(ticket) if ticket else None},
    }


def _row(row: SQLModel, *, exclude: set[str] | None = None) -> Row:
    return row.model_dump(mode="json", exclude=exclude)


def import_organisation(session: Session, exported: dict[str, Any]) -> None:
    """Makes the node's organisation the exported one: rows added or changed by id, and the links
    (offers, queues, staff's centres) the central no longer has removed. A counter's state stays the
    node's own. The node's first import also takes the log's head entry, to chain from it."""
    centre = Centre.model_validate(exported["centre"])
    centre_id = id_of(centre)
    for row in exported["services"]:
        session.merge(Service.model_validate(row))
    session.merge(centre)
    session.flush()
    _replace(session, CentreService, CentreService.centre_id == centre_id, exported["offers"])
    for row in exported["counters"]:
        held = session.get(Counter, row["id"])
        if held is None:
            session.add(Counter.model_validate(row))
        else:
            held.number, held.label = row["number"], row["label"]
            session.add(held)
    session.flush()
    for row in exported["staff"]:
        session.merge(Staff.model_validate(row))
    session.flush()
    counter_ids = [row["id"] for row in exported["counters"]]
    _replace(session, CounterService, col(CounterService.counter_id).in_(counter_ids), exported["queues"])
    _replace(session, StaffCentre, StaffCentre.centre_id == centre_id, exported["staff_centres"])
    for row in exported["devices"]:
        session.merge(Device.model_validate(row))
    _continue_log(session, centre_id=centre_id, log=exported["log"])


def _replace(session: Session, model: Any, where: Any, rows: list[Row]) -> None:
    session.execute(delete(model).where(where))
    session.flush()
    for row in rows:
        session.add(model.model_validate(row))
    session.flush()


def _continue_log(session: Session, *, centre_id: int, log: dict[str, Any]) -> None:
    """A node whose log is empty takes the central's head entry, so that its first entry follows it."""
    entry = log.get("entry")
    if entry is None or session.exec(select(Event.id).where(Event.centre_id == centre_id).limit(1)).first():
        return
    if log.get("ticket"):
        session.merge(Ticket.model_validate(log["ticket"]))
        session.flush()
    session.add(Event.model_validate(entry))
    set_value(session, name=log_serial(centre_id), value=entry["seq"])
