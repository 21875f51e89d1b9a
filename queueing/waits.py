"""Wait predictions from a centre's recent history (queueing/prediction.py does the arithmetic): the
services that ended lately, the counters that can call now, the arrivals of the last half hour and
how far the predictions made for recent tickets were off. The service and call times are the ones
the counter operations wrote with their events, read from the tickets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import func, literal, union_all
from sqlmodel import Session, col, select

from config.sql import id_of
from organisation.models import Centre, Counter, QueueRole
from organisation.snapshot import QueueRows, organisation
from queueing.models import Ticket
from queueing.policy import Candidate, PolicyConfig, Priority, behind_everyone, ordered
from queueing.prediction import MIN_RATIOS, Completed, Desk, Forecast, QueueState, ServiceTimes, forecast
from queueing.states import TicketStatus
from queueing.tickets import IN_HAND, queue_places, waiting_candidates

HISTORY = timedelta(hours=3)  # services and outcomes learned from
ARRIVALS = timedelta(minutes=30)  # the window of "recent" arrival rates
RECENT_SERVICES = 400
RECENT_OUTCOMES = 100
MIN_PROMISE_S = 60  # shorter predicted waits are not used to calibrate the range


@dataclass
class WaitModel:
    """What a centre's history says now; forecasts for any of its queues."""

    session: Session
    centre_id: int
    now: datetime
    desks: list[Desk]
    queues: dict[int, QueueState]
    times: ServiceTimes
    ratios: dict[int, list[float]] = field(default_factory=dict)

    def forecast(self, service_id: int, *, ahead: int) -> Forecast:
        """The wait of a ticket of this queue with `ahead` people before it."""
        if service_id not in self.ratios:
            self.ratios[service_id] = _ratios(
                self.session, centre_id=self.centre_id, service_id=service_id, now=self.now
            )
        return forecast(
            ahead,
            service_id,
            desks=self.desks,
            queues=self.queues,
            times=self.times,
            ratios=self.ratios[service_id],
        )


def wait_model(session: Session, *, centre: Centre, now: datetime) -> WaitModel:
    """The centre's model now, read from its recent history: three queries, and the outcomes of a
    queue when a forecast first needs them."""
    centre_id = id_of(centre)
    known = organisation(session)
    offered = [service for centre_of, service in known.offers if centre_of == centre_id]
    configured = {service: float(known.services_by_id[service].mean_service_s) for service in offered}
    return WaitModel(
        session,
        centre_id,
        now,
        desks=_desks(session, centre_id=centre_id, queues=known.queues),
        queues=_queues(session, centre_id=centre_id, service_ids=configured, now=now),
        times=ServiceTimes(
            _completed(session, centre_id=centre_id, now=now), configured, now_s=now.timestamp()
        ),
    )


def _completed(session: Session, *, centre_id: int, now: datetime) -> list[Completed]:
    rows = session.exec(
        select(Ticket.service_id, Ticket.counter_id, Ticket.started_at, Ticket.ended_at)
        .where(
            Ticket.centre_id == centre_id,
            Ticket.status == TicketStatus.DONE.value,
            col(Ticket.ended_at) >= now - HISTORY,
        )
        .order_by(col(Ticket.ended_at).desc())
        .limit(RECENT_SERVICES)
    ).all()
    return [
        Completed(service_id, counter_id, ended.timestamp(), (ended - started).total_seconds())
        for service_id, counter_id, started, ended in rows
        if counter_id is not None and started is not None and ended is not None
    ]


def _desks(session: Session, *, centre_id: int, queues: Mapping[int, QueueRows]) -> list[Desk]:
    """The counters that can call now (open, not paused), each idle or not, with their queues."""
    busy = select(Ticket.id).where(col(Ticket.counter_id) == Counter.id, IN_HAND)
    rows = session.exec(
        select(Counter.id, busy.exists()).where(
            Counter.centre_id == centre_id, col(Counter.is_open), col(Counter.paused_reason).is_(None)
        )
    ).all()
    backup = QueueRole.BACKUP.value
    return [
        Desk(
            counter_id or 0,
            {s: w for s, w, role in queues.get(counter_id or 0, ()) if role != backup},
            idle=not in_hand,
            backups={s: w for s, w, role in queues.get(counter_id or 0, ()) if role == backup},
        )
        for counter_id, in_hand in rows
    ]


def _queues(
    session: Session, *, centre_id: int, service_ids: Iterable[int], now: datetime
) -> dict[int, QueueState]:
    """Each queue's waiting count and its recent overtakers, in one statement of two counts."""
    of_centre = col(Ticket.centre_id) == centre_id
    waiting = (
        select(literal("waiting"), Ticket.service_id, func.count())
        .where(of_centre, col(Ticket.status) == TicketStatus.WAITING.value)
        .group_by(col(Ticket.service_id))
    )
    overtaking = (col(Ticket.priority) != Priority.NONE.value) | col(Ticket.appointment_at).is_not(None)
    overtakers = (
        select(literal("overtakers"), Ticket.service_id, func.count())
        .where(of_centre, col(Ticket.arrived_at) >= now - ARRIVALS, overtaking)
        .group_by(col(Ticket.service_id))
    )
    counts: dict[tuple[str, int], int] = {
        (kind, service): count for kind, service, count in session.execute(union_all(waiting, overtakers))
    }
    window = ARRIVALS.total_seconds()
    return {
        service_id: QueueState(
            counts.get(("waiting", service_id), 0),
            overtakers_per_s=counts.get(("overtakers", service_id), 0) / window,
        )
        for service_id in service_ids
    }


