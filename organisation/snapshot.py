"""The organisation held in memory: centres, services, what each centre offers, the queues of each
counter, devices, staff and their centres. Every request needs some of it, and it rarely changes.

A change to any of it, committed by any process, bumps a version (a serial): each transaction
reads the version once, in one statement, and uses the copy in memory while it matches, or reads
the organisation again. A transaction that changes the organisation itself reads it afresh, its
own changes included, and does not keep that copy: it may still roll back.

The rows held are detached copies shared by every request of the process: read them, never
change or `add` them. A write that changes a row loads it in its own session (catalogue.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, UOWTransaction
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.pool import Pool
from sqlmodel import Session, col, select

from eventlog.models import Serial
from eventlog.serials import next_value
from organisation.models import (
    Centre,
    CentreService,
    CounterService,
    Device,
    DeviceKind,
    Service,
    Staff,
    StaffCentre,
)

log = logging.getLogger(__name__)

MODELS = (Centre, Service, CentreService, CounterService, Device, Staff, StaffCentre)
_TABLES = frozenset(model.__tablename__ for model in MODELS)
VERSION_SERIAL = "organisation"
# In a session's `info`: True once this transaction has changed the organisation.
CHANGED = "dor_organisation_changed"
# In a session's `info`: the organisation this transaction uses.
IN_TRANSACTION = "dor_organisation"
_VERSION = select(Serial.last).where(Serial.name == VERSION_SERIAL)

R = TypeVar("R")
# In a shared row's instance state: attaching it to a session is refused (`_refuse_shared`).
SHARED = "dor_shared"
# A counter's queues: (service id, weight, role) for each service it serves.
QueueRows = tuple[tuple[int, float, str], ...]


@dataclass(frozen=True)
class Organisation:
    """The organisation as of one version (None: with a transaction's own changes, not kept)."""

    version: int | None
    centres: dict[str, Centre]
    centres_by_id: dict[int, Centre]
    services: dict[str, Service]
    services_by_id: dict[int, Service]
    offers: dict[tuple[int, int], CentreService]
    queues: dict[int, QueueRows]
    devices: dict[str, Device]  # live devices by token hash
    staff: dict[int, Staff]
    staff_centres: dict[int, frozenset[int]]
    # Centres whose queue a centre node runs (a live device of kind node): the central leaves it alone.
    node_centres: frozenset[int]


# One organisation per database: the key is its connection pool, which every engine on it shares.
_KEPT: WeakKeyDictionary[Pool, Organisation] = WeakKeyDictionary()


def organisation(session: Session) -> Organisation:
    """The organisation as this transaction sees it."""
    found: Organisation | None = session.info.get(IN_TRANSACTION)
    if found is not None:
        return found
    session.flush()  # pending changes to the organisation mark the transaction before it decides
    if session.info.get(CHANGED):
        found = _read(session, version=None)
    else:
        version = session.exec(_VERSION).first() or 0
        pool = session.connection().engine.pool
        found = _KEPT.get(pool)
        if found is None or found.version != version:
            found = _read(session, version=version)
            _KEPT[pool] = found
    session.info[IN_TRANSACTION] = found
    return found


def _read(session: Session, *, version: int | None) -> Organisation:
    if version is not None:
        log.info("reading the organisation at version %d", version)
    centres = _detached(session, session.exec(select(Centre)).all())
    services = _detached(session, session.exec(select(Service)).all())
    queues: dict[int, list[tuple[int, float, str]]] = {}
    for link in session.exec(select(CounterService)).all():
        queues.setdefault(link.counter_id, []).append((link.service_id, link.weight, link.role))
    staff_centres: dict[int, set[int]] = {}
    for staff_id, centre_id in session.exec(select(StaffCentre.staff_id, StaffCentre.centre_id)).all():
        staff_centres.setdefault(staff_id, set()).add(centre_id)
    live = select(Device).where(col(Device.revoked_at).is_(None))
    devices = {d.token_hash: d for d in _detached(session, session.exec(live).all())}
    return Organisation(
        version=version,
        centres={c.code: c for c in centres},
        centres_by_id={c.id: c for c in centres if c.id is not None},
        services={s.code: s for s in services},
        services_by_id={s.id: s for s in services if s.id is not None},
        offers={
            (o.centre_id, o.service_id): o
            for o in _detached(session, session.exec(select(CentreService)).all())
        },
        queues={counter: tuple(rows) for counter, rows in queues.items()},
        devices=devices,
        staff={s.id: s for s in _detached(session, session.exec(select(Staff)).all()) if s.id is not None},
        staff_centres={staff: frozenset(ids) for staff, ids in staff_centres.items()},
        node_centres=frozenset(d.centre_id for d in devices.values() if d.kind == DeviceKind.NODE.value),
    )


def _detached(session: Session, rows: Iterable[R]) -> list[R]:
    """The rows, out of the session and marked as shared: they must belong to no session."""
    kept = list(rows)
    for row in kept:
        session.expunge(row)
        inspect(row).info[SHARED] = True
    return kept


def _changed(session: OrmSession) -> None:
    """Marks the transaction as changing the organisation, and bumps its version, once."""
    session.info.pop(IN_TRANSACTION, None)
    if not session.info.get(CHANGED):
        session.info[CHANGED] = True
        next_value(session, name=VERSION_SERIAL)  # type: ignore[arg-type]  # any Session will do


@event.listens_for(OrmSession, "before_flush")
def _on_flush(session: OrmSession, _context: UOWTransaction, _instances: Any) -> None:
    if session.info.get(CHANGED):
        return
    changed = (row for row in session.dirty if isinstance(row, MODELS) and session.is_modified(row))
    if any(isinstance(row, MODELS) for row in chain(session.new, session.deleted)) or any(changed):
        _changed(session)


@event.listens_for(OrmSession, "do_orm_execute")
def _on_statement(state: ORMExecuteState) -> None:
    """A bulk UPDATE, DELETE or INSERT of organisation rows (delete(CounterService), say)."""
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in _TABLES:
            _changed(state.session)


@event.listens_for(OrmSession, "before_attach")
def _refuse_shared(_session: OrmSession, row: object) -> None:
    """A shared row changed through a session would change every request's organisation, and
    before its transaction commits: such code must load its own copy."""
    if inspect(row).info.get(SHARED):
        raise RuntimeError(f"{type(row).__name__} is the organisation's shared copy: load it to change it")
