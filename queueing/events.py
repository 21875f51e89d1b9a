"""The event log: every change of a ticket or counter is a row, written in the caller's transaction,
then announced on the bus once that transaction has committed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, select
from starlette.requests import Request

from config.http import write
from config.metrics import TICKETS_CALLED, TICKETS_ISSUED, WAIT_SECONDS
from config.prepared import Prepared
from queueing.audit import GENESIS, NATIONAL, Entry, chain_hash
from queueing.bus import Message, Publisher
from queueing.models import Event, Serial
from queueing.serials import lock, next_value

T = TypeVar("T")
STAGED = "dor_staged_events"
# In a session's `info`: per centre, the seq and hash of the last event this transaction appended.
LOG_HEADS = "dor_log_heads"

_EVENTS = Event.__table__  # type: ignore[attr-defined]
_INSERT = Prepared(insert(_EVENTS).values({entry.name: bindparam(entry.name) for entry in fields(Entry)}))
# The hash of an entry, in a centre's log (False) or the national one (True).
_PREVIOUS = {
    national: Prepared(
        sa_select(_EVENTS.c.hash).where(
            _EVENTS.c.centre_id.is_(None) if national else _EVENTS.c.centre_id == bindparam("centre_id"),
            _EVENTS.c.seq == bindparam("seq"),
        )
    )
    for national in (False, True)
}


def centre_channel(centre_code: str) -> str:
    """The bus channel of one centre's events."""
    return f"centre:{centre_code}"


def _log_serial(centre_id: int | None) -> str:
    return f"events:{centre_id if centre_id is not None else NATIONAL}"


def lock_log(session: Session, *, centre_id: int) -> None:
    """Takes the centre's log lock now rather than at the first append.

    A decision made after this sees every change logged before it, so replaying the log reproduces
    the decision exactly (the concurrency tests do).
    """
    lock(session, name=_log_serial(centre_id))


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
    """Appends an event with its log's next `seq`, chained to the one before it (queueing/audit.py),
    and returns that seq. Prepared statements (config/prepared.py): nothing reads an event back
    through the session, and an ORM row cost more than the rest of the append."""
    seq = next_value(session, name=_log_serial(centre_id))
    # The log's lock is held (next_value), so the previous entry is final. If this transaction
    # appended it (writes that share one append many), its hash is at hand.
    previous = GENESIS
    appended: tuple[int, str] | None = session.info.get(LOG_HEADS, {}).get(centre_id)
    if appended is not None and appended[0] == seq - 1:
        previous = appended[1]
    elif seq > 1:
        found = _PREVIOUS[centre_id is None].scalar(session, {"centre_id": centre_id, "seq": seq - 1})
        previous = found or GENESIS  # a missing link shows up in `dor audit verify`
    data = data or {}
    hash = chain_hash(previous, Entry(centre_id, seq, type, ticket_id, counter_id, actor, at, data, None))
    columns = {"centre_id": centre_id, "seq": seq, "type": type, "ticket_id": ticket_id, "at": at}
    _INSERT.rows(session, {**columns, "counter_id": counter_id, "actor": actor, "data": data, "hash": hash})
    session.info.setdefault(LOG_HEADS, {})[centre_id] = (seq, hash)
    return seq


def appended_head(session: Session, *, centre_id: int) -> int | None:
    """The seq of the last event this transaction appended to the centre's log (None: none yet)."""
    appended: tuple[int, str] | None = session.info.get(LOG_HEADS, {}).get(centre_id)
    return appended[0] if appended is not None else None


def log_head(session: Session, *, centre_id: int) -> int:
    """The seq of the centre's last event, as this session sees it (0 before the first)."""
    appended = appended_head(session, centre_id=centre_id)
    if appended is not None:
        return appended
    last = session.exec(select(Serial.last).where(Serial.name == _log_serial(centre_id))).first()
    return last or 0


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
    """Appends an event to the centre's log and returns its seq; it is published after the commit."""
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
    message: Message = {
        "seq": seq,
        "type": type,
        "centre": centre_code,
        "at": at.isoformat(),
        **(data or {}),
    }
    session.info.setdefault(STAGED, []).append((centre_channel(centre_code), message))
    return seq


def append_national_event(
    session: Session, *, type: str, actor: str, at: datetime, data: dict[str, Any]
) -> int:
    """Appends an event to the national log: what belongs to no one centre (staff accounts and
    sign-ins, the erasure of personal data). Chained like a centre's; nothing on a screen follows it."""
    return _append(session, centre_id=None, type=type, actor=actor, at=at, data=data)


async def write_and_publish(request: Request, work: Callable[[Session], T]) -> T:
    """Runs `work` in a write transaction; once it has committed, publishes the events it appended
    without waiting for the bus (queueing/bus.py: Publisher)."""
    staged: list[tuple[str, Message]] = []

    def run(session: Session) -> T:
        result = work(session)
        staged.extend(session.info.pop(STAGED, []))
        return result

    result = await write(request, run)
    publish(request.app.state.publisher, staged)
    return result


def count(message: Message) -> None:
    """A committed event in this process's metrics (config/metrics.py)."""
    centre, service = str(message.get("centre", "")), str(message.get("service", ""))
    if message["type"] == "issued":
        TICKETS_ISSUED.labels(centre=centre, service=service, channel=str(message.get("channel", ""))).inc()
    elif message["type"] == "called" and "waited_s" in message:
        TICKETS_CALLED.labels(centre=centre, service=service).inc()
        WAIT_SECONDS.labels(centre=centre, service=service).observe(float(message["waited_s"]))


def publish(publisher: Publisher, staged: list[tuple[str, Message]]) -> None:
    """Counts committed events and queues their doorbells; a bus that is down only delays screens."""
    for channel, message in staged:
        count(message)
        publisher.offer(channel, message)
