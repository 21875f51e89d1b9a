"""The engine's commands: every change of a ticket or a counter (issue, call next, call out of order,
recall, start, finish, no-show, transfer, cancel, check-in; open, close, pause, resume), each a
function or a `CounterDesk` method, run in the caller's write transaction.

A command is short and guarded. What its decision needs is read first (the organisation, the
counter and the ticket in its hand, the heads of the queues); one statement then makes the change
only if the database still holds the state it was decided on (a conditional `UPDATE`, or the
`INSERT` of a new ticket), so of two requests at once one changes and the other is refused; the
centre's log head moves and the event is inserted (eventlog/log.py), to be published once the
transaction commits (config/db.py, `after_every_commit`).

The commands stay in one module, longer than the house's ~400 lines, on purpose: their guards only
hold together, and one checks them by reading them side by side.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, String, and_, bindparam, or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from config.i18n import N_
from config.sql import appended, id_of
from eventlog.log import append_event, lock_log
from organisation import hours
from organisation.catalogue import service_code
from organisation.models import Centre, CentreService, Counter, Service
from organisation.snapshot import organisation
from queueing.counters import Queues, counter_queues, current_ticket
from queueing.errors import (
    AlreadyMovedBack,
    AppointmentKeepsItsTime,
    CentreClosed,
    CounterBusy,
    CounterClosed,
    CounterPaused,
    CounterTaken,
    IntakeStopped,
    NobodyBehind,
    NoCurrentTicket,
    NoShowTooEarly,
    NotForWalkIn,
    ServiceNotOffered,
    TicketChanged,
    TicketNotWaiting,
)
from queueing.models import Ticket
from queueing.numbering import allocate_number, ticket_id
from queueing.policy import PolicyConfig, Priority, arrival_just_after, choose_next, ordered
from queueing.presence import CannotCheckIn
from queueing.states import Move, TicketStatus, next_status
from queueing.tickets import IN_HAND, Channel, queue_heads, run_here, waiting_candidates
from sms_gateway.models import SmsMessage

TOKEN_BYTES = 24  # 192 bits: unguessable tracking tokens


# A recall sooner than this after the last call is a second tap of the same button: the hall has not
# finished hearing the first announcement.
RECALL_AFTER_S = 10


# --- tickets --------------------------------------------------------------------------------------


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
    predicted_wait_s: int | None = None,
) -> Ticket:
    """A new waiting ticket with the next number of its queue, keeping the wait it was promised;
    refuses a closed centre."""
    run_here(session, centre=centre)
    centre_id, service_id = id_of(centre), id_of(service)
    offered = organisation(session).offers.get((centre_id, service_id))
    if offered is None:
        raise ServiceNotOffered(
            N_("%(centre)s does not offer %(service)s"), centre=centre.code, service=service.code
        )
    if channel != Channel.APPOINTMENT and not service.walk_in:
        raise NotForWalkIn(N_("%(service)s is by appointment only"), service=service.code)
    if not ignore_hours and not hours.is_open(
        now, hours=centre.opening_hours, holidays=centre.holidays, timezone=centre.timezone
    ):
        opening = hours.next_opening(
            now, hours=centre.opening_hours, holidays=centre.holidays, timezone=centre.timezone
        )
        when = opening.isoformat() if opening else "not within 30 days"
        raise CentreClosed(
            N_("%(centre)s is closed; it next opens %(when)s"),
            next_opening=opening,
            centre=centre.code,
            when=when,
        )
    day = hours.local_day(now, timezone=centre.timezone)
    if offered.intake_stopped_on == day and channel != Channel.APPOINTMENT:
        raise IntakeStopped(
            N_("%(service)s takes no more tickets today at %(centre)s"),
            service=service.code,
            centre=centre.code,
        )
    ticket = Ticket(
        id=ticket_id(session),
        centre_id=centre_id,
        service_id=service_id,
        day=day,
        number=allocate_number(session, centre_id=centre_id, prefix=service.prefix, day=day),
        token=secrets.token_urlsafe(TOKEN_BYTES),
        status=TicketStatus.WAITING.value,
        channel=channel,
        priority=priority.value,
        phone=phone,
        language=language,
        arrived_at=now,
        issued_at=now,
        appointment_at=appointment_at,
        away=channel == Channel.REMOTE and centre.remote_check_in,
        call_times=[],
        predicted_wait_s=predicted_wait_s,
    )
    session.add(ticket)
    session.flush()  # its id, for its event
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
    statement = _guarded_update(tuple(values))
    params = {"ticket_id": id_of(ticket), "before": before.value, "after": after.value, **values}
    changed = session.execute(statement, params, execution_options={"synchronize_session": False})
    if changed.rowcount == 0:  # type: ignore[attr-defined]
        session.refresh(ticket)
        raise TicketChanged(
            N_("ticket %(number)s changed meanwhile: it is now %(status)s"),
            number=ticket.number,
            status=ticket.status,
        )
    for name, value in {"status": after.value, **values}.items():
        set_committed_value(ticket, name, value)  # as written: nothing left to flush


@cache
def _guarded_update(columns: tuple[str, ...]) -> Any:
    """A ticket's status moved from `before` to `after`, with these columns, by `ticket_id`."""
    guarded = update(Ticket).where(
        col(Ticket.id) == bindparam("ticket_id"), col(Ticket.status) == bindparam("before")
    )
    return guarded.values(status=bindparam("after"), **{name: bindparam(name) for name in columns})


