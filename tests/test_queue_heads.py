"""Reading the order from a few rows (queueing/tickets.py): the heads of the lines and the COUNT of
the people ahead give exactly what ranking every waiting ticket with the policy gives.

The reference is the policy run over all the waiting tickets (`waiting_candidates`), on random queues:
several services, every priority class, appointments due and not yet due, arrivals on a 30 s grid (so
scores tie across classes) with or without a microsecond jitter, some past the ageing limit and a few
in the future, next to tickets that no longer wait. Each database test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlmodel import Session, col, delete, select

from config.db import Database
from queueing.models import Centre, CentreService, Ticket
from queueing.policy import (
    Candidate,
    PolicyConfig,
    Priority,
    choose_next,
    is_due,
    ordered,
    overtakers,
    rank_key,
)
from queueing.states import TicketStatus
from queueing.tickets import people_ahead, queue_heads, waiting_candidates
from tests.conftest import Templates

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
SERVICES = 3  # the first three services DAM-01 offers
DATABASE_RUNS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@dataclass(frozen=True)
class Row:
    """A ticket to put in the database; `service` indexes the centre's services."""

    service: int
    priority: Priority
    arrived_s: float  # seconds before NOW (negative: after NOW)
    appointment_s: int | None  # seconds after NOW
    status: str


instants = st.builds(
    lambda grid, jitter: grid * 30 + jitter,
    # Up to 2 h 05 min ago: some past the 90-minute limit, a few still to come; and often one of a few
    # instants, so that arrivals coincide, scores tie across classes (900 s apart) and one ticket has
    # waited exactly the limit.
    st.integers(-4, 250) | st.sampled_from([10, 40, 70, 180]),
    st.just(0.0) | st.just(0.0) | st.integers(0, 999_999).map(lambda us: us / 1e6),
)
rows = st.lists(
    st.builds(
        Row,
        service=st.integers(0, SERVICES - 1),
        priority=st.sampled_from(list(Priority)),
        arrived_s=instants,
        appointment_s=st.none() | st.none() | st.integers(-6, 6).map(lambda n: n * 600),
        status=st.sampled_from([TicketStatus.WAITING.value] * 5 + [TicketStatus.DONE.value]),
    ),
    max_size=25,
)
head_start = st.sampled_from([0.0, 300.0, 900.0, 1234.567891])
policies = st.builds(
    lambda elderly, disabled, pregnant, max_wait: PolicyConfig(
        priority_head_start_s={
            Priority.ELDERLY: elderly,
            Priority.DISABLED: disabled,
            Priority.PREGNANT: pregnant,
        },
        max_wait_s=max_wait,
    ),
    head_start,
    head_start,
    head_start,
    st.sampled_from([5400.0, 1800.0, 2700.5]),
)
weight = st.sampled_from([1.0, 0.5, 2.0]) | st.floats(0.0, 3.0)


def fill(database: Database, queue: Sequence[Row]) -> tuple[int, list[int]]:
    """Replaces DAM-01's tickets with `queue`: the centre's id and its services' ids."""
    with database.write() as session:
        centre = session.exec(select(Centre).where(Centre.code == "DAM-01")).one()
        assert centre.id is not None
        offered = session.exec(
            select(CentreService.service_id)
            .where(CentreService.centre_id == centre.id)
            .order_by(col(CentreService.service_id))
        ).all()
        services = list(offered[:SERVICES])
        session.exec(delete(Ticket))
        for n, row in enumerate(queue):
            session.add(
                Ticket(
                    centre_id=centre.id,
                    service_id=services[row.service],
                    day=NOW.date(),
                    number=f"Q-{n:03d}",
                    token=uuid.uuid4().hex,
                    status=row.status,
                    channel="kiosk",
                    priority=row.priority.value,
                    arrived_at=NOW - timedelta(seconds=row.arrived_s),
                    issued_at=NOW,
                    appointment_at=None
                    if row.appointment_s is None
                    else NOW + timedelta(seconds=row.appointment_s),
                )
            )
        return centre.id, services


