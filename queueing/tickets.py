"""Issuing and cancelling tickets, and where a ticket stands in its queue."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    insert,
    literal,
    or_,
    union_all,
    update,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from config.db import UtcDateTime
from config.prepared import Prepared, as_loaded, update_row
from queueing import hours
from queueing.errors import (
    CentreClosed,
    IntakeStopped,
    IntakeUnchanged,
    NotForWalkIn,
    ServiceNotOffered,
    TicketChanged,
)
from queueing.events import append_event
from queueing.models import Centre, CentreService, Counter, CounterService, QueueRole, Service, Ticket, id_of
from queueing.numbering import allocate_number
from queueing.organisation import organisation
from queueing.policy import Candidate, PolicyConfig, Priority, is_due, overtakers
from queueing.states import Move, TicketStatus, next_status


class Channel:
    KIOSK = "kiosk"
    REMOTE = "remote"
    APPOINTMENT = "appointment"
    STAFF = "staff"
    # The channels whose wait runs from arrival (an appointment's runs from its time).
    WALK_INS = (KIOSK, REMOTE, STAFF)


TOKEN_BYTES = 24  # 192 bits: unguessable tracking tokens


_TICKETS = Ticket.__table__  # type: ignore[attr-defined]
# Every column's default (the model's), for a new ticket.
_DEFAULTS = {name: field.get_default() for name, field in Ticket.model_fields.items()}
# A prepared INSERT of every column, not the ORM's unit of work: building the row and flushing it cost
# an issue about a quarter of its Python calls.
_INSERT = Prepared(
    insert(_TICKETS)
    .values({column.key: bindparam(column.key) for column in _TICKETS.columns if column.key != "id"})
    .returning(_TICKETS.c.id)
)


def issue_ticket(
    session: Session,
    *,
    centre: Centre,
    service: Service,
    channel: str,
    actor: str,
    now: datetime,
    priority: Priority = Priority.NONE,
    phone: str | None = None,
    language: str = "ar",
    appointment_at: datetime | None = None,
    ignore_hours: bool = False,
) -> Ticket:
    """A new waiting ticket with the next number of its queue; refuses a closed centre."""
    centre_id, service_id = id_of(centre), id_of(service)
    offered = organisation(session).offers.get((centre_id, service_id))
    if offered is None:
        raise ServiceNotOffered(f"{centre.code} does not offer {service.code}")
    if channel != Channel.APPOINTMENT and not service.walk_in:
        raise NotForWalkIn(f"{service.code} is by appointment only")
    if not ignore_hours and not hours.is_open(
        now, hours=centre.opening_hours, holidays=centre.holidays, timezone=centre.timezone
    ):
        opening = hours.next_opening(
            now, hours=centre.opening_hours, holidays=centre.holidays, timezone=centre.timezone
        )
        when = opening.isoformat() if opening else "not within 30 days"
        raise CentreClosed(f"{centre.code} is closed; it next opens {when}", next_opening=opening)
    day = hours.local_day(now, timezone=centre.timezone)
    if offered.intake_stopped_on == day and channel != Channel.APPOINTMENT:
        raise IntakeStopped(f"{service.code} takes no more tickets today at {centre.code}")
    values = {
        **_DEFAULTS,
        "call_times": [],  # its own list, not the default's
        "centre_id": centre_id,
        "service_id": service_id,
        "day": day,
        "number": allocate_number(session, centre_id=centre_id, prefix=service.prefix, day=day),
        "token": secrets.token_urlsafe(TOKEN_BYTES),
        "status": TicketStatus.WAITING.value,
        "channel": channel,
        "priority": priority.value,
        "phone": phone,
        "language": language,
        "arrived_at": now,
        "issued_at": now,
        "appointment_at": appointment_at,
        "away": channel == Channel.REMOTE and centre.remote_check_in,
    }
    values["id"] = _INSERT.scalar(session, values)
    ticket = as_loaded(session, Ticket, values)
    append_event(
        session,
        centre_id=centre_id,
        centre_code=centre.code,
        type="issued",
        actor=actor,
        at=now,
        ticket_id=id_of(ticket),
        data={
            "number": ticket.number,
            "service": service.code,
            "channel": channel,
            "priority": priority.value,
        },
    )
    return ticket


def transition(session: Session, ticket: Ticket, move: Move, **values: Any) -> None:
    """Makes `move` on the ticket as this transaction read it, with these other columns: the row is
    written only while the database still holds the status that was read, so of two moves made at
    once on one ticket (an agent's no-show and its holder leaving, twin taps) one wins and the other
    is refused (TicketChanged, 409) with nothing written."""
    before = TicketStatus(ticket.status)
    after = next_status(before, move)
    if not update_row(session, ticket, expect={"status": before.value}, status=after.value, **values):
        session.refresh(ticket)
        raise TicketChanged(f"ticket {ticket.number} changed meanwhile: it is now {ticket.status}")


def cancel_ticket(
    session: Session, *, ticket: Ticket, centre: Centre, actor: str, now: datetime, reason: str | None = None
) -> None:
    """The ticket leaves the queue (waiting or called): its holder left, or `reason` says why."""
    counter_id = ticket.counter_id
    transition(session, ticket, Move.CANCEL, counter_id=None, ended_at=now)
    append_event(
        session,
        centre_id=centre.id or 0,
        centre_code=centre.code,
        type="cancelled",
        actor=actor,
        at=now,
        ticket_id=id_of(ticket),
        counter_id=counter_id,
        data={"number": ticket.number, **({"reason": reason} if reason else {})},
    )


def find_ticket(session: Session, *, token: str) -> Ticket | None:
    """The ticket with this tracking token."""
    return session.exec(select(Ticket).where(Ticket.token == token)).first()


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
def _heads_statement(services: int, callable_only: bool) -> Prepared:
    """queue_heads for this many services: parameters centre_id, now, per_queue, service_0…"""
    service_ids: list[BindParameter[int]] = [bindparam(f"service_{i}") for i in range(services)]
    per_queue = bindparam("per_queue", type_=Integer())
    lines = [
        sa_select(*_CANDIDATE_COLUMNS)
        .where(_waiting(callable_only), col(Ticket.service_id).in_(service_ids), _due())
        .order_by(col(Ticket.appointment_at), col(Ticket.arrived_at), col(Ticket.id))
        .limit(per_queue)
    ]
    for service_id in service_ids:
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
    return Prepared(union_all(*(sa_select(line.subquery()) for line in lines)))


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
    return _candidates(statement.rows(session, params))


def waiting_counts(session: Session, *, centre_id: int) -> dict[int, int]:
    """How many tickets wait in each queue of a centre: service id -> count (absent: none)."""
    rows = session.exec(
        select(Ticket.service_id, func.count())
        .where(Ticket.centre_id == centre_id, Ticket.status == TicketStatus.WAITING.value)
        .group_by(col(Ticket.service_id))
    ).all()
    return dict(rows)


@cache
def _callable_statement(services: int) -> Prepared:
    """anyone_to_call for this many services: parameters centre_id, service_0…"""
    service_ids: list[BindParameter[int]] = [bindparam(f"service_{i}") for i in range(services)]
    return Prepared(
        sa_select(col(Ticket.id)).where(_waiting(True), col(Ticket.service_id).in_(service_ids)).limit(1)
    )


def anyone_to_call(session: Session, *, centre_id: int, service_ids: Sequence[int]) -> bool:
    """Whether any ticket a counter could call waits in these queues of the centre."""
    if not service_ids:
        return False
    params: dict[str, object] = {"centre_id": centre_id}
    params.update({f"service_{i}": service_id for i, service_id in enumerate(service_ids)})
    return _callable_statement(len(service_ids)).one(session, params) is not None


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


def _in_line(*conditions: ColumnElement[bool]) -> Select[int]:
    """The count of the waiting tickets of the ticket's service that meet `conditions`."""
    service = col(Ticket.service_id) == bindparam("service_id")
    return sa_select(func.count()).select_from(Ticket).where(_waiting(False), service, *conditions)


def _due_ahead_statement() -> Prepared:
    """people_ahead of a due appointment: parameters centre_id, service_id, now, arrived_at,
    ticket_id, appointment_at."""
    # Only due appointments go before a due appointment: the earlier one, then the earlier arrival.
    arrived, ticket_id = col(Ticket.arrived_at), col(Ticket.id)
    at = bindparam("arrived_at", type_=UtcDateTime())
    appointment, own = col(Ticket.appointment_at), bindparam("appointment_at", type_=UtcDateTime())
    earlier_arrival = or_(arrived < at, and_(arrived == at, ticket_id < bindparam("ticket_id")))
    statement = _in_line(_due(), or_(appointment < own, and_(appointment == own, earlier_arrival)))
    return Prepared(statement, plan_with_values=True)


# A class's line behind a ticket (`_not_ahead`): the class, and whether to take off those of its
# tickets that arrived with this one and have a lower id.
Behind = tuple[Priority, bool]


def _not_ahead(lines: tuple[Behind, ...]) -> ColumnElement[int]:
    """How many waiting tickets of the service do not go before a ticket that is not a due
    appointment (itself included), all in these classes' lines: parameters centre_id, service_id,
    now, arrived_at, ticket_id, and per class `from_<class>`."""
    # Per class, the not-due tickets that arrived from an instant on (`overtakers`), less, with ties,
    # those of them that arrived with this ticket and have a lower id. Counted this way round, for a
    # newcomer it is a few rows at the end of a line, instead of a test of every waiting ticket.
    arrived, ticket_id = col(Ticket.arrived_at), col(Ticket.id)
    tied = (arrived == bindparam("arrived_at", type_=UtcDateTime()), ticket_id < bindparam("ticket_id"))
    behind: list[ColumnElement[int]] = []
    for priority, ties in lines:
        of_class = (col(Ticket.priority) == priority.value, _not_due())
        start = bindparam(f"from_{priority.value}", type_=UtcDateTime())
        behind.append(_in_line(*of_class, arrived >= start).scalar_subquery())
        if ties:
            behind.append(-_in_line(*of_class, *tied).scalar_subquery())
    return sum(behind, literal(0))


@cache
def _ahead_statement(lines: tuple[Behind, ...], waiting_known: bool) -> Prepared:
    """people_ahead of a ticket that is not a due appointment: the queue's length (from the line
    index) less those that do not go first; or, given the length, those that do not go first."""
    # Only the lines where someone may be behind the ticket are counted: a statement with a count
    # for every class took PostgreSQL longer to plan than to run. Planned with the values: on a
    # plan made without them, PostgreSQL cannot tell that a range starts at the end of its line
    # (a newcomer's count at 3,000 waiting: 0.80 ms, 0.59 planned with its values and only the
    # lines that can be behind; docs/performance.md, 2026-12-03).
    not_ahead = _not_ahead(lines)
    counted = not_ahead if waiting_known else _in_line().scalar_subquery() - not_ahead
    return Prepared(sa_select(counted), plan_with_values=True)


_DUE_AHEAD = _due_ahead_statement()


def people_ahead(
    session: Session, *, ticket: Ticket, policy: PolicyConfig, now: datetime, waiting: int | None = None
) -> int:
    """How many waiting tickets of its service go before this one at weight 1 (0 if it is not waiting).

    `waiting`, when the caller knows it exactly, is how many tickets wait in the service (this one
    included): the count then reads only the ends of the lines, not the whole queue.
    """
    if ticket.status != TicketStatus.WAITING.value or ticket.id is None:
        return 0
    me = Candidate(
        ticket_id=ticket.id,
        service_id=ticket.service_id,
        arrived_at=ticket.arrived_at,
        priority=Priority(ticket.priority),
        appointment_at=ticket.appointment_at,
    )
    params: dict[str, object] = {
        "centre_id": ticket.centre_id,
        "service_id": ticket.service_id,
        "now": now,
        "arrived_at": me.arrived_at,
        "ticket_id": me.ticket_id,
        "appointment_at": me.appointment_at,
    }
    if is_due(me, now=now):
        return int(_DUE_AHEAD.scalar(session, params))
    lines: list[Behind] = []
    for priority in Priority:
        cut = overtakers(me, priority=priority, weight=1.0, now=now, config=policy)
        if cut.before is None:  # every ticket of the class goes first
            continue
        params[f"from_{priority.value}"] = cut.before
        # Those that arrived with it and have a lower id go first; they are in the range only if it
        # starts at or before its arrival.
        lines.append((priority, cut.same_arrival and cut.before <= me.arrived_at))
    statement = _ahead_statement(tuple(lines), waiting is not None)
    counted = int(statement.scalar(session, params))
    return counted if waiting is None else waiting - counted


def set_intake(
    session: Session, *, centre: Centre, service: Service, open_: bool, actor: str, now: datetime
) -> None:
    """Stops (or reopens) walk-in intake of a service at a centre for the rest of the local day;
    IntakeUnchanged if it is so already (of two requests at once, one changes it)."""
    if session.get(CentreService, (id_of(centre), id_of(service))) is None:
        raise ServiceNotOffered(f"{centre.code} does not offer {service.code}")
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
        raise IntakeUnchanged(f"intake of {service.code} at {centre.code} is {state} already")
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