def cancel_ticket(
    session: Session, *, ticket: Ticket, centre: Centre, actor: str, now: datetime, reason: str | None = None
) -> None:
    """The ticket leaves the queue (waiting or called): its holder left, or `reason` says why."""
    run_here(session, centre=centre)
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


def check_in_ticket(
    session: Session, *, ticket: Ticket, centre: Centre, actor: str, now: datetime, grace: timedelta
) -> bool:
    """Makes an away ticket callable; True when it kept its place, False when it joined the back.
    Of two scans at once, the second finds it checked in."""
    run_here(session, centre=centre)
    told = session.exec(
        select(SmsMessage.created_at).where(col(SmsMessage.dedupe_key) == f"ticket:{ticket.id}:turn_near")
    ).first()
    kept = told is None or now - told <= grace
    away = and_(col(Ticket.status) == TicketStatus.WAITING.value, col(Ticket.away))
    moved = {} if kept else {"arrived_at": now}
    checked_in = session.execute(
        update(Ticket).where(col(Ticket.id) == id_of(ticket), away).values(away=False, **moved)
    )
    if checked_in.rowcount == 0:  # type: ignore[attr-defined]
        session.refresh(ticket)
        if ticket.status != TicketStatus.WAITING.value:
            raise CannotCheckIn(
                TicketNotWaiting.code,
                N_("ticket %(number)s is %(status)s"),
                number=ticket.number,
                status=ticket.status,
            )
        raise CannotCheckIn(
            "already_checked_in", N_("ticket %(number)s is already checked in"), number=ticket.number
        )
    append_event(
        session,
        centre_id=id_of(centre),
        centre_code=centre.code,
        type="checked_in",
        actor=actor,
        at=now,
        ticket_id=id_of(ticket),
        data={"number": ticket.number, "kept_place": kept},
    )
    return kept


# How many people a ticket running late lets go first (docs/queueing.md, "Running late").
LATE_PLACES = 3


