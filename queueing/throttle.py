"""Throttling by key (a username, a client address): failures counted in the database, so every
process sees the same count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from queueing.models import Throttle


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
    return max(1, int((row.window_started_at + limit.window - now).total_seconds()))


def record_failure(session: Session, *, key: str, limit: Limit, now: datetime) -> None:
    """Counts one failure under `key` (a new window starts when the last one is over)."""
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    table = Throttle.__table__  # type: ignore[attr-defined]
    # Create the row if absent without racing a twin request, then lock it.
    session.execute(
        dialect.insert(table).values(key=key, failures=0, window_started_at=now).on_conflict_do_nothing()
    )
    row = session.get(Throttle, key, with_for_update=True, populate_existing=True)
    assert row is not None
    if now - row.window_started_at >= limit.window:
        row.failures, row.window_started_at = 1, now
        session.add(row)
    else:
        row.failures += 1
        session.add(row)
    session.flush()


def clear(session: Session, *, key: str) -> None:
    """Forgets the failures under `key` (after a success)."""
    row = session.get(Throttle, key)
    if row is not None:
        session.delete(row)


def take(session: Session, *, key: str, limit: Limit, now: datetime) -> int | None:
    """Counts one use under `key` (a send, not a failure): None if it is within the limit, else the
    seconds until the window ends. The count is taken under the row's lock, so twin requests cannot
    both pass; a caller refused rolls back, and the refused use is not counted."""
    record_failure(session, key=key, limit=limit, now=now)
    row = session.get(Throttle, key)
    assert row is not None
    if row.failures <= limit.failures:
        return None
    return max(1, int((row.window_started_at + limit.window - now).total_seconds()))
