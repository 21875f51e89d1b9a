"""Hot statements compiled once and run on the transaction's own driver connection.

SQLAlchemy spends some 80-190 Python calls executing one statement (execution context, events,
result objects), more than SQLite needs to run it, and an issue or a counter action runs about ten.
A `Prepared` statement is a Core statement compiled once per dialect; running it converts the
parameters with the columns' own type processors (SQLAlchemy's, so values are stored exactly as the
ORM stores them), hands the SQL to the driver and converts the rows back the same way. It runs in
the session's transaction (its savepoints included). Of SQLAlchemy's events it fires only
`before_cursor_execute` (what counts statements, in tests and benchmarks), and it is not echoed: an
organisation table must not be changed through one (its version hook would not see it:
docs/architecture.md).

Only plain bound parameters: no expanding `IN`, no literal rendering (compile refuses them).

On PostgreSQL the driver prepares a statement on the server once it has run a few times, and the
server may then run it on a plan made without the values (a generic plan). Where the best plan
depends on the values, a statement says so (`plan_with_values`) and is planned at every run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql import ClauseElement
from sqlmodel import Session, SQLModel

Processor = Callable[[Any], Any] | None
M = TypeVar("M", bound=SQLModel)
_HELD = "dor_prepared_connection"  # in a session's `info`: its transaction, connection, driver's
# update_row's, by model, the columns it writes and those it expects
_UPDATES: dict[tuple[type[SQLModel], tuple[str, ...], tuple[str, ...]], Prepared] = {}


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # Per parameter in the driver's order: its name, its value when not given, its processor.
    binds: tuple[tuple[str, Any, Processor], ...]
    names: tuple[str, ...]
    positional: bool
    results: tuple[Processor, ...]
    options: dict[str, Any]  # for the driver's execute


class Prepared:
    """One Core statement, compiled at its first run on each dialect; `rows`, `one`, `scalar` run it.

    `plan_with_values`: the server plans it at every run, with the values given (PostgreSQL: the
    driver does not prepare it). For a statement whose plan made without the values is much slower:
    a count of a range whose bounds decide which index scan is short.
    """

    def __init__(self, statement: ClauseElement, *, plan_with_values: bool = False) -> None:
        self.statement = statement
        self.plan_with_values = plan_with_values
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            options = {"prepare": False} if self.plan_with_values and dialect.name == "postgresql" else {}
            found = self._by_dialect[dialect.name] = _compile(self.statement, dialect, options)
        return found

    def rows(self, session: Session, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Runs the statement in the session's transaction; every row it returns, converted. As a
        query through the session would, it first writes the session's pending changes (autoflush)."""
        session._autoflush()  # what the ORM runs before a query: none while flushing or no_autoflush
        connection, driver = _connections(session)
        compiled = self._compiled(connection.dialect)
        values = []
        for name, default, process in compiled.binds:
            value = params.get(name, default)
            values.append(value if process is None else process(value))
        given = tuple(values) if compiled.positional else dict(zip(compiled.names, values, strict=True))
        listeners = connection.dispatch.before_cursor_execute
        if listeners:  # statements counted by tests and benchmarks: they see these too
            for listener in listeners:
                listener(connection, None, compiled.sql, given, None, False)
        cursor = driver.execute(compiled.sql, given, **compiled.options)
        if not compiled.results:
            return []
        return [_converted(row, compiled.results) for row in cursor.fetchall()]

    def loaded(
        self, session: Session, model: type[M], params: Mapping[str, Any], *, refresh: bool = False
    ) -> list[M]:
        """The rows of `model` the statement returns (every column of its table, in order) in the
        session, as a load puts them: a row the session holds already is returned as it is there or,
        with `refresh`, with the values just read (as `populate_existing`)."""
        names = model.__table__.columns.keys()  # type: ignore[attr-defined]
        keys = [column.key for column in model.__mapper__.primary_key]  # type: ignore[attr-defined]
        found = []
        for row in self.rows(session, params):
            values = dict(zip(names, row, strict=True))
            held = session.identity_map.get(identity_key(model, tuple(values[key] for key in keys)))
            if held is None:
                found.append(as_loaded(session, model, values))
                continue
            if refresh:
                for name, value in values.items():
                    set_committed_value(held, name, value)
            found.append(held)
        return found

    def one(self, session: Session, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row, or None."""
        found = self.rows(session, params)
        return found[0] if found else None

    def scalar(self, session: Session, params: Mapping[str, Any]) -> Any:
        """The first column of the first row, or None."""
        found = self.rows(session, params)
        return found[0][0] if found else None


def as_loaded(session: Session, model: type[M], values: Mapping[str, Any]) -> M:
    """A row of `model` with these values (its key's and every column's) in the session as if just
    loaded: the row a prepared INSERT wrote. Changes made to it later are flushed as for any row."""
    row: M = manager_of_class(model).new_instance()  # as a load does: no __init__, nothing validated
    row.__dict__.update(values)
    make_transient_to_detached(row)
    session.add(row)
    return row


def update_row(
    session: Session, row: SQLModel, *, expect: Mapping[str, Any] | None = None, **values: Any
) -> bool:
    """Writes these columns of a row the session holds with one prepared UPDATE by its key, and sets
    them on the row as written, as a flush leaves it: for the hot paths, where the unit of work cost
    some 250 Python calls to flush one changed row.

    With `expect` (column -> value), the row is written only if it still holds those values in the
    database: of two transactions that read the same state and change it, the second finds nothing
    to write. False then, and the row in hand is left as it was."""
    model = type(row)
    keys = model.__mapper__.primary_key  # type: ignore[attr-defined]
    expected = tuple(expect or ())
    statement = _UPDATES.get((model, tuple(values), expected))
    if statement is None:
        table = model.__table__  # type: ignore[attr-defined]
        where = [column == bindparam(f"key_{column.key}") for column in keys]
        where += [table.c[name] == bindparam(f"old_{name}") for name in expected]
        new: dict[str, Any] = {name: bindparam(f"new_{name}") for name in values}  # own names are reserved
        written = update(table).where(*where).values(new).returning(*(table.c[c.key] for c in keys))
        statement = _UPDATES[(model, tuple(values), expected)] = Prepared(written)
    params = {f"new_{name}": value for name, value in values.items()}
    params.update({f"key_{column.key}": getattr(row, column.key) for column in keys})
    params.update({f"old_{name}": value for name, value in (expect or {}).items()})
    if not statement.rows(session, params):
        return False
    for name, value in values.items():
        set_committed_value(row, name, value)
    return True


def dialect_name(session: Session) -> str:
    """The name of the dialect the session's transaction runs on (beginning it if need be), from
    what the prepared statements keep: asking the session for its connection costs more."""
    return _connections(session)[0].dialect.name


def _connections(session: Session) -> tuple[Connection, Any]:
    """The session's connection and its driver's, kept for its transaction: asking the session for
    them again costs more than a statement."""
    held: tuple[object, Connection, Any] | None = session.info.get(_HELD)
    transaction = session.get_transaction()
    if held is None or transaction is None or held[0] is not transaction:
        connection = session.connection()  # begins the transaction if need be
        driver = connection.connection.driver_connection
        held = session.info[_HELD] = (session.get_transaction(), connection, driver)
    return held[1], held[2]


def _converted(row: Sequence[Any], processors: tuple[Processor, ...]) -> tuple[Any, ...]:
    return tuple(
        value if process is None else process(value) for value, process in zip(row, processors, strict=True)
    )


def _compile(statement: ClauseElement, dialect: Dialect, options: dict[str, Any]) -> _Compiled:
    compiled: Any = statement.compile(dialect=dialect)
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise ValueError("a prepared statement takes plain bound parameters only")
    names: Sequence[str] = compiled.positiontup if compiled.positional else list(compiled.binds)
    # Columns left out of an INSERT or UPDATE whose default SQLAlchemy works out in Python: a
    # constant one is bound like any value; a computed one must be given.
    defaults = {}
    for column in [*compiled.insert_prefetch, *compiled.update_prefetch]:
        default = column.onupdate if column in compiled.update_prefetch else column.default
        if not default.is_scalar:
            raise ValueError(f"a prepared statement needs column {column.key} given (a computed default)")
        defaults[column.key] = default.arg
    binds = []
    for name in names:
        bind = compiled.binds[name]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        binds.append((name, defaults.get(name, bind.effective_value), process))
    columns = getattr(statement, "exported_columns", None) or ()
    results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns)
    return _Compiled(
        sql=compiled.string,
        binds=tuple(binds),
        names=tuple(names),
        positional=compiled.positional,
        results=results,
        options=options,
    )
