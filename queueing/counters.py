"""Counters as the engine reads them: a counter with the ticket in its hand, and the queues it serves.
Their commands are in queueing/engine.py."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, bindparam
from sqlmodel import Session, col, select

from organisation.models import Counter, QueueRole
from organisation.snapshot import organisation
from queueing.models import Ticket
from queueing.tickets import IN_HAND


def find_counter(session: Session, *, centre_id: int, number: int, lock: bool = False) -> Counter | None:
    """A centre's counter by number; `lock` holds its row until commit (PostgreSQL; SQLite locks at BEGIN),
    so that two requests on one counter never interleave."""
    query = select(Counter).where(Counter.centre_id == centre_id, Counter.number == number)
    return session.exec(query.with_for_update() if lock else query).first()


def current_ticket(session: Session, *, counter_id: int) -> Ticket | None:
    """The ticket called to or being served at this counter."""
    return session.exec(select(Ticket).where(Ticket.counter_id == counter_id, IN_HAND)).first()


_DESK = (
    select(Counter, Ticket)
    .outerjoin(Ticket, and_(col(Ticket.counter_id) == Counter.id, IN_HAND))
    .where(Counter.centre_id == bindparam("centre_id"), Counter.number == bindparam("number"))
    .with_for_update(of=Counter)
)


def find_desk_rows(session: Session, *, centre_id: int, number: int) -> tuple[Counter, Ticket | None] | None:
    """A centre's counter by number and the ticket in its hand, in one statement; the counter's row
    is locked until commit (PostgreSQL; SQLite's writer holds the database), so that two requests on
    one counter never interleave their changes."""
    found = session.exec(_DESK, params={"centre_id": centre_id, "number": number}).first()
    return None if found is None else (found[0], found[1])


@dataclass(frozen=True)
class Queues:
    """The queues a counter serves, service id -> weight: its own (main or boosted) and its backups."""

    own: dict[int, float]
    backups: dict[int, float]

    def all(self) -> dict[int, float]:
        return {**self.backups, **self.own}


def counter_queues(session: Session, *, counter_id: int) -> Queues:
    """The services a counter serves, by role."""
    rows = organisation(session).queues.get(counter_id, ())
    backup = QueueRole.BACKUP.value
    return Queues(
        own={s: w for s, w, role in rows if role != backup},
        backups={s: w for s, w, role in rows if role == backup},
    )
