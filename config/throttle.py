"""Throttling by key (a username, a client address): uses and failures counted in the database, so
every process sees the same count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    Column,
    ColumnElement,
    String,
    Table,
    case,
    delete,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel

from config.db import UtcDateTime


class Throttle(SQLModel, table=True):
    """Failures counted per key (a username, a client address) in a fixed window."""

    key: str = Field(sa_column=Column(String(160), primary_key=True))
    failures: int = 0
    window_started_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


# Longer than the window of any limit counted here (the longest: the codes one phone may ask for in a
# day); the retention job forgets counts older than this.
KEEP = timedelta(days=2)

_TABLE: Table = Throttle.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Limit:
    """At most `failures` failures per `window`."""

    failures: int
    window: timedelta


def retry_after(session: Session, *, key: str, limit: Limit, now: datetime) -> int | None:
    """Seconds to wait before trying again under `key`, or None when not throttled."""
    row = session.get(Throttle, key)
    if row is None or now - row.window_started_at >= limit.window or row.failures < limit.failures:
        return None
    return _seconds_left(row.window_started_at, limit=limit, now=now)


def record_failure(session: Session, *, key: str, limit: Limit, now: datetime) -> None:
    """Counts one failure under `key` (a new window starts when the last one is over)."""
    session.execute(_one_more(session, key=key, limit=limit, now=now))


def take(session: Session, *, key: str, limit: Limit, now: datetime) -> int | None:
    """Counts one use under `key` if its window has room: None when counted, else the seconds until
    the window ends, and nothing is counted.

    One statement checks and counts, so requests arriving together cannot all pass the check before
    any of them is counted. On PostgreSQL it holds the row's lock until the transaction ends: twins
    wait for it, so keep that transaction short."""
    room = _TABLE.c.failures < limit.failures
    counting = _one_more(session, key=key, limit=limit, now=now, where=or_(_window_over(limit, now), room))
    if session.execute(counting.returning(_TABLE.c.key)).first() is not None:
        return None
    started = session.execute(select(_TABLE.c.window_started_at).where(_TABLE.c.key == key)).scalar()
    return 1 if started is None else _seconds_left(started, limit=limit, now=now)


def clear(session: Session, *, key: str) -> None:
    """Forgets the failures under `key` (after a success)."""
    session.execute(delete(_TABLE).where(_TABLE.c.key == key))


def forget(session: Session, *, before: datetime) -> int:
    """Deletes the counts whose window started before `before` (over, for every limit's window up
    to KEEP): a key is what a request names (a username, an address), so the rows must not outlive
    their windows. Returns how many."""
    gone = session.execute(delete(_TABLE).where(_TABLE.c.window_started_at < before))
    return int(gone.rowcount)  # type: ignore[attr-defined]


def _one_more(
    session: Session, *, key: str, limit: Limit, now: datetime, where: ColumnElement[bool] | None = None
) -> postgresql.Insert | sqlite.Insert:
    """The upsert counting one more under `key` (when `where` holds of the row there is): a row of 1
    when there is none or its window is over. A twin's insert cannot race it: the conflict is the
    database's to settle."""
    insert: postgresql.Insert | sqlite.Insert
    if session.get_bind().dialect.name == "sqlite":
        insert = sqlite.insert(_TABLE).values(key=key, failures=1, window_started_at=now)
    else:
        insert = postgresql.insert(_TABLE).values(key=key, failures=1, window_started_at=now)
    over = _window_over(limit, now)
    return insert.on_conflict_do_update(
        index_elements=[_TABLE.c.key],
        set_={
            "failures": case((over, insert.excluded.failures), else_=_TABLE.c.failures + 1),
            "window_started_at": case(
                (over, insert.excluded.window_started_at), else_=_TABLE.c.window_started_at
            ),
        },
        where=where,
    )


def _window_over(limit: Limit, now: datetime) -> ColumnElement[bool]:
    return _TABLE.c.window_started_at <= now - limit.window


def _seconds_left(started: datetime, *, limit: Limit, now: datetime) -> int:
    return max(1, int((started + limit.window - now).total_seconds()))
