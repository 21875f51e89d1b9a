"""Counter operations: open, close, pause, resume, and working tickets (call, recall, start, finish,
no-show, transfer, out-of-order call). Each runs inside the caller's transaction; the counter row is
locked first, so two requests on one counter never interleave."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, literal_column, or_, update
from sqlmodel import Session, col, select

from config.sql import appended
from queueing.catalogue import service_code
from queueing.errors import (
    CounterBusy,
    CounterClosed,
    CounterPaused,
    CounterTaken,
    NoCurrentTicket,
    NoShowTooEarly,
    ServiceNotOffered,
    TicketNotWaiting,
)
from queueing.events import append_event, lock_log
from queueing.hours import local_day
from queueing.models import (
    Centre,
    CentreService,
    Counter,
    QueueRole,
    Service,
    Ticket,
    id_of,
)
from queueing.organisation import organisation
from queueing.policy import PolicyConfig, choose_next
from queueing.states import ACTIVE, Move, TicketStatus, next_status
from queueing.tickets import queue_heads, transition

# A recall sooner than this after the last call is a second tap of the same button: the hall has not
# finished hearing the first announcement.
RECALL_AFTER_S = 10


def find_counter(session: Session, *, centre_id: int, number: int, lock: bool = False) -> Counter | None:
    """A centre's counter by number; `lock` holds its row until commit (PostgreSQL; SQLite locks at BEGIN),
    so that two requests on one counter never interleave."""
    query = select(Counter).where(Counter.centre_id == centre_id, Counter.number == number)
    return session.exec(query.with_for_update() if lock else query).first()


# The statuses written into the SQL, not bound: only then can SQLite use the partial index
# ux_ticket_active_counter (WHERE status IN ('called', 'serving')) instead of scanning every ticket.
_HOLDING = col(Ticket.status).in_([literal_column(f"'{status.value}'") for status in ACTIVE])


def current_ticket(session: Session, *, counter_id: int) -> Ticket | None:
    """The ticket called to or being served at this counter."""
    return session.exec(select(Ticket).where(Ticket.counter_id == counter_id, _HOLDING)).first()


def _claim(ticket_id: int, counter_id: int, now: datetime) -> Any:
    """The call of a waiting ticket to a counter, unless another counter got it first: its status,
    its counter and one more call time, in one guarded UPDATE that returns the row."""
    return (
        update(Ticket)
        .where(col(Ticket.id) == ticket_id, col(Ticket.status) == TicketStatus.WAITING.value)
        .values(
            status=next_status(TicketStatus.WAITING, Move.CALL).value,
            counter_id=counter_id,
            call_times=appended(col(Ticket.call_times), now.isoformat()),
        )
        .returning(Ticket)
    )


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


class CounterDesk:
    """One agent's hold on one counter, for the length of a transaction."""

    def __init__(
        self, session: Session, *, centre: Centre, counter: Counter, actor: str, now: datetime
    ) -> None:
        self.session = session
        self.centre = centre
        self.counter = counter
        self.actor = actor
        self.now = now
        # The counter's ticket in hand and its queues, read at most once: the counter's row is
        # locked, so only this desk's actions change the first, and nothing here changes the second.
        self._holding: Ticket | None = None
        self._holding_known = False
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

    def open(self, *, agent_id: int) -> None:
        """The agent takes this counter; 409 counter_taken if another agent holds it. Opening a
        counter the agent holds open already changes nothing and logs nothing."""
        free = or_(col(Counter.agent_id).is_(None), col(Counter.agent_id) == agent_id)
        if self._change(free, col(Counter.is_open).is_(False), agent_id=agent_id, is_open=True):
            self._event("counter_opened", agent=agent_id)
        elif self.counter.agent_id != agent_id:
            raise CounterTaken(f"counter {self.counter.number} is held by another agent")

    def close(self) -> None:
        """The agent leaves; the counter must not have a ticket in hand."""
        if self.holding() is not None:
            raise CounterBusy("finish, transfer or mark no-show the current ticket before closing")
        if not self._change(
            col(Counter.is_open).is_(True), is_open=False, agent_id=None, paused_reason=None, paused_at=None
        ):
            raise CounterClosed(f"counter {self.counter.number} is closed already")
        self._event("counter_closed")

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
                f"counter {self.counter.number} is paused already: {self.counter.paused_reason}"
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
            raise CounterBusy("the counter is not paused")
        self._event("counter_resumed")

    def _require_open(self) -> None:
        if not self.counter.is_open:
            raise CounterClosed(f"counter {self.counter.number} is closed")

    def _require_ready(self) -> None:
        self._require_open()
        if self.counter.paused_reason is not None:
            raise CounterPaused(f"counter {self.counter.number} is paused: {self.counter.paused_reason}")
        if self.holding() is not None:
            raise CounterBusy("finish, transfer or mark no-show the current ticket first")

    def _in_hand(self) -> Ticket:
        self._require_open()
        ticket = self.holding()
        if ticket is None:
            raise NoCurrentTicket(f"counter {self.counter.number} has no ticket in hand")
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
        # heads were read, and the claim holds.
        ticket = self._claim(choice.ticket_id)
        if ticket is None:
            raise CounterBusy(f"ticket {choice.ticket_id} changed without an event; try again")
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
                Ticket.day == local_day(self.now, timezone=self.centre.timezone),
                Ticket.number == number,
            )
        ).first()
        if ticket is None or ticket.status != TicketStatus.WAITING.value:
            raise TicketNotWaiting(f"no waiting ticket {number} today")
        if ticket.service_id not in served:
            raise ServiceNotOffered(f"counter {self.counter.number} does not serve the service of {number}")
        if ticket.away:
            raise TicketNotWaiting(f"{number} is a remote ticket whose holder has not checked in yet")
        claimed = self._claim(id_of(ticket))
        if claimed is None:
            raise TicketNotWaiting(f"{number} was just called elsewhere")
        self._event("called", claimed, out_of_order=True, reason=reason, **self._first_call(claimed))
        return claimed

    def _first_call(self, ticket: Ticket) -> dict[str, int]:
        """The wait from arrival, on a ticket's first call (what /metrics and reports read)."""
        if len(ticket.call_times) != 1:
            return {}
        return {"waited_s": round((self.now - ticket.arrived_at).total_seconds())}

    def _claim(self, ticket_id: int) -> Ticket | None:
        """Moves a waiting ticket to this counter, unless another counter got it first."""
        statement = _claim(ticket_id, id_of(self.counter), self.now)
        claimed = self.session.scalars(statement, execution_options={"populate_existing": True}).first()
        if claimed is not None:
            self._hold(claimed)
        return claimed

    def recall(self) -> Ticket:
        """Calls the ticket in hand again."""
        ticket = self._in_hand()
        next_status(TicketStatus(ticket.status), Move.RECALL)  # a ticket being served is not called again
        since = (self.now - datetime.fromisoformat(ticket.call_times[-1])).total_seconds()
        if since < RECALL_AFTER_S:
            raise CounterBusy(f"{ticket.number} was called {int(since)} s ago; recall it in a few seconds")
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
                f"no-show needs {self.centre.no_show_min_calls} calls and {self.centre.no_show_min_wait_s} s "
                f"since the first; this ticket has {len(calls)} calls and {int(waited)} s"
            )
        transition(self.session, ticket, Move.NO_SHOW, ended_at=self.now)
        self._hold(None)
        self._event("no_show", ticket, calls=len(calls))
        return ticket

    def transfer(self, *, service: Service) -> Ticket:
        """Sends the ticket in hand to another service's queue, keeping its arrival time."""
        ticket = self._in_hand()
        if self.session.get(CentreService, (id_of(self.centre), id_of(service))) is None:
            raise ServiceNotOffered(f"{self.centre.code} does not offer {service.code}")
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
