"""Named counters incremented atomically in the database, safe across processes."""

from __future__ import annotations

from sqlalchemy import BindParameter, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from config.prepared import Prepared, dialect_name
from queueing.models import Serial

_TABLE = Serial.__table__  # type: ignore[attr-defined]
_NAME: BindParameter[str] = bindparam("name")


def _statements(dialect: object) -> dict[str, Prepared]:
    """Prepared once: an issue takes two serials, and building the upsert cost more than running it."""
    insert = dialect.insert  # type: ignore[attr-defined]  # the dialect module's ON CONFLICT insert
    return {
        "next": Prepared(
            insert(_TABLE)
            .values(name=_NAME, last=1)
            .on_conflict_do_update(index_elements=[_TABLE.c.name], set_={"last": _TABLE.c.last + 1})
            .returning(_TABLE.c.last)
        ),
        "create": Prepared(insert(_TABLE).values(name=_NAME, last=0).on_conflict_do_nothing()),
        "lock": Prepared(select(_TABLE.c.last).where(_TABLE.c.name == _NAME).with_for_update()),
    }


_BY_DIALECT = {"sqlite": _statements(sqlite), "postgresql": _statements(postgresql)}


def next_value(session: Session, *, name: str) -> int:
    """Increments the counter `name` (creating it at 1) and returns its new value.

    One upsert statement: the row lock it takes is held to commit, so concurrent transactions get
    consecutive values in commit order, never the same one.
    """
    statement = _BY_DIALECT[dialect_name(session)]["next"]
    return int(statement.scalar(session, {"name": name}))


def lock(session: Session, *, name: str) -> None:
    """Holds the counter `name`'s row lock until commit (PostgreSQL; SQLite writers are serial)."""
    statements = _BY_DIALECT[dialect_name(session)]
    statements["create"].rows(session, {"name": name})
    statements["lock"].rows(session, {"name": name})