def _ratios(session: Session, *, centre_id: int, service_id: int, now: datetime) -> list[float]:
    """Actual / predicted waits of the queue's recently called walk-ins that were predicted a wait;
    the whole centre's when the queue has too few yet (how far off predictions are varies less
    between queues than the waits themselves)."""
    ratios = _outcomes(session, centre_id=centre_id, service_id=service_id, now=now)
    return (
        ratios
        if len(ratios) >= MIN_RATIOS
        else _outcomes(session, centre_id=centre_id, service_id=None, now=now)
    )


def _outcomes(session: Session, *, centre_id: int, service_id: int | None, now: datetime) -> list[float]:
    query = (
        select(Ticket.arrived_at, Ticket.call_times, Ticket.predicted_wait_s)
        .where(
            Ticket.centre_id == centre_id,
            col(Ticket.predicted_wait_s) >= MIN_PROMISE_S,
            col(Ticket.arrived_at) >= now - HISTORY,
            Ticket.status != TicketStatus.WAITING.value,
        )
        .order_by(col(Ticket.id).desc())
        .limit(RECENT_OUTCOMES)
    )
    if service_id is not None:
        query = query.where(Ticket.service_id == service_id)
    return [
        (datetime.fromisoformat(calls[0]) - arrived).total_seconds() / predicted
        for arrived, calls, predicted in session.exec(query).all()
        if calls and predicted
    ]


@dataclass(frozen=True)
class Standing:
    """Where a waiting ticket stands: people ahead and the forecast of its wait."""

    ahead: int
    forecast: Forecast


def standings(
    session: Session, *, tickets: Iterable[Ticket], policy: PolicyConfig, now: datetime
) -> dict[int, Standing]:
    """Where each waiting ticket among `tickets` stands (by id): the people ahead of it in its queue,
    in the policy's order, and its wait. One model per centre and one ordering per queue, however
    many of its tickets are asked about: a call moves every waiting ticket of its queue at once."""
    known = organisation(session)
    models: dict[int, WaitModel] = {}
    places: dict[tuple[int, int], dict[int, int]] = {}
    found: dict[int, Standing] = {}
    for ticket in tickets:
        if ticket.status != TicketStatus.WAITING.value or ticket.id is None:
            continue
        queue = (ticket.centre_id, ticket.service_id)
        if queue not in places:
            places[queue] = queue_places(
                session, centre_id=ticket.centre_id, service_id=ticket.service_id, policy=policy, now=now
            )
        if ticket.centre_id not in models:
            models[ticket.centre_id] = wait_model(
                session, centre=known.centres_by_id[ticket.centre_id], now=now
            )
        ahead = places[queue].get(ticket.id, len(places[queue]))
        found[ticket.id] = Standing(ahead, models[ticket.centre_id].forecast(ticket.service_id, ahead=ahead))
    return found


# A ticket has no id before it is written, and it will have the highest: among equals it goes last.
NEWCOMER_ID = 2**62


def newcomer_standing(
    session: Session,
    *,
    model: WaitModel,
    service_id: int,
    priority: Priority,
    policy: PolicyConfig,
    now: datetime,
) -> Standing:
    """Where a walk-in's ticket will stand once issued now, and the wait it is promised: worked out
    before the issue locks the queue's number and the centre's log (on PostgreSQL, reads take no
    lock), from the centre's model and the queue as they are, with the new ticket counted in. The
    promise is kept on the ticket, to calibrate the ranges."""
    queue = model.queues.get(service_id)
    if queue is not None and behind_everyone(priority, config=policy):
        ahead = queue.waiting  # as the model counted them: nobody need be ranked
    else:
        me = Candidate(NEWCOMER_ID, service_id, now, priority)
        line = waiting_candidates(session, centre_id=model.centre_id, service_ids=[service_id])
        ahead = ordered([*line, me], weights={service_id: 1.0}, now=now, config=policy).index(me)
    arrived = replace(model, queues=with_arrival(model.queues, service_id, priority))
    return Standing(ahead, arrived.forecast(service_id, ahead=ahead))


def with_arrival(queues: dict[int, QueueState], service_id: int, priority: Priority) -> dict[int, QueueState]:
    """The queues with a new walk-in: one more waiting and, if it goes ahead of others (a priority
    class), one more recent overtaker (as `_queues` would count it)."""
    queue = queues.get(service_id)
    if queue is None:
        return queues
    rate = queue.overtakers_per_s + (1 / ARRIVALS.total_seconds() if priority != Priority.NONE else 0.0)
    return {**queues, service_id: QueueState(queue.waiting + 1, overtakers_per_s=rate)}
