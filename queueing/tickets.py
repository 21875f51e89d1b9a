"""Tickets as the engine reads them: the heads of the queues, where a ticket stands in its queue, the
counts; and a centre's intake of a service. The commands that change tickets are in
queueing/engine.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    and_,
    bindparam,
    literal_column,
    or_,
    union_all,
    update,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from config.db import UtcDateTime
from config.i18n import N_
from config.sql import id_of
from eventlog.log import append_event
from organisation import hours
from organisation.models import Centre, CentreService, Counter, CounterService, QueueRole, Service
from organisation.snapshot import organisation
from queueing.errors import (
    CentreOnNode,
    IntakeUnchanged,
    ServiceNotOffered,
)
from queueing.models import Ticket
from queueing.policy import Candidate, PolicyConfig, Priority, ordered
from queueing.states import ACTIVE, TicketStatus


class Channel:
    KIOSK = "kiosk"
    REMOTE = "remote"
    APPOINTMENT = "appointment"
    STAFF = "staff"
    # The channels whose wait runs from arrival (an appointment's runs from its time).
    WALK_INS = (KIOSK, REMOTE, STAFF)


def tracking_url(base_url: str, token: str) -> str:
    """The address of a ticket's tracker page (its QR code, its SMS, the answer that issues it)."""
    return f"{base_url}/t/{token}"


def find_ticket(session: Session, *, token: str) -> Ticket | None:
    """The ticket with this tracking token."""
    return session.exec(select(Ticket).where(Ticket.token == token)).first()


def find_tickets(session: Session, *, tokens: Sequence[str]) -> list[Ticket]:
    """The tickets with these tracking tokens (unknown ones are left out), in one statement per
    thousand tokens."""
    found: list[Ticket] = []
    for start in range(0, len(tokens), 1000):
        found.extend(session.exec(select(Ticket).where(col(Ticket.token).in_(tokens[start : start + 1000]))))
    return found


def centres_of(session: Session, *, tokens: Sequence[str]) -> set[int]:
    """The centres of the tickets with these tracking tokens (their ids), read as columns."""
    found: set[int] = set()
    for start in range(0, len(tokens), 1000):
        chosen = select(Ticket.centre_id).where(col(Ticket.token).in_(tokens[start : start + 1000]))
        found.update(session.exec(chosen.distinct()))
    return found


def find_ticket_today(session: Session, *, centre: Centre, number: str, now: datetime) -> Ticket | None:
    """The ticket with this number at the centre today (numbers restart each centre-local day)."""
    day = hours.local_day(now, timezone=centre.timezone)
    return session.exec(
        select(Ticket).where(Ticket.centre_id == id_of(centre), Ticket.day == day, Ticket.number == number)
    ).first()


def held_ticket(session: Session, *, centre: Centre, number: str, phone: str, now: datetime) -> Ticket | None:
    """Today's waiting or called ticket `number` at the centre, if it was taken with this phone."""
    ticket = find_ticket_today(session, centre=centre, number=number, now=now)
    held = (TicketStatus.WAITING.value, TicketStatus.CALLED.value)
    return ticket if ticket is not None and ticket.phone == phone and ticket.status in held else None


# A ticket in a counter's hand (called or being served). The statuses are written into the SQL, not
# bound: only then can SQLite use the partial index ux_ticket_active_counter (WHERE status IN
# ('called', 'serving')) instead of scanning every ticket.
IN_HAND = col(Ticket.status).in_([literal_column(f"'{status.value}'") for status in ACTIVE])


_CANDIDATE_COLUMNS = (
    col(Ticket.id),
    col(Ticket.service_id),
    col(Ticket.arrived_at),
    col(Ticket.priority),
    col(Ticket.appointment_at),
)


def _candidates(rows: Sequence[tuple[int | None, int, datetime, str, datetime | None]]) -> list[Candidate]:
    return [
        Candidate(ticket_id=i or 0, service_id=s, arrived_at=a, priority=Priority(p), appointment_at=ap)
        for i, s, a, p, ap in rows
    ]


