"""What websockets send on connecting is read once for all who ask together: batched reads, the hall
displays' shared snapshot, and trackers' views worked out together."""

import asyncio
import json
from typing import Any

import pytest
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from display import hall
from display.batched import Batched
from display.hall import MAX_AGE_S, Snapshots
from organisation.snapshot import organisation
from queueing.service import find_tickets, ticket_view, ticket_views
from tests.conftest import VirtualClock, take_ticket

# --- Batched: one read for the keys asked for together ------------------------------------------


class Reads:
    """A read that records the keys of each call and answers key -> key * 10."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = False

    async def __call__(self, keys: list[int]) -> dict[int, int]:
        self.calls.append(sorted(keys))
        await self.gate.wait()
        if self.fail:
            raise RuntimeError("the database is away")
        return {key: key * 10 for key in keys if key >= 0}


def test_keys_asked_for_together_are_read_once() -> None:
    async def scenario() -> tuple[list[int | None], list[list[int]]]:
        reads = Reads()
        batched: Batched[int, int] = Batched(reads)
        found = await asyncio.gather(*(batched.get(key) for key in [*range(50), 7, -1]))
        return list(found), reads.calls

    found, calls = asyncio.run(scenario())
    assert calls == [[-1, *range(50)]]
    assert found == [key * 10 for key in range(50)] + [70, None]


def test_keys_asked_for_during_a_read_wait_for_the_next_one() -> None:
    async def scenario() -> tuple[list[int | None], list[list[int]]]:
        reads = Reads()
        reads.gate.clear()
        batched: Batched[int, int] = Batched(reads)
        first = asyncio.create_task(batched.get(1))
        await asyncio.sleep(0)
        await asyncio.sleep(0)  # the first read is under way, held at its gate
        later = [asyncio.create_task(batched.get(key)) for key in (2, 3, 1)]
        await asyncio.sleep(0)
        reads.gate.set()
        return [await first, *[await task for task in later]], reads.calls

    found, calls = asyncio.run(scenario())
    assert found == [10, 20, 30, 10]
    assert calls == [[1], [1, 2, 3]]


def test_a_failed_read_reaches_its_waiters_and_the_next_batch_still_runs() -> None:
    async def scenario() -> tuple[list[Any], int | None]:
        reads = Reads()
        reads.fail = True
        batched: Batched[int, int] = Batched(reads)
        failed = await asyncio.gather(batched.get(1), batched.get(2), return_exceptions=True)
        reads.fail = False
        return failed, await batched.get(3)

    failed, after = asyncio.run(scenario())
    assert [type(error) for error in failed] == [RuntimeError, RuntimeError]
    assert after == 30


def test_a_waiter_that_leaves_does_not_stop_the_others() -> None:
    async def scenario() -> int | None:
        reads = Reads()
        reads.gate.clear()
        batched: Batched[int, int] = Batched(reads)
        leaving, staying = asyncio.create_task(batched.get(1)), asyncio.create_task(batched.get(1))
        await asyncio.sleep(0)
        leaving.cancel()
        reads.gate.set()
        return await staying

    assert asyncio.run(scenario()) == 10


# --- the hall displays' shared snapshot ---------------------------------------------------------


class CountedSnapshots:
    """The app's snapshots, with the reads counted and the monotonic clock in the test's hands."""

    def __init__(self, app: Starlette, clock: VirtualClock) -> None:
        self.reads = 0
        self.monotonic = 1000.0
        hub = app.state.hub

        async def read(work: Any) -> Any:
            self.reads += 1
            return await hub.read(work)

        app.state.snapshots = Snapshots(
            read, clock=clock, always_open=app.state.settings.always_open, monotonic=lambda: self.monotonic
        )


def snapshot_of(client: TestClient) -> dict[str, Any]:
    with client.websocket_connect("/ws/centres/DAM-01/display") as ws:
        return ws.receive_json()  # type: ignore[no-any-return]


def test_displays_that_connect_while_the_log_stays_share_one_snapshot(
    client: TestClient, app: Starlette, clock: VirtualClock
) -> None:
    counted = CountedSnapshots(app, clock)
    take_ticket(client)
    with client.websocket_connect("/ws/centres/DAM-01/display") as watcher:
        first = watcher.receive_json()
        assert (first["seq"], first["waiting"]["CR"]["waiting"], counted.reads) == (1, 1, 1)
        assert snapshot_of(client) == first
        assert snapshot_of(client) == first
        assert counted.reads == 1

        take_ticket(client)  # the log moves: the next display needs the new ticket in its snapshot
        assert watcher.receive_json()["seq"] == 2
        moved = snapshot_of(client)
        assert (moved["seq"], moved["waiting"]["CR"]["waiting"], counted.reads) == (2, 2, 2)

        counted.monotonic += MAX_AGE_S  # old enough: the waits it estimated have aged
        assert snapshot_of(client)["seq"] == 2
        assert counted.reads == 3

        clock.advance(3600)  # the application's clock jumps (a test's, or a corrected one)
        assert snapshot_of(client)["seq"] == 2
        assert counted.reads == 4


def test_a_display_never_gets_a_snapshot_older_than_its_feed(client: TestClient, app: Starlette) -> None:
    """A display that connects after the feed delivered an event, while the kept snapshot predates
    it, gets a new one: that event reaches it through no other way."""
    with client.websocket_connect("/ws/centres/DAM-01/display") as watcher:
        assert watcher.receive_json()["seq"] == 0
        for _ in range(3):
            take_ticket(client)
        assert [watcher.receive_json()["seq"] for _ in range(3)] == [1, 2, 3]
        newcomer = snapshot_of(client)
    assert (newcomer["seq"], newcomer["waiting"]["CR"]["waiting"]) == (3, 3)


# --- trackers' views, worked out together ------------------------------------------------------


def test_views_worked_out_together_are_the_views_of_each_ticket(
    client: TestClient, app: Starlette, database: Database, clock: VirtualClock
) -> None:
    tokens = [take_ticket(client, service)["token"] for service in ("CR", "ID", "CR", "CR", "ID")]
    tokens.append(take_ticket(client, "CR", priority="elderly")["token"])
    state = app.state

    def both(session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
        tickets = find_tickets(session, tokens=tokens)
        together = ticket_views(session, tickets, policy=state.policy, base_url="http://x", now=clock())
        centres = organisation(session).centres_by_id
        alone = {
            t.token: ticket_view(
                session, t, centre=centres[t.centre_id], policy=state.policy, base_url="http://x", now=clock()
            )
            for t in tickets
        }
        return together, alone

    with database.read() as session:
        together, alone = both(session)
    assert set(together) == set(tokens)
    assert together == alone
    # The elderly ticket goes ahead of the walk-ins of its queue that came before it.
    positions = [together[token].position for token in tokens]
    assert positions[5] is not None and positions[5] < positions[3]


def test_a_tracker_follows_its_ticket_through_the_shared_reads(client: TestClient, agent: TestClient) -> None:
    tokens = [take_ticket(client)["token"] for _ in range(3)]
    with (
        client.websocket_connect(f"/ws/tickets/{tokens[2]}") as third,
        client.websocket_connect(f"/ws/tickets/{tokens[1]}") as second,
    ):
        assert (third.receive_json()["position"], second.receive_json()["position"]) == (3, 2)
        agent.post("/api/v1/centres/DAM-01/counters/1/open")
        agent.post("/api/v1/centres/DAM-01/counters/1/next")
        assert (third.receive_json()["position"], second.receive_json()["position"]) == (2, 1)


@pytest.mark.parametrize("path", ["/ws/tickets/not-a-ticket", "/ws/centres/NOWHERE/display"])
def test_an_unknown_key_is_refused_through_the_shared_reads(client: TestClient, path: str) -> None:
    with client.websocket_connect(path) as ws:
        closed = ws.receive()
    assert closed["type"] == "websocket.close" and closed["code"] == 1008
    assert json.dumps(closed).count("unknown") == 1


def test_an_event_committed_while_a_snapshot_is_read_reaches_the_display(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL each statement sees what has committed by then: a ticket issued after the
    snapshot read the queue, before it read anything else, is shown by a delta, not counted in the
    snapshot's position and lost."""
    real = hall.centre_status
    issued: list[int] = []

    def then_issue(*args: Any, **kwargs: Any) -> Any:
        status = real(*args, **kwargs)
        if not issued:
            issued.append(take_ticket(client)["number"])  # from this worker thread, through the app
        return status

    monkeypatch.setattr(hall, "centre_status", then_issue)
    with client.websocket_connect("/ws/centres/DAM-01/display") as ws:
        snapshot = ws.receive_json()
        later = take_ticket(client)
        deltas = [ws.receive_json() for _ in range(2)]
    assert snapshot["seq"] == 0
    assert [(d["seq"], d["number"]) for d in deltas] == [(1, issued[0]), (2, later["number"])]