def move_back(
    session: Session, *, ticket: Ticket, centre: Centre, policy: PolicyConfig, actor: str, now: datetime
) -> int:
    """Its holder is running late: the waiting ticket goes behind the next LATE_PLACES people of its
    queue (fewer if fewer wait behind it), once. Returns how many places it moved back."""
    run_here(session, centre=centre)
    # The log's lock makes twin taps run one after the other, and the order read below the one the
    # write changes: the second tap finds the ticket moved back already.
    lock_log(session, centre_id=id_of(centre))
    session.refresh(ticket)
    if ticket.status != TicketStatus.WAITING.value:
        raise TicketNotWaiting(N_("ticket %(number)s is not waiting"), number=ticket.number)
    if ticket.moved_back > 0:
        raise AlreadyMovedBack(N_("ticket %(number)s was moved back once already"), number=ticket.number)
    if ticket.appointment_at is not None:
        raise AppointmentKeepsItsTime(
            N_("ticket %(number)s is an appointment: it is called at its time"), number=ticket.number
        )
    queue = waiting_candidates(session, centre_id=id_of(centre), service_ids=[ticket.service_id])
    order = ordered(queue, weights={ticket.service_id: 1.0}, now=now, config=policy)
    place = next(i for i, candidate in enumerate(order) if candidate.ticket_id == ticket.id)
    behind = order[place + 1 : place + 1 + LATE_PLACES]
    arrival = arrival_just_after(order[place], behind[-1], now=now, config=policy) if behind else now
    # Counted in the order as it will be: a head start may keep it from going all the way back.
    after = replace(order[place], arrived_at=arrival)
    rest = [*order[:place], *order[place + 1 :]]
    places = ordered([*rest, after], weights={ticket.service_id: 1.0}, now=now, config=policy).index(after)
    places -= place
    if places == 0:
        raise NobodyBehind(N_("nobody behind ticket %(number)s can go first"), number=ticket.number)
    moved = session.execute(
        update(Ticket)
        .where(
            col(Ticket.id) == id_of(ticket),
            col(Ticket.status) == TicketStatus.WAITING.value,
            col(Ticket.moved_back) == 0,
        )
        .values(arrived_at=arrival, moved_back=places)
    )
    if moved.rowcount == 0:  # type: ignore[attr-defined]  # the guard, should a twin pass the lock
        raise AlreadyMovedBack(N_("ticket %(number)s was moved back once already"), number=ticket.number)
    set_committed_value(ticket, "arrived_at", arrival)
    set_committed_value(ticket, "moved_back", places)
    append_event(
        session,
        centre_id=id_of(centre),
        centre_code=centre.code,
        type="moved_back",
        actor=actor,
        at=now,
        ticket_id=id_of(ticket),
        # The new arrival, so that a replay of the log orders the queue as the calls after it saw it.
        data={"number": ticket.number, "places": places, "arrived_at": arrival.isoformat()},
    )
    return places


# --- counters -------------------------------------------------------------------------------------


def _holds_nothing(counter_id: Any) -> ColumnElement[bool]:
    """The counter has no ticket in hand, as the database holds it when the statement runs: a
    request that waited for the counter's lock may have read the counter as it was before."""
    in_hand = select(Ticket.id).where(col(Ticket.counter_id) == counter_id, IN_HAND)
    return ~in_hand.exists()


# The call of a waiting ticket to a counter (parameters ticket_id, counter_id, at), unless another
# counter got it first or this one has a ticket in hand: its status, its counter and one more call
# time, in one guarded UPDATE that returns the row. Built once (as `_guarded_update`'s): building a
# statement costs SQLAlchemy more than the database needs to run it.
_CLAIM = (
    update(Ticket)
    .where(
        col(Ticket.id) == bindparam("ticket_id"),
        col(Ticket.status) == TicketStatus.WAITING.value,
        _holds_nothing(bindparam("counter_id")),
    )
    .values(
        status=next_status(TicketStatus.WAITING, Move.CALL).value,
        counter_id=bindparam("counter_id"),
        call_times=appended(col(Ticket.call_times), bindparam("at", type_=String())),
    )
    .returning(Ticket)
)


