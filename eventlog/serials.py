"""Named counters incremented atomically in the database, safe across processes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from eventlog.models import Serial

SERIALS = Serial.__table__  # type: ignore[attr-defined]
DIALECTS = {"sqlite": sqlite, "postgresql": postgresql}


def bump(dialect: str, *also: ColumnElement[Any]) -> Any:
    """The statement that increments the serial named by the parameter `name` (creating it at 1) and
    returns its new value, then the `also` columns (expressions over the serial's new row).

    One upsert: the row lock it takes is held to commit, so concurrent transactions get consecutive
    values in commit order, never the same one."""
    upsert = DIALECTS[dialect].insert(SERIALS).values(name=bindparam("name"), last=1)
    return upsert.on_conflict_do_update(
        index_elements=[SERIALS.c.name], set_={"last": SERIALS.c.last + 1}
    ).returning(SERIALS.c.last, *also)


_NEXT = {dialect: bump(dialect) for dialect in DIALECTS}


def dialect_of(session: Session) -> str:
    """The name of the dialect the session's database speaks."""
    return session.get_bind().dialect.name


def next_value(session: Session, *, name: str) -> int:
    """Increments the counter `name` (creating it at 1) and returns its new value."""
    return int(session.execute(_NEXT[dialect_of(session)], {"name": name}).scalar_one())


def set_value(session: Session, *, name: str, value: int) -> None:
    """Sets the counter `name` to `value` (creating it): a log taken in from elsewhere moves its head."""
    upsert = DIALECTS[dialect_of(session)].insert(SERIALS).values(name=name, last=value)
    session.execute(upsert.on_conflict_do_update(index_elements=[SERIALS.c.name], set_={"last": value}))
