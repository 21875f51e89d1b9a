"""The database handle every package shares: engine, transactions, and the UTC time column."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

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


WRITE_THREADS = 4  # PostgreSQL: writes to different centres go on side by side
# In a write session's `info`: where a centre node's ticket ids start (Database.ticket_id_base).
TICKET_ID_BASE = "dor_ticket_id_base"
# A hook run after a write transaction commits, given its session (its `info` still readable).
CommitHook = Callable[[Session], None]


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
        # Threads for write transactions (config/web/threads.py). SQLite has one writer at a time: a second
        # writer thread would only sleep and poll for the lock (up to 100 ms between tries), so its
        # writers wait their turn in the event loop instead, in order.
        self.write_threads = 1 if self.is_sqlite else WRITE_THREADS
        # SQLite writes in this process, on the interpreter that reads share: reads yield to writes
        # (config/web/threads.py). PostgreSQL writes in its own processes, and a write here mostly waits
        # for it: holding reads back would leave the interpreter idle.
        self.writes_first = self.is_sqlite
        self._after_commit: list[CommitHook] = []
        # A centre node numbers its tickets from its centre's id times 2^32, so that the central holds
        # them under the same ids (docs/centre-node.md); None: the database numbers them.
        self.ticket_id_base: int | None = None

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; nothing it does is committed."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction commits when the block ends and rolls back on an error; once
        it has committed, every hook of `after_every_commit` runs (in the thread that wrote)."""
        with Session(self._writer, expire_on_commit=False) as session:
            if self.ticket_id_base is not None:
                session.info[TICKET_ID_BASE] = self.ticket_id_base
            with session.begin():
                yield session
            for hook in list(self._after_commit):
                hook(session)

    def after_every_commit(self, hook: CommitHook) -> Callable[[], None]:
        """Runs `hook(session)` after every write transaction of this database commits, whoever
        wrote it (a request, a job, a command); returns what takes the hook off again. A hook must
        not raise: the transaction is committed whatever it does."""
        self._after_commit.append(hook)
        return lambda: self._after_commit.remove(hook)

    def dispose(self) -> None:
        """Closes every pooled connection."""
        self.engine.dispose()


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