def waiting_candidates(session: Session, *, centre_id: int, service_ids: Sequence[int]) -> list[Candidate]:
    """The waiting tickets of some queues of a centre, as the policy sees them."""
    rows = session.execute(
        sa_select(*_CANDIDATE_COLUMNS).where(
            col(Ticket.centre_id) == centre_id,
            col(Ticket.status) == TicketStatus.WAITING.value,
            col(Ticket.service_id).in_(service_ids),
        )
    ).all()
    return _candidates(rows)


# The statements below are built once per shape, with bound parameters: building one (a dozen
# selects and comparisons) costs SQLAlchemy more than the database needs to run it.
def _waiting(callable_only: bool) -> ColumnElement[bool]:
    waiting = and_(
        col(Ticket.centre_id) == bindparam("centre_id"), col(Ticket.status) == TicketStatus.WAITING.value
    )
    return and_(waiting, col(Ticket.away).is_(False)) if callable_only else waiting


def _due() -> ColumnElement[bool]:
    appointment = col(Ticket.appointment_at)
    return and_(appointment.is_not(None), appointment <= bindparam("now", type_=UtcDateTime()))


def _not_due() -> ColumnElement[bool]:
    appointment = col(Ticket.appointment_at)
    return or_(appointment.is_(None), appointment > bindparam("now", type_=UtcDateTime()))


@cache
def _heads_statement(services: int, callable_only: bool) -> Any:
    """queue_heads for this many services: parameters centre_id, now, per_queue, service_0…"""
    service_ids: list[BindParameter[int]] = [bindparam(f"service_{i}") for i in range(services)]
    per_queue = bindparam("per_queue", type_=Integer())
    lines = []
    for service_id in service_ids:
        # The due appointments line by line too: a counter calls its own queues' before its backups'.
        lines.append(
            sa_select(*_CANDIDATE_COLUMNS)
            .where(_waiting(callable_only), col(Ticket.service_id) == service_id, _due())
            .order_by(col(Ticket.appointment_at), col(Ticket.arrived_at), col(Ticket.id))
            .limit(per_queue)
        )
        for priority in Priority:
            lines.append(
                sa_select(*_CANDIDATE_COLUMNS)
                .where(
                    _waiting(callable_only),
                    col(Ticket.service_id) == service_id,
                    col(Ticket.priority) == priority.value,
                    _not_due(),
                )
                .order_by(col(Ticket.arrived_at), col(Ticket.id))
                .limit(per_queue)
            )
    # SQLite takes no LIMIT inside a compound select, so each line is a subquery.
    return union_all(*(sa_select(line.subquery()) for line in lines))


def queue_heads(
    session: Session,
    *,
    centre_id: int,
    service_ids: Sequence[int],
    now: datetime,
    per_queue: int = 1,
    callable_only: bool = False,
) -> list[Candidate]:
    """Waiting tickets that include the first `per_queue` in policy order for any weights >= 0;
    `callable_only` leaves out the away ones (remote tickets not checked in yet)."""
    # The policy orders the due appointments among themselves, and each service's not-due tickets
    # of one priority class among themselves, the same way at every counter (queueing/policy.py,
    # above `overtakers`). A ticket among the first k overall is among the first k of its line, so
    # the first k of every line hold the first k overall. One statement: a LIMITed select per line.
    if not service_ids:
        return []
    params = {"centre_id": centre_id, "now": now, "per_queue": per_queue}
    params.update({f"service_{i}": service_id for i, service_id in enumerate(service_ids)})
    statement = _heads_statement(len(service_ids), callable_only)
    return _candidates(session.execute(statement, params).all())


def waiting_counts(session: Session, *, centre_id: int) -> dict[int, int]:
    """How many tickets wait in each queue of a centre: service id -> count (absent: none)."""
    rows = session.exec(
        select(Ticket.service_id, func.count())
        .where(Ticket.centre_id == centre_id, Ticket.status == TicketStatus.WAITING.value)
        .group_by(col(Ticket.service_id))
    ).all()
    return dict(rows)