class CounterDesk:
    """One agent's hold on one counter, for the length of a transaction."""

    def __init__(
        self,
        session: Session,
        *,
        centre: Centre,
        counter: Counter,
        actor: str,
        now: datetime,
        in_hand: tuple[Ticket | None] | None = None,
    ) -> None:
        run_here(session, centre=centre)
        self.session = session
        self.centre = centre
        self.counter = counter
        self.actor = actor
        self.now = now
        # The counter's ticket in hand (`in_hand`, when read with the counter) and its queues, read
        # at most once: the counter's row is locked, so only this desk's actions change the first,
        # and nothing here changes the second. A twin request that waited for that lock read the
        # ticket before the first committed; the guarded statements refuse what it then decides.
        self._holding: Ticket | None = in_hand[0] if in_hand else None
        self._holding_known = in_hand is not None
        self._queues: Queues | None = None

    def holding(self) -> Ticket | None:
        """The ticket called to or being served at this counter, as this desk's actions left it."""
        if not self._holding_known:
            self._hold(current_ticket(self.session, counter_id=id_of(self.counter)))
        return self._holding

    def _hold(self, ticket: Ticket | None) -> None:
        self._holding, self._holding_known = ticket, True

    def queues(self) -> Queues:
        """The queues this counter serves."""
        if self._queues is None:
            self._queues = counter_queues(self.session, counter_id=id_of(self.counter))
        return self._queues

    def _event(self, type: str, ticket: Ticket | None = None, **data: Any) -> None:
        if ticket is not None:
            data = {"number": ticket.number, "service": service_code(self.session, ticket.service_id), **data}
        append_event(
            self.session,
            centre_id=id_of(self.centre),
            centre_code=self.centre.code,
            type=type,
            actor=self.actor,
            at=self.now,
            ticket_id=ticket.id if ticket else None,
            counter_id=id_of(self.counter),
            data={"counter": self.counter.number, **data},
        )

    # --- the counter itself -------------------------------------------------------------------

    def _change(self, *still: ColumnElement[bool], **values: Any) -> bool:
        """Writes these columns of the counter if the database still holds it as `still` says, and
        reloads it: of twin requests (a double tap, two tabs) only the first finds it so."""
        changed = self.session.execute(
            update(Counter).where(col(Counter.id) == id_of(self.counter), *still).values(**values)
        )
        self.session.refresh(self.counter)
        return bool(changed.rowcount)  # type: ignore[attr-defined]

    def open(self, *, agent_id: int, **logged: Any) -> None:
        """The agent takes this counter; 409 counter_taken if another agent holds it. Opening a
        counter the agent holds open already changes nothing and logs nothing. `logged`: more to
        say in the log (a supervisor's reason)."""
        free = or_(col(Counter.agent_id).is_(None), col(Counter.agent_id) == agent_id)
        if self._change(free, col(Counter.is_open).is_(False), agent_id=agent_id, is_open=True):
            self._event("counter_opened", agent=agent_id, **logged)
        elif self.counter.agent_id != agent_id:
            raise CounterTaken(
                N_("counter %(counter)d is held by another agent"), counter=self.counter.number
            )

    def close(self, **logged: Any) -> None:
        """The agent leaves (or a supervisor closes the counter for them, `logged` saying why); the
        counter must not have a ticket in hand."""
        if self.holding() is not None:
            raise CounterBusy(N_("finish, transfer or mark no-show the current ticket before closing"))
        closed = self._change(
            col(Counter.is_open).is_(True),
            _holds_nothing(Counter.id),
            is_open=False,
            agent_id=None,
            paused_reason=None,
            paused_at=None,
        )
        if not closed:
            if current_ticket(self.session, counter_id=id_of(self.counter)) is not None:
                raise CounterBusy(N_("finish, transfer or mark no-show the current ticket before closing"))
            raise CounterClosed(N_("counter %(counter)d is closed already"), counter=self.counter.number)
        self._event("counter_closed", **logged)

    def pause(self, *, reason: str) -> None:
        """The counter stops taking tickets, for a stated reason."""
        self._require_open()
        paused = self._change(
            col(Counter.is_open).is_(True),
            col(Counter.paused_reason).is_(None),
            paused_reason=reason,
            paused_at=self.now,
        )
        if not paused:
            self._require_open()
            raise CounterPaused(
                N_("counter %(counter)d is paused already: %(reason)s"),
                counter=self.counter.number,
                reason=self.counter.paused_reason,
            )
        self._event("counter_paused", reason=reason)

    def resume(self) -> None:
        """The counter takes tickets again."""
        self._require_open()
        resumed = self._change(
            col(Counter.is_open).is_(True),
            col(Counter.paused_reason).is_not(None),
            paused_reason=None,
            paused_at=None,
        )
        if not resumed:
            self._require_open()
            raise CounterBusy(N_("the counter is not paused"))
        self._event("counter_resumed")

    def _require_open(self) -> None:
        if not self.counter.is_open:
            raise CounterClosed(N_("counter %(counter)d is closed"), counter=self.counter.number)

    def _require_ready(self) -> None:
        self._require_open()
        if self.counter.paused_reason is not None:
            raise CounterPaused(
                N_("counter %(counter)d is paused: %(reason)s"),
                counter=self.counter.number,
                reason=self.counter.paused_reason,
            )
        if self.holding() is not None:
            raise CounterBusy(N_("finish, transfer or mark no-show the current ticket first"))

    def _in_hand(self) -> Ticket:
        self._require_open()
        ticket = self.holding()
        if ticket is None:
            raise NoCurrentTicket(
                N_("counter %(counter)d has no ticket in hand"), counter=self.counter.number
            )
        return ticket

    # --- working tickets ----------------------------------------------------------------------

    def call_next(self, *, policy: PolicyConfig) -> Ticket | None:
        """Calls the ticket the policy puts first among this counter's queues; None if nobody waits."""
        self._require_ready()
        queues = self.queues()
        lock_log(self.session, centre_id=id_of(self.centre))
        # The head of each line is enough: whatever the weights, the policy's first is among them.
        candidates = queue_heads(
            self.session,
            centre_id=id_of(self.centre),
            service_ids=list(queues.all()),
            now=self.now,
            callable_only=True,
        )
        choice = choose_next(
            candidates, weights=queues.own, backups=queues.backups, now=self.now, config=policy
        )
        if choice is None:
            return None
        # The log is locked: every change to a ticket logs an event, so none has changed since the
        # heads were read, and the claim holds unless this counter took one meanwhile.
        ticket = self._claim(choice.ticket_id)
        if ticket is None:  # the log is locked, so this counter took a ticket meanwhile (a twin)
            raise CounterBusy(N_("finish, transfer or mark no-show the current ticket first"))
        self._event("called", ticket, **self._first_call(ticket))
        return ticket

    def call_number(self, *, number: str, reason: str) -> Ticket:
        """Calls a given waiting ticket out of the policy's order; the reason is logged."""
        self._require_ready()
        lock_log(self.session, centre_id=id_of(self.centre))
        served = self.queues().all()
        ticket = self.session.exec(
            select(Ticket).where(
                Ticket.centre_id == id_of(self.centre),
                Ticket.day == hours.local_day(self.now, timezone=self.centre.timezone),
                Ticket.number == number,
            )
        ).first()
        if ticket is None or ticket.status != TicketStatus.WAITING.value:
            raise TicketNotWaiting(N_("no waiting ticket %(number)s today"), number=number)
        if ticket.service_id not in served:
            raise ServiceNotOffered(
                N_("counter %(counter)d does not serve the service of %(number)s"),
                counter=self.counter.number,
                number=number,
            )
        if ticket.away:
            raise TicketNotWaiting(
                N_("%(number)s is a remote ticket whose holder has not checked in yet"), number=number
            )
        claimed = self._claim(id_of(ticket))
        if claimed is None:
            raise TicketNotWaiting(N_("%(number)s was just called elsewhere"), number=number)
        self._event("called", claimed, out_of_order=True, reason=reason, **self._first_call(claimed))
        return claimed

    def _first_call(self, ticket: Ticket) -> dict[str, int]:
        """The wait from arrival, on a ticket's first call (what /metrics and reports read)."""
        if len(ticket.call_times) != 1:
            return {}
        return {"waited_s": round((self.now - ticket.arrived_at).total_seconds())}

    def _claim(self, ticket_id: int) -> Ticket | None:
        """Moves a waiting ticket to this counter, unless another counter got it first."""
        params = {"ticket_id": ticket_id, "counter_id": id_of(self.counter), "at": self.now.isoformat()}
        claimed = self.session.scalars(_CLAIM, params, execution_options={"populate_existing": True}).first()
        if claimed is not None:
            self._hold(claimed)
        return claimed

    def recall(self) -> Ticket:
        """Calls the ticket in hand again."""
        ticket = self._in_hand()
        # A recall leaves the status as it was, so the move's guard cannot tell twins apart: the
        # ticket is read again now that the counter is locked (a twin that waited for the lock read
        # it before the first recall committed), and its last call decides.
        self.session.refresh(ticket)
        next_status(TicketStatus(ticket.status), Move.RECALL)  # a ticket being served is not called again
        since = (self.now - datetime.fromisoformat(ticket.call_times[-1])).total_seconds()
        if since < RECALL_AFTER_S:
            raise CounterBusy(
                N_("%(number)s was called %(seconds)d s ago; recall it in a few seconds"),
                number=ticket.number,
                seconds=int(since),
            )
        transition(self.session, ticket, Move.RECALL, call_times=[*ticket.call_times, self.now.isoformat()])
        self._event("recalled", ticket, calls=len(ticket.call_times))
        return ticket

    def start(self) -> Ticket:
        """The citizen is at the counter."""
        ticket = self._in_hand()
        transition(self.session, ticket, Move.START, started_at=self.now)
        self._event("started", ticket)
        return ticket

    def finish(self) -> Ticket:
        """Service is complete."""
        ticket = self._in_hand()
        transition(self.session, ticket, Move.FINISH, ended_at=self.now)
        self._hold(None)
        self._event("finished", ticket)
        return ticket

    def no_show(self) -> Ticket:
        """The citizen did not come: only after the centre's minimum calls and time since the first."""
        ticket = self._in_hand()
        next_status(TicketStatus(ticket.status), Move.NO_SHOW)  # refused before the counts are read
        # Only the calls since the ticket last joined a queue count: a citizen transferred here has not
        # yet been called by this service, whatever happened at the previous one.
        calls = [datetime.fromisoformat(moment) for moment in ticket.call_times[ticket.earlier_calls :]]
        waited = (self.now - calls[0]).total_seconds()
        if len(calls) < self.centre.no_show_min_calls or waited < self.centre.no_show_min_wait_s:
            raise NoShowTooEarly(
                N_(
                    "no-show needs %(min_calls)d calls and %(min_s)d s since the first; "
                    "this ticket has %(calls)d calls and %(seconds)d s"
                ),
                min_calls=self.centre.no_show_min_calls,
                min_s=self.centre.no_show_min_wait_s,
                calls=len(calls),
                seconds=int(waited),
            )
        transition(self.session, ticket, Move.NO_SHOW, ended_at=self.now)
        self._hold(None)
        self._event("no_show", ticket, calls=len(calls))
        return ticket

    def transfer(self, *, service: Service) -> Ticket:
        """Sends the ticket in hand to another service's queue, keeping its arrival time."""
        ticket = self._in_hand()
        if self.session.get(CentreService, (id_of(self.centre), id_of(service))) is None:
            raise ServiceNotOffered(
                N_("%(centre)s does not offer %(service)s"), centre=self.centre.code, service=service.code
            )
        origin = service_code(self.session, ticket.service_id)
        transition(
            self.session,
            ticket,
            Move.TRANSFER,
            service_id=id_of(service),
            counter_id=None,
            started_at=None,
            earlier_calls=len(ticket.call_times),
            requeued_at=self.now,
        )
        self._hold(None)
        self._event("transferred", ticket, origin=origin)
        return ticket
