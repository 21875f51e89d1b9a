"""Writes that queue for SQLite's one writer share the next transaction, and its fsync; each still
gets its own answer, fails alone, and is answered only once its transaction has committed."""

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from anyio import to_thread
from sqlalchemy import event, text
from sqlmodel import Session, select

from config import http
from config.db import Database, on_commit
from config.http import write
from queueing.models import Centre
from tests.test_bulkheads import LONG, request_for, started

WAITING = 5  # writes that queue behind the one holding the writer


@pytest.fixture
def grouping(database: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """The database with a scratch table, grouping writes on either backend (production groups them on
    SQLite only: config/db.py). A row's parent is checked at commit, so a commit can be made to fail."""
    monkeypatch.setattr(database, "groups_writes", True)
    with database.write() as session:
        session.execute(
            text(
                "CREATE TABLE scratch (id INTEGER PRIMARY KEY,"
                " parent INTEGER REFERENCES scratch (id) DEFERRABLE INITIALLY DEFERRED)"
            )
        )
    return database


def insert(row: int, parent: int | None = None, *, fail: bool = False) -> Any:
    def work(session: Session) -> int:
        session.execute(
            text("INSERT INTO scratch (id, parent) VALUES (:id, :parent)"), {"id": row, "parent": parent}
        )
        if fail:
            raise ValueError(f"row {row} refused")
        return row

    return work


def held(release: threading.Event, holding: threading.Event) -> Any:
    """A write that holds the writer until released, so that others queue behind it."""

    def work(session: Session) -> int:
        holding.set()
        assert release.wait(LONG)
        return insert(0)(session)  # type: ignore[no-any-return]

    return work


def rows(database: Database) -> list[int]:
    with database.read() as session:
        return list(session.execute(text("SELECT id FROM scratch ORDER BY id")).scalars())


def commits(database: Database) -> list[None]:
    counted: list[None] = []
    event.listen(database.engine, "commit", lambda connection: counted.append(None))
    return counted


async def queue_behind_a_held_write(database: Database, works: list[Any]) -> list[Any]:
    """Runs `works` as writes that all wait behind one write holding the writer, then lets it go;
    what each write came to, in order (its value or its error)."""
    request, release, holding = request_for(database), threading.Event(), threading.Event()
    first = asyncio.create_task(write(request, held(release, holding)))
    await asyncio.to_thread(holding.wait, LONG)
    queued = [asyncio.create_task(write(request, work)) for work in works]
    await asyncio.sleep(0)  # each queued write runs up to its wait for the writer
    release.set()
    assert await first == 0
    return await asyncio.gather(*queued, return_exceptions=True)


async def test_writes_queued_behind_one_share_the_next_transaction(grouping: Database) -> None:
    counted = commits(grouping)
    outcomes = await queue_behind_a_held_write(grouping, [insert(row) for row in range(1, WAITING + 1)])
    assert outcomes == list(range(1, WAITING + 1))
    assert rows(grouping) == list(range(WAITING + 1))
    assert len(counted) == 2  # the held write's, then one for all that waited behind it


async def test_a_write_that_fails_leaves_nothing_and_spoils_no_other(grouping: Database) -> None:
    outcomes = await queue_behind_a_held_write(grouping, [insert(1), insert(2, fail=True), insert(3)])
    assert outcomes[0] == 1 and outcomes[2] == 3
    assert isinstance(outcomes[1], ValueError) and str(outcomes[1]) == "row 2 refused"
    assert rows(grouping) == [0, 1, 3]


async def test_when_the_commit_fails_every_write_in_it_fails(grouping: Database) -> None:
    # Row 2 names a parent that does not exist: checked at commit, which refuses the whole transaction.
    outcomes = await queue_behind_a_held_write(grouping, [insert(1), insert(2, parent=99), insert(3)])
    assert all(isinstance(outcome, Exception) for outcome in outcomes), outcomes
    assert rows(grouping) == [0]


async def test_only_the_writes_that_succeed_run_their_after_commit_hooks(grouping: Database) -> None:
    ran: list[tuple[int, int]] = []

    def noting(row: int, *, fail: bool = False) -> Any:
        def work(session: Session) -> int:
            # What a hook sees is committed: another connection reads it.
            on_commit(session, lambda committed: ran.append((row, len(rows(grouping)))))
            return insert(row, fail=fail)(session)  # type: ignore[no-any-return]

        return work

    await queue_behind_a_held_write(grouping, [noting(1), noting(2, fail=True), noting(3)])
    assert ran == [(1, 3), (3, 3)]


async def test_a_write_leaves_no_rows_for_the_next_and_a_failed_one_no_notes(grouping: Database) -> None:
    """Rows one write loaded are not in the session for the next (they may be stale for it); notes a
    write left in the transaction's `info` stay for the next, unless that write failed."""

    def noting(note: str, *, fail: bool = False) -> Any:
        def work(session: Session) -> list[Centre]:
            session.info.setdefault("notes", []).append(note)
            if fail:
                raise ValueError(note)
            return list(session.exec(select(Centre)).all())  # held by the outcome: alive

        return work

    def reads_notes(session: Session) -> tuple[object, int]:
        return session.info.get("notes"), len(session.identity_map)

    outcomes = await queue_behind_a_held_write(
        grouping, [noting("first"), noting("failed", fail=True), noting("third"), reads_notes]
    )
    assert outcomes[3] == (["first", "third"], 0)


async def test_a_write_cancelled_before_its_turn_is_never_written(grouping: Database) -> None:
    request, release, holding = request_for(grouping), threading.Event(), threading.Event()
    first = asyncio.create_task(write(request, held(release, holding)))
    await asyncio.to_thread(holding.wait, LONG)
    cancelled = asyncio.create_task(write(request, insert(1)))
    kept = asyncio.create_task(write(request, insert(2)))
    await asyncio.sleep(0)  # both wait for the writer
    cancelled.cancel()
    release.set()
    assert await first == 0 and await kept == 2
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert rows(grouping) == [0, 2]


def rename(code: str, name: str) -> Any:
    """A write that changes a loaded row and leaves the flush to the commit."""

    def work(session: Session) -> str:
        centre = session.exec(select(Centre).where(Centre.code == code)).one()
        centre.name_en = name
        session.add(centre)
        return code

    return work


def names(database: Database) -> dict[str, str]:
    with database.read() as session:
        return {centre.code: centre.name_en for centre in session.exec(select(Centre)).all()}


async def test_changes_left_to_the_commit_are_written_alone_or_grouped(grouping: Database) -> None:
    request = request_for(grouping)
    assert await write(request, rename("DAM-01", "Alone")) == "DAM-01"
    await queue_behind_a_held_write(grouping, [rename("DAM-02", "First"), rename("RIF-01", "Second")])
    assert {code: names(grouping)[code] for code in ("DAM-01", "DAM-02", "RIF-01")} == {
        "DAM-01": "Alone",
        "DAM-02": "First",
        "RIF-01": "Second",
    }


async def test_no_more_writes_share_a_transaction_than_the_limit(
    grouping: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other processes wait for SQLite's lock while a shared transaction runs: it stays short."""
    monkeypatch.setattr(http, "MOST_WRITES_PER_TRANSACTION", 3)
    counted = commits(grouping)
    outcomes = await queue_behind_a_held_write(grouping, [insert(row) for row in range(1, 8)])
    assert outcomes == list(range(1, 8))
    assert len(counted) == 1 + 3  # the held write's, then 3 + 3 + 1


class Interrupt(BaseException):
    """Not an error: what an exit raises, say."""


async def test_an_interrupted_transaction_leaves_no_write_waiting(grouping: Database) -> None:
    def interrupting(session: Session) -> int:
        raise Interrupt

    outcomes = await asyncio.wait_for(
        queue_behind_a_held_write(grouping, [insert(1), interrupting, insert(3)]), LONG
    )
    # The group's first write held the turn: the interruption goes up through it.
    assert isinstance(outcomes[0], Interrupt)
    assert all(isinstance(o, RuntimeError) and "interrupted" in str(o) for o in outcomes[1:]), outcomes
    assert rows(grouping) == [0]


async def until(condition: Callable[[], bool]) -> None:
    """Lets the other tasks run until `condition` holds (they need no time, only turns)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the tasks never got there")


async def test_writes_whose_turn_was_cancelled_before_writing_are_written_by_the_next(
    grouping: Database,
) -> None:
    """The write holding the turn is cancelled while its group waits for the writer's thread (a
    server shutting down, say): it is never written, and the others of its group still are."""
    request, threads = request_for(grouping), http._threads(http._WRITES, grouping.write_threads)
    free_first, holding = threading.Event(), threading.Event()
    free_threads, occupying = threading.Event(), threading.Semaphore(0)

    def occupy() -> None:
        occupying.release()
        assert free_threads.wait(LONG)

    def take_a_thread() -> asyncio.Task[None]:
        return asyncio.create_task(to_thread.run_sync(occupy, limiter=threads))

    occupied = [take_a_thread() for _ in range(int(threads.total_tokens) - 1)]  # all threads but one
    await started(occupying, len(occupied))
    first = asyncio.create_task(write(request, held(free_first, holding)))  # takes the last thread
    await asyncio.to_thread(holding.wait, LONG)
    occupied.append(take_a_thread())  # next in line for a thread, before any group behind first
    await until(lambda: threads.statistics().tasks_waiting == 1)
    group = http._write_group()
    holder, *behind = [asyncio.create_task(write(request, insert(row))) for row in (1, 2, 3)]
    await until(lambda: group.turn.statistics().tasks_waiting == 3)
    free_first.set()  # first is written; holder takes the turn and the group 1, 2, 3, and waits
    assert await first == 0
    await until(lambda: threads.statistics().tasks_waiting == 1 and not group.waiting)
    holder.cancel()
    with pytest.raises(asyncio.CancelledError):
        await holder
    free_threads.set()
    await asyncio.gather(*occupied)
    assert await asyncio.wait_for(asyncio.gather(*behind), LONG) == [2, 3]
    assert rows(grouping) == [0, 2, 3]
