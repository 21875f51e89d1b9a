"""SQL that SQLAlchemy writes differently per database, for the statements that need it."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import JSON, BigInteger, Integer


class appended(FunctionElement[Any]):  # named as SQL functions are
    """A JSON array column with one more text (a value or a bound parameter) at its end, in the UPDATE
    that writes it: no read of the row before, so two writers cannot lose each other's item."""

    type = JSON()
    inherit_cache = True

    def __init__(self, column: Any, text: Any) -> None:
        super().__init__(column, text)


@compiles(appended, "sqlite")
def _sqlite(element: appended, compiler: Any, **kw: Any) -> str:
    column, text = element.clauses
    return f"json_insert({compiler.process(column, **kw)}, '$[#]', {compiler.process(text, **kw)})"


@compiles(appended, "postgresql")
def _postgresql(element: appended, compiler: Any, **kw: Any) -> str:
    column, text = element.clauses
    array = f"CAST({compiler.process(column, **kw)} AS jsonb)"
    return f"CAST({array} || jsonb_build_array(CAST({compiler.process(text, **kw)} AS text)) AS json)"


# A ticket's id, and the columns that name one: 64 bits, because a centre node numbers its tickets
# from its centre's id times 2^32 (docs/centre-node.md). SQLite's INTEGER is 64 bits already, and
# only INTEGER makes its primary key the table's own row id.
TICKET_ID = BigInteger().with_variant(Integer(), "sqlite")


class Stored(Protocol):
    id: int | None


def id_of(row: Stored) -> int:
    """The primary key of a row that has been flushed (SQLModel types it as optional)."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: flush it first")
    return row.id
