"""Wait predictions from a centre's recent history (queueing/prediction.py does the arithmetic): the
services that ended lately, the counters that can call now, the arrivals of the last half hour and
how far the predictions made for recent tickets were off. The service and call times are the ones
the counter operations wrote with their events, read from the tickets."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from queueing.catalogue import services_of
from queueing.models import Centre, Counter, CounterService, QueueRole, Ticket, id_of
from queueing.organisation import organisation
from queueing.policy import PolicyConfig, Priority
from queueing.prediction import MIN_RATIOS, Completed, Desk, Forecast, QueueState, ServiceTimes, forecast
from queueing.states import ACTIVE, TicketStatus
from queueing.tickets import people_ahead, waiting_counts

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
    """The centre's model now, read from its recent history (six queries)."""
    centre_id = id_of(centre)
    configured = {id_of(s): float(s.mean_service_s) for s in services_of(session, centre_id=centre_id)}
    return WaitModel(
        session,
        centre_id,
        now,
        desks=_desks(session, centre_id=centre_id),
        queues=_queues(session, centre_id=centre_id, service_ids=configured, now=now),
        times=ServiceTimes(_completed(session, centre_id=centre_id, now=now), configured),
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
        Completed(service_id, counter_id, (now - ended).total_seconds(), (ended - started).total_seconds())
        for service_id, counter_id, started, ended in rows
        if counter_id is not None and started is not None and ended is not None
    ]


def _desks(session: Session, *, centre_id: int) -> list[Desk]:
    rows = session.exec(
        select(Counter.id, CounterService.service_id, CounterService.weight, CounterService.role)
        .join(CounterService, col(CounterService.counter_id) == Counter.id)
        .where(Counter.centre_id == centre_id, col(Counter.is_open), col(Counter.paused_reason).is_(None))
    ).all()
    busy = set(
        session.exec(
            select(Ticket.counter_id).where(
                Ticket.centre_id == centre_id, col(Ticket.status).in_([s.value for s in ACTIVE])
            )
        ).all()
    )
    own: dict[int, dict[int, float]] = {}
    backups: dict[int, dict[int, float]] = {}
    for counter_id, service_id, weight, role in rows:
        (backups if role == QueueRole.BACKUP.value else own).setdefault(counter_id or 0, {})[service_id] = (
            weight
        )
        own.setdefault(counter_id or 0, {})
    return [
        Desk(counter_id, queues, idle=counter_id not in busy, backups=backups.get(counter_id, {}))
        for counter_id, queues in own.items()
    ]


def _queues(
    session: Session, *, centre_id: int, service_ids: Iterable[int], now: datetime
) -> dict[int, QueueState]:
    waiting = waiting_counts(session, centre_id=centre_id)
    overtaking = (col(Ticket.priority) != Priority.NONE.value) | col(Ticket.appointment_at).is_not(None)
    overtakers = dict(
        session.exec(
            select(Ticket.service_id, func.count())
            .where(Ticket.centre_id == centre_id, col(Ticket.arrived_at) >= now - ARRIVALS, overtaking)
            .group_by(col(Ticket.service_id))
        ).all()
    )
    window = ARRIVALS.total_seconds()
    return {
        service_id: QueueState(
            waiting.get(service_id, 0), overtakers_per_s=overtakers.get(service_id, 0) / window
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


def standing(
    session: Session, *, ticket: Ticket, policy: PolicyConfig, now: datetime, model: WaitModel | None = None
) -> Standing:
    """People ahead of a waiting ticket in its queue, in the policy's order, and its wait."""
    if model is None:
        model = wait_model(session, centre=organisation(session).centres_by_id[ticket.centre_id], now=now)
    ahead = people_ahead(session, ticket=ticket, policy=policy, now=now)
    return Standing(ahead, model.forecast(ticket.service_id, ahead=ahead))


def promise(
    session: Session, *, ticket: Ticket, policy: PolicyConfig, now: datetime, model: WaitModel
) -> Standing:
    """The standing of a walk-in's new ticket, just issued in this transaction, from the centre's
    model read before it (`model`: reads come before the issue takes the centre's log). Its
    forecast is kept on it, to calibrate the ranges."""
    arrived = replace(model, queues=with_arrival(model.queues, ticket))
    place = standing(session, ticket=ticket, policy=policy, now=now, model=arrived)
    ticket.predicted_wait_s = place.forecast.typical_s
    return place


def with_arrival(queues: dict[int, QueueState], ticket: Ticket) -> dict[int, QueueState]:
    """The queues with a new ticket: one more waiting and, if it goes ahead of walk-ins, one more
    recent overtaker (as `_queues` would count it)."""
    queue = queues.get(ticket.service_id)
    if queue is None:
        return queues
    overtaking = ticket.priority != Priority.NONE.value or ticket.appointment_at is not None
    rate = queue.overtakers_per_s + (1 / ARRIVALS.total_seconds() if overtaking else 0.0)
    return {**queues, ticket.service_id: QueueState(queue.waiting + 1, overtakers_per_s=rate)}
