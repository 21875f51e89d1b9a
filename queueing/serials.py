"""Named counters incremented atomically in the database, safe across processes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from queueing.models import Serial


def next_value(session: Session, *, name: str) -> int:
    """Increments the counter `name` (creating it at 1) and returns its new value.

    One upsert statement: the row lock it takes is held to commit, so concurrent transactions get
    consecutive values in commit order, never the same one.
    """
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    table = Serial.__table__  # type: ignore[attr-defined]
    statement = (
        dialect.insert(table)
        .values(name=name, last=1)
        .on_conflict_do_update(index_elements=[table.c.name], set_={"last": table.c.last + 1})
        .returning(table.c.last)
    )
    return int(session.execute(statement).scalar_one())


def lock(session: Session, *, name: str) -> None:
    """Holds the counter `name`'s row lock until commit (PostgreSQL; SQLite writers are serial)."""
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    table = Serial.__table__  # type: ignore[attr-defined]
    session.execute(dialect.insert(table).values(name=name, last=0).on_conflict_do_nothing())
    session.execute(select(table.c.last).where(table.c.name == name).with_for_update())