def everyone(session: Session, centre_id: int, services: Sequence[int]) -> list[Candidate]:
    return waiting_candidates(session, centre_id=centre_id, service_ids=services)


@DATABASE_RUNS
@given(queue=rows, served=st.sets(st.integers(0, SERVICES - 1), min_size=1), data=st.data(), policy=policies)
def test_the_heads_hold_the_ticket_a_counter_calls(
    database: Database, queue: list[Row], served: set[int], data: st.DataObject, policy: PolicyConfig
) -> None:
    centre_id, services = fill(database, queue)
    weights = {services[i]: data.draw(weight, label=f"weight {i}") for i in sorted(served)}
    with database.read() as session:
        heads = queue_heads(session, centre_id=centre_id, service_ids=list(weights), now=NOW)
        full = everyone(session, centre_id, list(weights))
    assert len(heads) <= 1 + 4 * len(weights)
    assert choose_next(heads, weights=weights, now=NOW, config=policy) == choose_next(
        full, weights=weights, now=NOW, config=policy
    )


@DATABASE_RUNS
@given(queue=rows, per_queue=st.integers(1, 4), data=st.data(), policy=policies)
def test_the_first_k_of_the_heads_are_the_first_k_of_the_queue(
    database: Database, queue: list[Row], per_queue: int, data: st.DataObject, policy: PolicyConfig
) -> None:
    centre_id, services = fill(database, queue)
    weights = {s: data.draw(weight, label=f"weight {s}") for s in services}
    with database.read() as session:
        heads = queue_heads(session, centre_id=centre_id, service_ids=services, now=NOW, per_queue=per_queue)
        full = everyone(session, centre_id, services)
    first = ordered(full, weights=weights, now=NOW, config=policy)[:per_queue]
    assert ordered(heads, weights=weights, now=NOW, config=policy)[:per_queue] == first


@DATABASE_RUNS
@given(queue=rows, policy=policies)
def test_people_ahead_is_the_place_in_the_policys_order(
    database: Database, queue: list[Row], policy: PolicyConfig
) -> None:
    centre_id, services = fill(database, queue)
    with database.read() as session:
        for service_id in services:
            line = ordered(
                everyone(session, centre_id, [service_id]), weights={service_id: 1.0}, now=NOW, config=policy
            )
            places, given_length = {}, {}
            for ticket in session.exec(select(Ticket).where(Ticket.service_id == service_id)).all():
                places[ticket.id] = people_ahead(session, ticket=ticket, policy=policy, now=NOW)
                # As a new ticket's promise counts, told the queue's length by the wait model.
                given_length[ticket.id] = people_ahead(
                    session, ticket=ticket, policy=policy, now=NOW, waiting=len(line)
                )
            waiting = {c.ticket_id: i for i, c in enumerate(line)}
            assert places == given_length == {i: waiting.get(i, 0) for i in places}


# The pure part: which tickets of a class go before a given one, against rank_key itself, at
# microsecond resolution and any weight.
moments = st.integers(-3 * 3600 * 10**6, 600 * 10**6).map(lambda us: NOW + timedelta(microseconds=us))
candidates = st.builds(
    Candidate,
    ticket_id=st.integers(1, 50),
    service_id=st.just(1),
    arrived_at=moments,
    priority=st.sampled_from(list(Priority)),
    appointment_at=st.none() | moments,
)


@settings(max_examples=300)
@given(me=candidates, others=st.lists(candidates, max_size=20), w=weight, policy=policies, data=st.data())
def test_overtakers_are_those_rank_key_puts_first(
    me: Candidate, others: list[Candidate], w: float, policy: PolicyConfig, data: st.DataObject
) -> None:
    if is_due(me, now=NOW):
        return
    # Some others arrive exactly at the edge the helper computes, or with the same arrival as `me`.
    for i, other in enumerate(others):
        cut = overtakers(me, priority=other.priority, weight=w, now=NOW, config=policy)
        edge = [me.arrived_at] + ([cut.before, cut.before - timedelta(microseconds=1)] if cut.before else [])
        moved = data.draw(st.sampled_from([other.arrived_at, *edge]), label=f"arrival {i}")
        other = Candidate(other.ticket_id, 1, moved, other.priority, other.appointment_at)
        if is_due(other, now=NOW) or other.ticket_id == me.ticket_id:
            continue
        first = rank_key(other, weight=w, now=NOW, config=policy) < rank_key(
            me, weight=w, now=NOW, config=policy
        )
        by_cut = (cut.before is None or other.arrived_at < cut.before) or (
            cut.same_arrival and other.arrived_at == me.arrived_at and other.ticket_id < me.ticket_id
        )
        assert first == by_cut


