"""The audit chain in the database: verify every centre's log, read and export its heads."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, func, select

from eventlog.chain import NATIONAL, Break, Entry, Head, first_break
from eventlog.models import Event, Serial, in_log
from organisation.models import Centre

log = logging.getLogger(__name__)
BATCH = 1000  # entries read at a time: a log of millions is walked in constant memory


def entry_of(event: Event) -> Entry:
    return Entry(
        event.centre_id,
        event.seq,
        event.type,
        event.ticket_id,
        event.counter_id,
        event.actor,
        event.at,
        event.data,
        event.hash,
    )


def _entries(session: Session, centre_id: int | None) -> Iterator[Entry]:
    after = 0
    while True:
        batch = session.exec(
            select(Event)
            .where(in_log(centre_id), col(Event.seq) > after)
            .order_by(col(Event.seq))
            .limit(BATCH)
        ).all()
        if not batch:
            return
        for event in batch:
            yield entry_of(event)
        after = batch[-1].seq
        session.expunge_all()  # a read-only walk: forget what was read, so memory stays flat


def _counted(session: Session, centre_id: int | None) -> int:
    name = f"events:{centre_id if centre_id is not None else NATIONAL}"
    last = session.exec(select(Serial.last).where(Serial.name == name)).first()
    return last or 0


def _logs(session: Session) -> list[tuple[int | None, str]]:
    """Every log: each centre's by code, then the national one."""
    centres: list[tuple[int | None, str]] = [
        (centre_id, code)
        for centre_id, code in session.exec(select(Centre.id, Centre.code).order_by(col(Centre.code))).all()
    ]
    return [*centres, (None, NATIONAL)]


@dataclass(frozen=True)
class Verdict:
    centre: str
    entries: int
    broken: Break | None


def verify_log(
    session: Session, *, centre_id: int | None, code: str, heads: list[Head] | None = None
) -> Verdict:
    """One log's chain (a centre's, or the national one: None) checked from its first entry."""
    counted = _counted(session, centre_id)
    broken = first_break(_entries(session, centre_id), counted=counted, heads=heads or [])
    entries = session.exec(select(func.count()).where(in_log(centre_id))).one()
    return Verdict(code, entries, broken)


def verify(session: Session, *, heads: dict[str, list[Head]] | None = None) -> list[Verdict]:
    """Each log's chain checked from its first entry: the first bad entry, if any."""
    return [
        verify_log(session, centre_id=centre_id, code=code, heads=(heads or {}).get(code))
        for centre_id, code in _logs(session)
    ]


def current_heads(session: Session) -> dict[str, Head]:
    """Where each log's chain ends now (a log with no events has no head)."""
    heads = {}
    for centre_id, code in _logs(session):
        last = session.exec(
            select(Event.seq, Event.hash).where(in_log(centre_id)).order_by(col(Event.seq).desc())
        ).first()
        if last is not None:
            heads[code] = Head(last[0], last[1])
    return heads


def export_heads(session: Session, *, path: Path, now: datetime) -> int:
    """Appends today's heads to `path` (one line per centre: time, centre, seq, hash); how many."""
    heads = current_heads(session)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        for code, head in heads.items():
            out.write(f"{now.isoformat()} {code} {head.seq} {head.hash}\n")
    log.info("audit heads of %d centres exported to %s", len(heads), path)
    return len(heads)


def read_heads(path: Path) -> dict[str, list[Head]]:
    """The heads exported to `path`; ValueError naming the line that is not one."""
    heads: dict[str, list[Head]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 4 or not parts[2].isdigit() or len(parts[3]) != 64:
            raise ValueError(f"{path}:{number}: not a head line (time centre seq hash)")
        heads.setdefault(parts[1], []).append(Head(int(parts[2]), parts[3]))
    return heads