def open_counters_serving(session: Session, *, centre_id: int, service_id: int) -> int:
    """How many counters of the centre are open and serve this service as one of their own queues."""
    return session.exec(
        select(func.count())
        .select_from(Counter)
        .join(CounterService, col(CounterService.counter_id) == Counter.id)
        .where(
            Counter.centre_id == centre_id,
            col(Counter.is_open),
            CounterService.service_id == service_id,
            CounterService.role != QueueRole.BACKUP.value,
        )
    ).one()


def estimate_wait_s(*, ahead: int, open_counters: int, mean_service_s: int) -> int:
    """Queue-length estimate: people ahead / counters serving x mean service time."""
    return round(ahead / max(open_counters, 1) * mean_service_s)


def people_ahead(session: Session, *, ticket: Ticket, policy: PolicyConfig, now: datetime) -> int:
    """How many waiting tickets of its service go before this one at weight 1 (0 if it is not
    waiting): the policy itself orders the queue (queueing/policy.py)."""
    if ticket.status != TicketStatus.WAITING.value or ticket.id is None:
        return 0
    places = queue_places(
        session, centre_id=ticket.centre_id, service_id=ticket.service_id, policy=policy, now=now
    )
    return places.get(ticket.id, len(places))


def queue_places(
    session: Session, *, centre_id: int, service_id: int, policy: PolicyConfig, now: datetime
) -> dict[int, int]:
    """Each waiting ticket of a queue (by id) with the number of people before it at weight 1."""
    queue = waiting_candidates(session, centre_id=centre_id, service_ids=[service_id])
    order = ordered(queue, weights={service_id: 1.0}, now=now, config=policy)
    return {candidate.ticket_id: place for place, candidate in enumerate(order)}


def run_here(session: Session, *, centre: Centre) -> None:
    """Refuses a change of the queue of a centre that runs on its own node: there, its node changes
    it (docs/centre-node.md). A node's copy of the organisation holds no node: it always may."""
    if id_of(centre) in organisation(session).node_centres:
        raise CentreOnNode(
            N_("the queue of %(centre)s is run by the centre's own server: act at the centre"),
            centre=centre.code,
        )


def set_intake(
    session: Session, *, centre: Centre, service: Service, open_: bool, actor: str, now: datetime
) -> None:
    """Stops (or reopens) walk-in intake of a service at a centre for the rest of the local day;
    IntakeUnchanged if it is so already (of two requests at once, one changes it)."""
    run_here(session, centre=centre)
    if session.get(CentreService, (id_of(centre), id_of(service))) is None:
        raise ServiceNotOffered(
            N_("%(centre)s does not offer %(service)s"), centre=centre.code, service=service.code
        )
    today = hours.local_day(now, timezone=centre.timezone)
    stopped = col(CentreService.intake_stopped_on) == today
    changed = session.execute(
        update(CentreService)
        .where(
            col(CentreService.centre_id) == id_of(centre),
            col(CentreService.service_id) == id_of(service),
            stopped if open_ else or_(col(CentreService.intake_stopped_on).is_(None), ~stopped),
        )
        .values(intake_stopped_on=None if open_ else today)
    )
    if changed.rowcount == 0:  # type: ignore[attr-defined]
        state = "open" if open_ else "stopped"
        raise IntakeUnchanged(
            N_("intake of %(service)s at %(centre)s is %(state)s already"),
            service=service.code,
            centre=centre.code,
            state=state,
        )
    append_event(
        session,
        centre_id=id_of(centre),
        centre_code=centre.code,
        type="intake_reopened" if open_ else "intake_stopped",
        actor=actor,
        at=now,
        data={"service": service.code},
    )


def intake_open(session: Session, *, centre: Centre, service: Service, now: datetime) -> bool:
    """Whether the service takes walk-in tickets at the centre now (intake not stopped today)."""
    offered = session.get(CentreService, (id_of(centre), id_of(service)))
    return offered is not None and offered.intake_stopped_on != hours.local_day(now, timezone=centre.timezone)