@pytest.fixture
def sqlite_database(templates: Templates, tmp_path: Path) -> Iterator[Database]:
    """SQLite alone: its plans follow the indexes and the statement only, not the table's contents."""
    url, _ = templates.get("sqlite", seeded=True).clone(tmp_path)
    database = Database(url)
    yield database
    database.dispose()


def test_a_call_reads_each_line_through_its_index_not_the_centres_history(sqlite_database: Database) -> None:
    """Each line of queue_heads is an index search that stops at its LIMIT, so a call costs the same
    on the first day and after a year of tickets served (it once walked every ticket by arrival)."""
    centre_id, services = fill(sqlite_database, [])
    statements: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        statements.append((statement, parameters))

    event.listen(sqlite_database.engine, "before_cursor_execute", keep)
    with sqlite_database.read() as session:
        queue_heads(session, centre_id=centre_id, service_ids=services, now=NOW, callable_only=True)
    event.remove(sqlite_database.engine, "before_cursor_execute", keep)
    [(statement, parameters)] = [(s, p) for s, p in statements if "UNION ALL" in s]
    with sqlite_database.engine.connect() as connection:
        plan = [row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
    reads = [step for step in plan if step.startswith(("SCAN ticket", "SEARCH ticket"))]
    assert reads[0].startswith("SEARCH ticket USING INDEX ix_ticket_due")  # the due appointments
    by_line = "(centre_id=? AND status=? AND service_id=? AND priority=?)"
    assert reads[1:] == [f"SEARCH ticket USING INDEX ix_ticket_line {by_line}"] * (SERVICES * len(Priority))
    assert not any("TEMP B-TREE FOR ORDER BY" in step for step in plan)  # the lines come in order


def test_people_ahead_are_counted_from_the_line_index_alone(sqlite_database: Database) -> None:
    """The count reads no ticket's row: each waiting ticket's class, arrival and appointment are in
    ix_ticket_line (it once read every waiting ticket's row, 1.45 ms at 2,000 waiting); and it
    counts the queue, less the ranges of those that do not go first, in the lines where there can
    be any: every elderly, disabled or pregnant ticket goes before a walk-in with no priority."""
    centre_id, _ = fill(sqlite_database, [Row(0, Priority.NONE, 60, None, TicketStatus.WAITING.value)])
    statements: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        statements.append((statement, parameters))

    with sqlite_database.read() as session:
        ticket = session.exec(select(Ticket).where(Ticket.centre_id == centre_id)).one()
        event.listen(sqlite_database.engine, "before_cursor_execute", keep)
        assert people_ahead(session, ticket=ticket, policy=PolicyConfig(), now=NOW) == 0
        event.remove(sqlite_database.engine, "before_cursor_execute", keep)
    [(statement, parameters)] = [(s, p) for s, p in statements if "count(*)" in s]
    with sqlite_database.engine.connect() as connection:
        plan = [row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
    reads = [step for step in plan if step.startswith(("SCAN ticket", "SEARCH ticket"))]
    line = "SEARCH ticket USING COVERING INDEX ix_ticket_line (centre_id=? AND status=? AND service_id=?"
    assert reads[0] == f"{line})"  # the whole queue, counted in the index
    # In its own class's line, those that do not go first: a range of arrivals, less those tied
    # with the ticket. No other line is read.
    assert reads[1:] == [
        f"{line} AND priority=? AND arrived_at>?)",
        f"{line} AND priority=? AND arrived_at=? AND id<?)",
    ]
