"""Prepared statements (config/prepared.py) store and read values exactly as the ORM does, in the
session's transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session, col
from sqlmodel import select as orm_select

from config.db import Database
from config.prepared import Prepared, as_loaded, dialect_name, update_row
from queueing.models import Ticket
from queueing.organisation import organisation

TICKETS = Ticket.__table__  # type: ignore[attr-defined]
AT = datetime(2026, 11, 29, 6, 30, 15, 250_000, tzinfo=UTC)
INSERT = Prepared(
    insert(TICKETS)
    .values(
        centre_id=bindparam("centre_id"),
        service_id=bindparam("service_id"),
        day=bindparam("day"),
        number=bindparam("number"),
        token=bindparam("token"),
        status="waiting",
        channel="kiosk",
        priority="none",
        language="ar",
        arrived_at=bindparam("at"),
        issued_at=bindparam("at"),
        away=bindparam("away"),
        call_times=bindparam("call_times"),
    )
    .returning(TICKETS.c.id)
)
READ = Prepared(
    select(TICKETS.c.arrived_at, TICKETS.c.day, TICKETS.c.away, TICKETS.c.call_times).where(
        TICKETS.c.token == bindparam("token")
    )
)
READ_ALL = Prepared(select(TICKETS).where(TICKETS.c.id == bindparam("id")))
LATER = Prepared(
    select(TICKETS.c.number).where(TICKETS.c.arrived_at > bindparam("at", type_=TICKETS.c.arrived_at.type))
)


def _ids(session: Session) -> dict[str, int]:
    known = organisation(session)
    centre_id, service_id = known.centres["DAM-01"].id, known.services["CR"].id
    assert centre_id is not None and service_id is not None
    return {"centre_id": centre_id, "service_id": service_id}


def _insert(session: Session, token: str, **values: object) -> int:
    params = {**_ids(session), "day": date(2026, 11, 29), "number": token[:8], "token": token, "at": AT}
    params |= {"away": True, "call_times": ["2026-11-29T06:31:00+00:00"]} | values
    return int(INSERT.scalar(session, params))


def test_values_written_and_read_back_as_the_orm_does(database: Database) -> None:
    with database.write() as session:
        ticket_id = _insert(session, "t-1")
    with database.read() as session:
        loaded = session.get(Ticket, ticket_id)
        assert loaded is not None
        assert (loaded.arrived_at, loaded.day, loaded.away) == (AT, date(2026, 11, 29), True)
        assert loaded.call_times == ["2026-11-29T06:31:00+00:00"]
        assert READ.one(session, {"token": "t-1"}) == (AT, date(2026, 11, 29), True, loaded.call_times)
        # Times compare as the ORM stores them: strings on SQLite, so the format must be the same.
        assert LATER.rows(session, {"at": AT.replace(microsecond=0)}) == [("t-1",)]
        assert LATER.rows(session, {"at": AT}) == []
        assert READ.one(session, {"token": "nobody"}) is None


def _write_that_fails(database: Database) -> None:
    with database.write() as session:
        _insert(session, "rolled-back")
        raise RuntimeError("the kiosk lost power")


def _savepoint_that_fails(session: Session) -> None:
    with session.begin_nested():
        _insert(session, "in-a-savepoint")
        raise RuntimeError("this write fails alone")


def test_runs_in_the_sessions_transaction_and_savepoints(database: Database) -> None:
    with pytest.raises(RuntimeError):
        _write_that_fails(database)
    with database.write() as session:
        with pytest.raises(RuntimeError):
            _savepoint_that_fails(session)
        _insert(session, "kept")
        # The ORM, in the same transaction, sees what the prepared statement wrote.
        assert session.exec(orm_select(Ticket.token).where(Ticket.token == "kept")).one() == "kept"
    with database.read() as session:
        tried = ["rolled-back", "in-a-savepoint", "kept"]
        assert session.exec(orm_select(Ticket.token).where(col(Ticket.token).in_(tried))).all() == ["kept"]


def test_a_prepared_read_sees_the_sessions_pending_changes(database: Database) -> None:
    with database.write() as session:
        _insert(session, "pending", away=True)
        ticket = session.exec(orm_select(Ticket).where(Ticket.token == "pending")).one()
        ticket.away = False  # not flushed yet
        assert READ.one(session, {"token": "pending"})[2] is False  # type: ignore[index]


def test_a_new_transaction_of_the_same_session_is_its_own(database: Database) -> None:
    set_away = Prepared(update(TICKETS).where(TICKETS.c.token == bindparam("token")).values(away=False))
    with Session(database.engine, expire_on_commit=False) as session:
        _insert(session, "first", away=True)
        session.commit()
        # Another user takes the connection the session gave back: the session's next transaction
        # runs on another, and so must the statement.
        with database.engine.connect():
            set_away.rows(session, {"token": "first"})
            session.rollback()  # the second transaction's change goes with it
    with database.read() as session:
        assert READ.one(session, {"token": "first"})[2] is True  # type: ignore[index]


def test_dialect_name_is_the_transactions_and_begins_it(database: Database) -> None:
    with Session(database.engine) as session:
        assert session.get_transaction() is None
        assert dialect_name(session) == ("sqlite" if database.is_sqlite else "postgresql")
        assert session.get_transaction() is not None


def test_refuses_parameters_it_cannot_bind_plainly(database: Database) -> None:
    many = Prepared(select(TICKETS.c.id).where(TICKETS.c.status.in_(bindparam("statuses", expanding=True))))
    with database.read() as session, pytest.raises(ValueError, match="plain bound parameters"):
        many.rows(session, {"statuses": ["waiting"]})


def test_a_row_written_by_a_prepared_insert_joins_the_session_as_if_loaded(database: Database) -> None:
    with database.write() as session:
        ticket_id = _insert(session, "joined", away=True)
        fields = Ticket.model_fields.items()
        values = {name: field.get_default(call_default_factory=True) for name, field in fields}
        row = READ_ALL.one(session, {"id": ticket_id})
        assert row is not None
        values |= dict(zip(TICKETS.columns.keys(), row, strict=True))
        ticket = as_loaded(session, Ticket, values)
        assert session.get(Ticket, ticket_id) is ticket
        assert not session.dirty  # nothing to write back: it is what the row holds
        ticket.away = False  # a change made afterwards is flushed as any row's
    with database.read() as session:
        assert READ.one(session, {"token": "joined"})[2] is False  # type: ignore[index]


def test_loaded_rows_are_the_sessions_own_refreshed_only_when_asked(database: Database) -> None:
    by_id = Prepared(select(TICKETS).where(TICKETS.c.id == bindparam("id")))
    with database.write() as session:
        ticket_id = _insert(session, "held", away=True)
        [first] = by_id.loaded(session, Ticket, {"id": ticket_id})
        assert (first.token, first.away) == ("held", True)
        Prepared(update(TICKETS).where(TICKETS.c.id == ticket_id).values(away=False)).rows(session, {})
        # The session holds the row: a load gives back the same object, as the ORM's would.
        assert by_id.loaded(session, Ticket, {"id": ticket_id}) == [first]
        assert first.away is True
        assert by_id.loaded(session, Ticket, {"id": ticket_id}, refresh=True) == [first]
        assert first.away is False
        assert by_id.loaded(session, Ticket, {"id": -1}) == []


def test_update_row_writes_the_columns_and_leaves_the_row_as_written(database: Database) -> None:
    with database.write() as session:
        ticket_id = _insert(session, "updated", away=True)
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.language = "en"  # a change of its own, pending: it is written too
        update_row(
            session, ticket, status="called", call_times=[*ticket.call_times, "2026-11-29T06:32:00+00:00"]
        )
        assert (ticket.status, len(ticket.call_times)) == ("called", 2)
        assert not session.dirty  # nothing left for the unit of work to write
    with database.read() as session:
        stored = session.get(Ticket, ticket_id)
        assert stored is not None
        assert (stored.status, stored.language, len(stored.call_times)) == ("called", "en", 2)


def _server_prepared(session: Session) -> int:
    """How many statements the session's connection has prepared on the server."""
    counted = session.connection().exec_driver_sql("SELECT count(*) FROM pg_prepared_statements")
    return int(counted.scalar_one())


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_statement_planned_with_its_values_is_never_prepared_on_the_server(database: Database) -> None:
    """The driver prepares a statement on the server once it has run a few times, and the server may
    then plan it without the values; one marked `plan_with_values` stays planned at every run."""
    by_values = Prepared(LATER.statement, plan_with_values=True)
    with database.read() as session:
        for _ in range(10):
            by_values.rows(session, {"at": AT})
        assert _server_prepared(session) == 0
        for _ in range(10):
            LATER.rows(session, {"at": AT})
        assert _server_prepared(session) == 1  # the same statement, unmarked
