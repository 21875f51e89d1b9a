"""One wait model per point of a centre's log (queueing/waits.py): requests at the same point share
it, a new ticket's promise builds on the one before, and nothing a rolled-back transaction saw is
kept. Each test compares against the same request with sharing turned off."""

import random
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from sqlalchemy import event, update
from sqlmodel import Session, select
from starlette.testclient import TestClient

from config.db import Database
from queueing import waits
from queueing.catalogue import find_centre, find_service
from queueing.models import Service, Ticket
from queueing.policy import PolicyConfig, Priority
from queueing.tickets import issue_ticket
from queueing.waits import promise
from tests.conftest import OPEN_HOURS, VirtualClock, sign_in, take_ticket

COUNTERS = "/api/v1/centres/DAM-01/counters"
FIELDS = ("position", "estimated_wait_s", "estimated_wait_range_s")


def standing(client: TestClient, token: str) -> tuple[Any, ...]:
    view = client.get(f"/api/v1/tickets/{token}").json()
    return tuple(view[f] for f in FIELDS)


def fresh_standing(client: TestClient, token: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    """The same view with every model read afresh."""
    with monkeypatch.context() as patch:
        patch.setattr(waits, "MODEL_REUSE_S", -1.0)
        return standing(client, token)


@pytest.fixture
def model_reads(database: Database) -> Iterator[list[str]]:
    """The statements that read which counters can call (one per model read afresh)."""
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "JOIN counter_service" in statement and "counter.is_open" in statement:
            seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    yield seen
    event.remove(database.engine, "before_cursor_execute", count)


def test_promises_and_views_match_a_fresh_model_through_a_busy_morning(
    client: TestClient, app: Any, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tickets of three services and all priorities arrive while three counters call, serve and
    finish; every promise, and every waiting ticket's view after each step, is what a model read
    afresh gives."""
    moves = random.Random(20261129)
    waiting: list[str] = []
    with ExitStack() as stack:
        desks = [stack.enter_context(sign_in(app, name)) for name in ("agent1", "agent2", "admin")]
        for number, desk in enumerate(desks, start=1):
            assert desk.post(f"{COUNTERS}/{number}/open").status_code == 200
        for _ in range(40):
            if moves.random() < 0.6:
                priority = moves.choice(["none", "none", "none", "elderly", "disabled", "pregnant"])
                issued = take_ticket(client, moves.choice(["CR", "FS", "ID"]), priority=priority)
                assert tuple(issued[f] for f in FIELDS) == fresh_standing(
                    client, issued["token"], monkeypatch
                )
                waiting.append(issued["token"])
            else:
                number = moves.randint(1, len(desks))
                desk, counter = desks[number - 1], f"{COUNTERS}/{number}"
                for action in ("finish", "next", "start"):
                    desk.post(f"{counter}/{action}")  # refused where it does not apply (409/204)
            # Never less than MODEL_REUSE_S, so a kept model must match exactly: within it, the
            # services' ages would be seconds off (test_a_kept_model_is_read_again_...).
            clock.advance(moves.choice([0, 0, 30, 90]))
            for token in waiting:
                if client.get(f"/api/v1/tickets/{token}").json()["status"] == "waiting":
                    assert standing(client, token) == fresh_standing(client, token, monkeypatch)


def test_views_at_one_point_of_the_log_read_the_model_once(
    client: TestClient, agent: TestClient, model_reads: list[str]
) -> None:
    tokens = [take_ticket(client)["token"] for _ in range(5)]
    model_reads.clear()
    for token in tokens:
        assert client.get(f"/api/v1/tickets/{token}").status_code == 200
    assert model_reads == []  # kept from the last promise
    assert agent.post(f"{COUNTERS}/1/open").status_code == 200
    for token in tokens:
        assert client.get(f"/api/v1/tickets/{token}").status_code == 200
    assert len(model_reads) == 1


def issue_at_dam(session: Session, service_code: str = "CR", priority: Priority = Priority.NONE) -> Ticket:
    """A kiosk ticket of DAM-01, issued in `session` at the tests' opening hour."""
    centre, service = find_centre(session, code="DAM-01"), find_service(session, code=service_code)
    assert centre is not None and service is not None
    return issue_ticket(
        session, centre=centre, service=service, channel="kiosk", actor="t", now=OPEN_HOURS, priority=priority
    )


def issue_and_lose_power(database: Database) -> None:
    """A CR ticket issued and promised, in a transaction that then fails."""
    with database.write() as session:
        ticket = issue_at_dam(session)
        promise(session, ticket=ticket, policy=PolicyConfig(), now=OPEN_HOURS)
        raise RuntimeError("the kiosk lost power")


def test_nothing_a_rolled_back_issue_saw_is_kept(
    client: TestClient, agent: TestClient, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    take_ticket(client)
    kept = take_ticket(client)  # one ahead of it, so that its wait depends on the counters
    with pytest.raises(RuntimeError, match="lost power"):
        issue_and_lose_power(database)
    # The next change takes the rolled-back issue's seq and keeps no model of its own.
    assert agent.post(f"{COUNTERS}/1/open").status_code == 200
    assert standing(client, kept["token"]) == fresh_standing(client, kept["token"], monkeypatch)


def test_a_kept_model_is_read_again_after_ten_seconds(
    client: TestClient, database: Database, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change no event records (a service's configured mean, set by an admin) shows within
    MODEL_REUSE_S."""
    take_ticket(client)  # one ahead: with no counter open the wait is the configured mean
    second = take_ticket(client)
    with database.write() as session:
        session.execute(update(Service).where(Service.code == "CR").values(mean_service_s=1800))
    before = standing(client, second["token"])
    assert before[1] == second["estimated_wait_s"]  # the kept model, from before the change
    clock.advance(waits.MODEL_REUSE_S + 1)
    after = standing(client, second["token"])
    assert after[1] > before[1]
    assert after == fresh_standing(client, second["token"], monkeypatch)


def issue_comparing(service_code: str, priority: Priority, *, fail: bool = False) -> Any:
    """A write that issues a ticket and returns its promise beside the standing a fresh model gives."""

    def work(session: Session) -> tuple[Any, Any]:
        ticket = issue_at_dam(session, service_code, priority)
        place = promise(session, ticket=ticket, policy=PolicyConfig(), now=OPEN_HOURS)
        if fail:
            raise RuntimeError("the kiosk lost power")
        fresh = waits._read_model(session, centre_id=ticket.centre_id, now=OPEN_HOURS)
        again = waits.standing(session, ticket=ticket, policy=PolicyConfig(), now=OPEN_HOURS, model=fresh)
        return place, again

    return work


def test_issues_sharing_a_transaction_pass_their_model_on(
    agent: TestClient, client: TestClient, database: Database, model_reads: list[str]
) -> None:
    """Writes that queue for SQLite's writer share a transaction (config/db.py, write_each): each
    issue's promise builds on the one before in it, as on a commit, except one that failed."""
    assert agent.post(f"{COUNTERS}/1/open").status_code == 200
    take_ticket(client)
    works = [
        issue_comparing("CR", Priority.NONE),
        issue_comparing("FS", Priority.ELDERLY),
        issue_comparing("CR", Priority.PREGNANT, fail=True),
        issue_comparing("CR", Priority.NONE),
        issue_comparing("ID", Priority.NONE),
    ]
    model_reads.clear()
    outcomes = database.write_each(works)
    assert isinstance(outcomes[2].error, RuntimeError)
    for outcome in (outcomes[0], outcomes[1], outcomes[3], outcomes[4]):
        place, fresh = outcome.result()
        assert place == fresh
    # No model read for the issues: the first builds on the model the last commit kept, each other
    # on the issue before it. The four reads are the fresh models the test reads itself.
    assert len(model_reads) == 4


def test_the_wait_promised_at_issue_is_kept_on_the_ticket(client: TestClient, database: Database) -> None:
    """The calibration of the ranges compares each promise with the wait that came."""
    issued = [take_ticket(client, "CR") for _ in range(3)]
    assert [view["estimated_wait_s"] > 0 for view in issued] == [False, True, True]  # the first: nobody ahead
    with database.read() as session:
        for view in issued:
            ticket = session.exec(select(Ticket).where(Ticket.token == view["token"])).one()
            assert ticket.predicted_wait_s == view["estimated_wait_s"]
