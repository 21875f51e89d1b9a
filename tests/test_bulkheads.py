"""Reads and writes on separate worker threads: a long report holds up neither a citizen's page nor
a counter's call, and a queue of reads does not hold up a write. On SQLite, reads yield to writes."""

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session

from config.db import Database
from config.web import threads
from config.web.threads import SLOW_READ_THREADS, read, write

LONG = 10.0  # seconds a blocked read waits at most: the test fails long before, never hangs
MANY = 50  # more than any shared pool of threads would run at once (anyio's has 40)


def request_for(database: Database) -> Any:
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(database=database)))


def one(session: Session) -> int:
    return int(session.execute(text("SELECT 1")).scalar_one())


def blocked_until(release: threading.Event, started: threading.Semaphore) -> Any:
    def work(session: Session) -> str:
        started.release()
        assert release.wait(LONG)
        return "done"

    return work


async def started(semaphore: threading.Semaphore, count: int) -> None:
    for _ in range(count):
        assert await asyncio.to_thread(semaphore.acquire, True, LONG)


async def test_long_reports_hold_up_neither_quick_reads_nor_writes(database: Database) -> None:
    request, release, began = request_for(database), threading.Event(), threading.Semaphore(0)
    reports = [
        asyncio.create_task(read(request, blocked_until(release, began), slow=True)) for _ in range(MANY)
    ]
    await started(began, SLOW_READ_THREADS)  # every report thread is taken
    try:
        assert await asyncio.wait_for(read(request, one), LONG) == 1
        assert await asyncio.wait_for(write(request, one), LONG) == 1
        assert not any(report.done() for report in reports)
    finally:
        release.set()
    assert await asyncio.gather(*reports) == ["done"] * MANY


async def test_a_write_does_not_wait_behind_queued_reads(database: Database) -> None:
    request, release, began = request_for(database), threading.Event(), threading.Semaphore(0)
    reads = [asyncio.create_task(read(request, blocked_until(release, began))) for _ in range(MANY)]
    await started(began, 1)  # the quick read thread is taken, the other reads wait for it
    try:
        assert await asyncio.wait_for(write(request, one), LONG) == 1
        assert sum(r.done() for r in reads) == 0
    finally:
        release.set()
    assert await asyncio.gather(*reads) == ["done"] * MANY


def write_until_a_read_runs(writing: threading.Event, read_ran: threading.Event, hold: float) -> Any:
    def work(session: Session) -> str:
        writing.set()
        read_ran.wait(hold)  # a read running beside the write ends it at once
        writing.clear()
        return "written"

    return work


def read_noting_writes(writing: threading.Event, read_ran: threading.Event, overlapped: list[bool]) -> Any:
    def work(session: Session) -> int:
        overlapped.append(writing.is_set())
        read_ran.set()
        return one(session)

    return work


async def test_quick_reads_wait_for_a_write_where_it_shares_the_interpreter(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite writes in this process: a read waits until the write is done. PostgreSQL writes in its
    own processes: a read runs beside the write."""
    monkeypatch.setattr(threads, "MOST_A_READ_WAITS_FOR_WRITES_S", LONG)
    request, writing, read_ran, overlapped = request_for(database), threading.Event(), threading.Event(), []
    writer = asyncio.create_task(write(request, write_until_a_read_runs(writing, read_ran, 1.0)))
    await asyncio.to_thread(writing.wait, LONG)
    assert await asyncio.wait_for(read(request, read_noting_writes(writing, read_ran, overlapped)), LONG) == 1
    assert await writer == "written"
    assert overlapped == [not database.is_sqlite]


async def test_a_read_waits_for_writes_only_so_long(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However long the writes, a read runs after MOST_A_READ_WAITS_FOR_WRITES_S: here the write
    holds until a read has run, so it ends only because the read stopped waiting."""
    monkeypatch.setattr(threads, "MOST_A_READ_WAITS_FOR_WRITES_S", 0.05)
    request, writing, read_ran, overlapped = request_for(database), threading.Event(), threading.Event(), []
    writer = asyncio.create_task(write(request, write_until_a_read_runs(writing, read_ran, LONG)))
    await asyncio.to_thread(writing.wait, LONG)
    assert await asyncio.wait_for(read(request, read_noting_writes(writing, read_ran, overlapped)), LONG) == 1
    assert await writer == "written"
    assert overlapped == [True]
