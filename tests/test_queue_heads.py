"""Reading the order from a few rows (queueing/tickets.py): the heads of the lines give exactly what
ranking every waiting ticket with the policy gives, and the people ahead are the place in it.

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
from organisation.models import Centre, CentreService
from queueing.models import Ticket
from queueing.policy import (
    Candidate,
    PolicyConfig,
    Priority,
    choose_next,
    ordered,
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
    # Some of them the counter's backups, called only while its own queues are empty.
    backups = {s: w for s, w in weights.items() if data.draw(st.booleans(), label=f"backup {s}")}
    own = {s: w for s, w in weights.items() if s not in backups}
    with database.read() as session:
        heads = queue_heads(session, centre_id=centre_id, service_ids=list(weights), now=NOW)
        full = everyone(session, centre_id, list(weights))
    assert len(heads) <= 5 * len(weights)
    assert choose_next(heads, weights=own, backups=backups, now=NOW, config=policy) == choose_next(
        full, weights=own, backups=backups, now=NOW, config=policy
    )


def test_a_due_appointment_of_a_counters_own_queue_goes_before_an_earlier_one_of_its_backup(
    database: Database,
) -> None:
    # Found by the simulator's two engines disagreeing: the due appointments were one line across
    # the counter's queues, so a backup queue's earlier appointment hid the own queue's, and the
    # counter called a walk-in of its own queue before the own queue's due appointment.
    waiting = TicketStatus.WAITING.value
    queue = [
        Row(service=1, priority=Priority.NONE, arrived_s=1200, appointment_s=-1200, status=waiting),
        Row(service=0, priority=Priority.NONE, arrived_s=600, appointment_s=-600, status=waiting),
        Row(service=0, priority=Priority.NONE, arrived_s=1800, appointment_s=None, status=waiting),
    ]
    centre_id, services = fill(database, queue)
    own, backups = {services[0]: 1.0}, {services[1]: 1.0}
    with database.read() as session:
        heads = queue_heads(session, centre_id=centre_id, service_ids=services[:2], now=NOW)
    called = choose_next(heads, weights=own, backups=backups, now=NOW, config=PolicyConfig())
    assert called is not None and called.appointment_at == NOW - timedelta(seconds=600)


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
            places = {}
            for ticket in session.exec(select(Ticket).where(Ticket.service_id == service_id)).all():
                places[ticket.id] = people_ahead(session, ticket=ticket, policy=policy, now=NOW)
            waiting = {c.ticket_id: i for i, c in enumerate(line)}
            assert places == {i: waiting.get(i, 0) for i in places}


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
    by_line = (
        "SEARCH ticket USING INDEX ix_ticket_line (centre_id=? AND status=? AND service_id=? AND priority=?)"
    )
    for service in range(SERVICES):  # each service's due appointments, then its line of each class
        due, *lines = reads[service * (1 + len(Priority)) : (service + 1) * (1 + len(Priority))]
        assert due.startswith("SEARCH ticket USING INDEX ix_ticket_due")
        assert lines == [by_line] * len(Priority)
    assert len(reads) == SERVICES * (1 + len(Priority))
    assert not any("TEMP B-TREE FOR ORDER BY" in step for step in plan)  # the lines come in order
