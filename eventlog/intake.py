"""A centre's log written elsewhere, taken in by seq (a centre node's, docs/centre-node.md); and the
state of the link it comes by.

The entries arrive as their writer chained them. What the log has already is skipped, once its hash
is seen to match; the first new entry must follow the log's head, and each must continue the chain.
So a batch sent twice, or cut by a crash and sent again, adds each entry exactly once, in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlmodel import Session, col, select

from eventlog.chain import GENESIS, Entry, chain_hash
from eventlog.log import lock_log, log_serial, message_of, stage
from eventlog.models import Event, NodeLink, NodeOutage
from eventlog.serials import DIALECTS, dialect_of, set_value

# A centre node that has not called for this long is offline: every view of the central says so. A
# node calls every DOR_NODE_SYNC_S (2 s, 10 s at most), so this is three missed rounds or more.
OFFLINE_AFTER = timedelta(seconds=30)


class LogRefused(Exception):
    """A batch the log cannot take; `code` names why, `seq` where."""

    code = "log_refused"

    def __init__(self, seq: int, detail: str) -> None:
        super().__init__(detail)
        self.seq = seq


class LogGap(LogRefused):
    code = "log_gap"


class LogDiverged(LogRefused):
    code = "log_diverged"


class LogBroken(LogRefused):
    code = "log_broken"


@dataclass(frozen=True)
class LogHead:
    seq: int  # 0: the log is empty
    hash: str  # the last entry's hash (GENESIS when empty)


def log_head(session: Session, *, centre_id: int) -> LogHead:
    """The centre's log head: its last entry's seq and hash."""
    last = session.exec(
        select(Event.seq, Event.hash)
        .where(Event.centre_id == centre_id)
        .order_by(col(Event.seq).desc())
        .limit(1)
    ).first()
    return LogHead(last[0], last[1]) if last else LogHead(0, GENESIS)


def take_in(session: Session, *, centre_id: int, centre_code: str, entries: Sequence[Entry]) -> LogHead:
    """Appends the entries the centre's log lacks, in seq order, and returns the new head. Refuses the
    whole batch (LogGap, LogDiverged, LogBroken) when it cannot follow the log."""
    lock_log(session, centre_id=centre_id)
    head = log_head(session, centre_id=centre_id)
    ordered = sorted(entries, key=lambda e: e.seq)
    _check_known(session, centre_id=centre_id, known=[e for e in ordered if e.seq <= head.seq])
    new = [e for e in ordered if e.seq > head.seq]
    previous = head
    for entry in new:
        if entry.centre_id != centre_id:
            raise LogBroken(entry.seq, f"entry {entry.seq} is of another centre's log")
        if entry.seq != previous.seq + 1:
            raise LogGap(previous.seq + 1, f"the log is at {head.seq}: expected entry {previous.seq + 1}")
        if entry.hash != chain_hash(previous.hash, entry):
            raise LogBroken(entry.seq, f"entry {entry.seq} does not continue the chain")
        previous = LogHead(entry.seq, entry.hash)
    if not new:
        return head
    session.execute(
        insert(Event.__table__),  # type: ignore[attr-defined]
        [
            {
                "centre_id": e.centre_id,
                "seq": e.seq,
                "type": e.type,
                "ticket_id": e.ticket_id,
                "counter_id": e.counter_id,
                "actor": e.actor,
                "at": e.at,
                "data": e.data,
                "hash": e.hash,
            }
            for e in new
        ],
    )
    set_value(session, name=log_serial(centre_id), value=previous.seq)
    for e in new:
        stage(session, centre_code=centre_code, message=message_of(e.seq, e.type, centre_code, e.at, e.data))
    return previous


def _check_known(session: Session, *, centre_id: int, known: Sequence[Entry]) -> None:
    """Entries the log has must be the log's own: a different hash is a different history."""
    if not known:
        return
    stored = dict(
        session.exec(
            select(Event.seq, Event.hash).where(
                Event.centre_id == centre_id, col(Event.seq).in_([e.seq for e in known])
            )
        ).all()
    )
    for entry in known:
        if stored.get(entry.seq) != entry.hash:
            raise LogDiverged(entry.seq, f"entry {entry.seq} differs from the one the log holds")


def touch(session: Session, *, centre_id: int, node_seq: int, now: datetime) -> None:
    """The node called: its link's last contact; if it had been silent past OFFLINE_AFTER, that
    silence is kept as an outage."""
    first = (
        DIALECTS[dialect_of(session)]
        .insert(NodeLink)
        .values(centre_id=centre_id, last_contact_at=now, node_seq=0)
    )
    session.execute(first.on_conflict_do_nothing(index_elements=["centre_id"]))
    link = session.exec(select(NodeLink).where(NodeLink.centre_id == centre_id).with_for_update()).one()
    if now - link.last_contact_at > OFFLINE_AFTER:
        session.add(NodeOutage(centre_id=centre_id, began_at=link.last_contact_at, ended_at=now))
    link.last_contact_at = max(link.last_contact_at, now)
    link.node_seq = max(link.node_seq, node_seq)
    session.add(link)


@dataclass(frozen=True)
class LinkState:
    """A centre node's link as the central sees it."""

    online: bool
    last_contact_at: datetime | None  # None: the node never called
    behind: int  # entries the node has logged that the central does not hold yet
    last_outage: NodeOutage | None


def link_state(session: Session, *, centre_id: int, now: datetime) -> LinkState:
    """Whether the centre's node called within OFFLINE_AFTER, how far the central's copy of its log
    is behind, and its last outage."""
    link = session.get(NodeLink, centre_id)
    outage = session.exec(
        select(NodeOutage)
        .where(NodeOutage.centre_id == centre_id)
        .order_by(col(NodeOutage.ended_at).desc())
        .limit(1)
    ).first()
    if link is None:
        return LinkState(online=False, last_contact_at=None, behind=0, last_outage=outage)
    held = log_head(session, centre_id=centre_id).seq
    return LinkState(
        online=now - link.last_contact_at <= OFFLINE_AFTER,
        last_contact_at=link.last_contact_at,
        behind=max(0, link.node_seq - held),
        last_outage=outage,
    )
