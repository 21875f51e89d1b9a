"""Where a view's database work runs: reads, writes and password hashing on worker threads of
their own (bulkheads), so that one kind of work never holds up another."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, Protocol, TypeVar

from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar
from sqlmodel import Session
from starlette.requests import Request

T = TypeVar("T")


class Transactions(Protocol):
    """What a view needs of the database (config.db.Database)."""

    write_threads: int
    writes_first: bool

    def read(self) -> Any: ...

    def write(self) -> Any: ...


# Reads and writes run on separate groups of worker threads (bulkheads): at a booking release,
# thousands of slot listings wait for the read thread while each citizen's booking finds a write
# thread free at once. Python runs one thread at a time, so more threads would not answer faster;
# they would only take the interpreter from the writes. Reports and other reads that may take long
# go on threads of their own, so that they never hold up the quick ones. The database says how many
# writers it takes (config/db.py).
QUICK_READ_THREADS = 1


SLOW_READ_THREADS = 2


# Writes go first where they share the interpreter with the reads (SQLite; config/db.py): while the
# writes fill their threads, a quick read waits for room before it runs. A write is mostly the last
# step of what someone came to do (a booking after its listing, a counter's call): at a booking
# release, listings running beside every booking stretch the one writer's queue (bench/booking_surge.py,
# docs/performance.md). A read waits at most this long, however busy the writes, so that a stream of
# writes cannot starve the reads. A read whose answer many requests wait for (a slot listing's
# snapshot, booking/listings.py) does not wait at all.
MOST_A_READ_WAITS_FOR_WRITES_S = 1.0


_QUICK_READS: RunVar[CapacityLimiter] = RunVar("dor_quick_read_threads")


_SLOW_READS: RunVar[CapacityLimiter] = RunVar("dor_slow_read_threads")


_WRITES: RunVar[CapacityLimiter] = RunVar("dor_write_threads")


_WRITE_LOAD: RunVar[WriteLoad] = RunVar("dor_write_load")


# Work that takes the processor for a while and no database (checking a password: argon2, ~0.1 s)
# runs on a thread of its own, one at a time: a flood of sign-ins queues there, and never holds a
# transaction or a database thread that tickets need.
_HASHING: RunVar[CapacityLimiter] = RunVar("dor_hashing_threads")


HASHING_THREADS = 1


class WriteLoad:
    """The writes of one event loop in flight: waiting for a write thread or running."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.in_flight = 0
        self._changed = threading.Condition()

    @contextmanager
    def counted(self) -> Iterator[None]:
        """Counts one write in flight for as long as the block runs."""
        with self._changed:
            self.in_flight += 1
        try:
            yield
        finally:
            with self._changed:
                self.in_flight -= 1
                self._changed.notify_all()

    def wait_for_room(self, most_s: float) -> None:
        """Blocks the calling (read) thread while the writes fill their threads, `most_s` at most."""
        with self._changed:
            self._changed.wait_for(lambda: self.in_flight < self.threads, timeout=most_s)


def _write_load(database: Transactions) -> WriteLoad:
    try:
        return _WRITE_LOAD.get()
    except LookupError:
        _WRITE_LOAD.set(WriteLoad(database.write_threads))
        return _WRITE_LOAD.get()


def _threads(group: RunVar[CapacityLimiter], size: int) -> CapacityLimiter:
    """The event loop's group of worker threads (one per loop, as anyio keeps its default one)."""
    try:
        return group.get()
    except LookupError:
        group.set(CapacityLimiter(size))
        return group.get()


async def read(
    request: Request, work: Callable[[Session], T], *, slow: bool = False, shared: bool = False
) -> T:
    """Runs `work` in a read transaction on a read thread; `slow` for a report or a view over many
    rows or centres (and the health check, which must answer while quick reads queue); `shared` for
    a quick read whose answer many requests are waiting for (a slot listing's snapshot): it does not
    wait for the writes, which it would hold up far less than they would hold up its requests."""
    database: Transactions = request.app.state.database
    writes = _write_load(database) if database.writes_first and not slow and not shared else None

    def run() -> T:
        if writes is not None:
            writes.wait_for_room(MOST_A_READ_WAITS_FOR_WRITES_S)
        with database.read() as session:
            return work(session)

    threads = _threads(_SLOW_READS, SLOW_READ_THREADS) if slow else _threads(_QUICK_READS, QUICK_READ_THREADS)
    return await to_thread.run_sync(run, limiter=threads)


async def write(request: Request, work: Callable[[Session], T]) -> T:
    """Runs `work` in a write transaction of its own on a write thread; it commits when `work`
    returns, and the database's commit hooks (the events' publication) run then."""
    database: Transactions = request.app.state.database

    def run() -> T:
        with database.write() as session:
            return work(session)

    with _write_load(database).counted() if database.writes_first else nullcontext():
        return await to_thread.run_sync(run, limiter=_threads(_WRITES, database.write_threads))


async def hashing(work: Callable[..., T], *args: Any) -> T:
    """Runs `work(*args)`, slow and outside any transaction, on the hashing thread."""
    return await to_thread.run_sync(work, *args, limiter=_threads(_HASHING, HASHING_THREADS))