def test_a_ticket_started_or_finished_moves_only_its_own_tracker(
    client: TestClient, app: Starlette, agent: TestClient
) -> None:
    first, second = (take_ticket(client)["token"] for _ in range(2))
    views = app.state.tracker_views
    asked: list[str] = []
    read = views.batched.read

    async def counted(tokens: list[str]) -> Any:
        asked.extend(tokens)
        return await read(tokens)

    views.batched.read = counted
    with (
        client.websocket_connect(f"/ws/tickets/{first}") as mine,
        client.websocket_connect(f"/ws/tickets/{second}") as other,
    ):
        assert (mine.receive_json()["position"], other.receive_json()["position"]) == (1, 2)
        agent.post("/api/v1/centres/DAM-01/counters/1/open")
        agent.post("/api/v1/centres/DAM-01/counters/1/next")  # a call moves the whole queue
        assert (mine.receive_json()["status"], other.receive_json()["position"]) == ("called", 1)
        agent.post("/api/v1/centres/DAM-01/counters/1/start")
        assert mine.receive_json()["status"] == "serving"
        agent.post("/api/v1/centres/DAM-01/counters/1/finish")
        assert mine.receive_json()["status"] == "done"
        assert asked.count(second) == 2  # on connecting and after the call: not at the start or finish
        agent.post("/api/v1/centres/DAM-01/counters/1/next")
        assert other.receive_json()["status"] == "called"
