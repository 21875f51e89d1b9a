"""The database handle every package shares: engine, transactions, and the UTC time column."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from copy import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

# Committed SQLite transactions must survive a power cut at a kiosk, not only a crashed process:
# WAL with synchronous=FULL fsyncs the log at every commit (see docs/operations.md).
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
)


class UtcDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and returns them aware, on SQLite (no time zones) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


T = TypeVar("T")
WRITE_THREADS = 4  # PostgreSQL: writes to different centres go on side by side
# In the `info` of every write transaction's session: what it reads may be its own uncommitted work.
WRITING = "dor_writing"
# In a write session's `info`: what to run once the transaction has committed (`on_commit`).
AFTER_COMMIT = "dor_after_commit"


def on_commit(session: Session, hook: Callable[[Session], None]) -> None:
    """Runs `hook(session)` once this write transaction has committed; never if the work that asked
    fails, its part of a shared transaction included (`Database.write_each`)."""
    session.info.setdefault(AFTER_COMMIT, []).append(hook)


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What one work of a shared transaction came to: its value, or the error it raised."""

    value: T | None = None
    error: Exception | None = None

    def result(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # None is a value when T admits it


class Database:
    """An engine and the two ways to use it: a read transaction and a write transaction."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.engine = create_engine(
                self.url, echo=echo, connect_args={"check_same_thread": False, "timeout": 10}
            )
            _install_sqlite_hooks(self.engine)
        else:
            self.engine = create_engine(
                self.url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True
            )
        # A writer on SQLite takes the write lock at BEGIN, so two writers never deadlock upgrading.
        self._writer = self.engine.execution_options(dor_write=True)
        # Threads for write transactions (config/http.py). SQLite has one writer at a time: a second
        # writer thread would only sleep and poll for the lock (up to 100 ms between tries), so its
        # writers wait their turn in the event loop instead, in order.
        self.write_threads = 1 if self.is_sqlite else WRITE_THREADS
        # SQLite writes in this process, on the interpreter that reads share: reads yield to writes
        # (config/http.py). PostgreSQL writes in its own processes, and a write here mostly waits
        # for it: holding reads back would leave the interpreter idle.
        self.writes_first = self.is_sqlite
        # SQLite's one writer fsyncs at every commit: the writes that queue behind one transaction
        # share the next (`write_each`), and its fsync. PostgreSQL's writers run side by side, and
        # grouping them would make one centre's write wait on another centre's locks.
        self.groups_writes = self.is_sqlite

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; nothing it does is committed."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction commits when the block ends and rolls back on an error."""
        with Session(self._writer, expire_on_commit=False, info={WRITING: True}) as session:
            with session.begin():
                yield session
            _committed(session)

    def write_each(self, works: Sequence[Callable[[Session], T]]) -> list[Outcome[T]]:
        """Runs the works one after the other in one write transaction, as if each had its own.

        Each runs in a savepoint: one that raises leaves nothing behind, in the database or in the
        session's `info` (its `on_commit` hooks, say), and its error is its outcome. Each starts with
        a session that holds no rows; `info` is the transaction's, so what a work that held left
        there the next ones see. If the commit fails, this raises and every work has failed.
        """
        outcomes: list[Outcome[T]] = []
        shared = len(works) > 1  # one work alone has the transaction to itself
        with self.write() as session:
            for work in works:
                before = {key: copy(value) for key, value in session.info.items()}
                try:
                    with session.begin_nested() if shared else nullcontext():
                        value = work(session)
                        session.flush()  # its changes are written before its rows leave the session
                except Exception as exc:
                    if not shared:
                        raise
                    session.info.clear()
                    session.info.update(before)
                    outcomes.append(Outcome(error=exc))
                else:
                    outcomes.append(Outcome(value=value))
                finally:
                    # The next work loads its rows afresh, as in a transaction of its own: one loaded
                    # here may be stale for it (updated since by a statement, not through the row).
                    session.expunge_all()
        return outcomes

    def dispose(self) -> None:
        """Closes every pooled connection."""
        self.engine.dispose()


def _committed(session: Session) -> None:
    for hook in session.info.pop(AFTER_COMMIT, []):
        hook(session)


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = "IMMEDIATE" if connection.get_execution_options().get("dor_write") else "DEFERRED"
        # On the driver: through SQLAlchemy this cost a write half its transaction's overhead.
        connection.connection.driver_connection.execute(f"BEGIN {mode}")  # type: ignore[union-attr]
