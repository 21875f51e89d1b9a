"""The event log: every change of a ticket or counter is a row, written in the caller's transaction,
then announced on the bus once that transaction has committed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, insert, literal_column
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from config.db import CommitHook
from config.metrics import TICKETS_CALLED, TICKETS_ISSUED, WAIT_SECONDS
from eventlog.bus import Message, Publisher
from eventlog.chain import GENESIS, NATIONAL, Entry, chain_hash
from eventlog.models import Event
from eventlog.serials import SERIALS, bump, dialect_of

log = logging.getLogger(__name__)
STAGED = "dor_staged_events"
PUBLISHED = "dor_events_published"  # in a session's info once a publishing hook has its events

_EVENTS = Event.__table__  # type: ignore[attr-defined]
_INSERT = insert(_EVENTS)


def _previous_hash(national: bool) -> ColumnElement[Any]:
    """The hash of the entry before the log's new head (`serial.last` once bumped)."""
    centre = _EVENTS.c.centre_id.is_(None) if national else _EVENTS.c.centre_id == bindparam("centre_id")
    return (
        sa_select(_EVENTS.c.hash)
        # The serial's column by name: in a RETURNING clause SQLAlchemy would not correlate it, and
        # would read the serial table again in the subquery.
        .where(centre, _EVENTS.c.seq == literal_column(f"{SERIALS.name}.last") - 1)
        .scalar_subquery()
    )


# Per dialect and log (a centre's: False, the national: True): the statement that moves the log's
# head and returns the new seq with the hash of the entry before it, in one round trip.
_HEAD = {
    (dialect, national): bump(dialect, _previous_hash(national))
    for dialect in ("sqlite", "postgresql")
    for national in (False, True)
}


_LOCK = sa_select(SERIALS.c.last).where(SERIALS.c.name == bindparam("name")).with_for_update()


def centre_channel(centre_code: str) -> str:
    """The bus channel of one centre's events."""
    return f"centre:{centre_code}"


def log_serial(centre_id: int | None) -> str:
    """The name of the serial that holds a log's head (None: the national log)."""
    return f"events:{centre_id if centre_id is not None else NATIONAL}"


@dataclass(frozen=True)
class Head:
    """A log's new head, taken and not yet written: its seq and the hash of the entry before it."""

    seq: int
    previous: str


def _take_head(session: Session, *, centre_id: int | None) -> Head:
    """Moves the log's head by one and returns it; the log stays locked until commit."""
    statement = _HEAD[(dialect_of(session), centre_id is None)]
    seq, previous = session.execute(statement, {"name": log_serial(centre_id), "centre_id": centre_id}).one()
    # A missing link (previous None past the first entry) shows up in `dor audit verify`.
    return Head(seq, GENESIS if seq == 1 or previous is None else previous)


def _append(
    session: Session,
    *,
    centre_id: int | None,
    type: str,
    actor: str,
    at: datetime,
    ticket_id: int | None = None,
    counter_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """Appends an event at the log's next head, chained to the entry before it (eventlog/chain.py),
    and returns its seq."""
    head = _take_head(session, centre_id=centre_id)
    data = data or {}
    entry = Entry(centre_id, head.seq, type, ticket_id, counter_id, actor, at, data, None)
    row: dict[str, Any] = {
        "centre_id": centre_id,
        "seq": head.seq,
        "type": type,
        "ticket_id": ticket_id,
        "at": at,
    }
    row.update(counter_id=counter_id, actor=actor, data=data, hash=chain_hash(head.previous, entry))
    session.execute(_INSERT, row)
    return head.seq


def lock_log(session: Session, *, centre_id: int) -> None:
    """Locks the centre's log now rather than at the first append, until commit.

    A decision made after this (a call: which ticket is first) sees every change logged before it,
    so replaying the log reproduces the decision exactly (the concurrency tests do). SQLite's
    writers run one at a time already; a log with no entry yet has no row to lock, and its first
    append creates it.
    """
    if dialect_of(session) == "postgresql":
        session.execute(_LOCK, {"name": log_serial(centre_id)})


def append_event(
    session: Session,
    *,
    centre_id: int,
    centre_code: str,
    type: str,
    actor: str,
    at: datetime,
    ticket_id: int | None = None,
    counter_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """Appends an event to the centre's log and returns its seq; it is counted and published once
    the transaction commits."""
    seq = _append(
        session,
        centre_id=centre_id,
        type=type,
        actor=actor,
        at=at,
        ticket_id=ticket_id,
        counter_id=counter_id,
        data=data,
    )
    stage(session, centre_code=centre_code, message=message_of(seq, type, centre_code, at, data or {}))
    return seq


def message_of(seq: int, type: str, centre_code: str, at: datetime, data: dict[str, Any]) -> Message:
    """An event as the bus and the websockets carry it."""
    return {"seq": seq, "type": type, "centre": centre_code, "at": at.isoformat(), **data}


def stage(session: Session, *, centre_code: str, message: Message) -> None:
    """Hands an event to the bus once the session's transaction commits (`publishing`)."""
    session.info.setdefault(STAGED, []).append((centre_channel(centre_code), message))


def append_national_event(
    session: Session, *, type: str, actor: str, at: datetime, data: dict[str, Any]
) -> int:
    """Appends an event to the national log: what belongs to no one centre (staff accounts and
    sign-ins, the erasure of personal data). Chained like a centre's; nothing on a screen follows it."""
    return _append(session, centre_id=None, type=type, actor=actor, at=at, data=data)


def count(message: Message) -> None:
    """A committed event in this process's metrics (config/metrics.py)."""
    centre, service = str(message.get("centre", "")), str(message.get("service", ""))
    if message["type"] == "issued":
        TICKETS_ISSUED.labels(centre=centre, service=service, channel=str(message.get("channel", ""))).inc()
    elif message["type"] == "called" and "waited_s" in message:
        TICKETS_CALLED.labels(centre=centre, service=service).inc()
        WAIT_SECONDS.labels(centre=centre, service=service).observe(float(message["waited_s"]))


def publishing(publisher: Publisher, loop: asyncio.AbstractEventLoop) -> CommitHook:
    """The commit hook (config/db.py) that counts a transaction's events in this process's metrics
    and hands them to the publisher on its event loop; whoever wrote them, a request or a job."""

    def committed(session: Session) -> None:
        # The events stay staged for the other hooks to read (booking/listings.py); only the first
        # publishing hook hands them on, should two be on the database (two apps' lifespans in a test).
        staged: list[tuple[str, Message]] = session.info.get(STAGED, [])
        if not staged or session.info.get(PUBLISHED):
            return
        session.info[PUBLISHED] = True
        for _channel, message in staged:
            count(message)
        try:
            loop.call_soon_threadsafe(offer, publisher, staged)
        except RuntimeError:  # the loop has closed (the server is stopping): the log holds them
            log.info("%d events not published: the server is stopping", len(staged))

    return committed


def offer(publisher: Publisher, staged: list[tuple[str, Message]]) -> None:
    """Queues the doorbells of committed events; a bus that is down only delays screens."""
    for channel, message in staged:
        publisher.offer(channel, message)


def event_message(event: Event, *, centre_code: str) -> dict[str, Any]:
    """The bus/websocket form of a logged event (the same as what was published after commit)."""
    return message_of(event.seq, event.type, centre_code, event.at, event.data)


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
