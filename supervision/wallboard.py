"""The supervisor's wallboard of a centre: each queue (waiting, longest and predicted wait, the share
called within the target today), each counter (state, agent, ticket in hand, for how long, a pause's
reason), the alerts, the balancer's moves, and today hour by hour: arrivals, services, what the
counters could serve, and the queue.

The page (/supervisor) reloads this view whenever the centre's event feed rings, so it is live."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from config.sql import id_of
from display.hall_messages import HallMessageOut, current_message
from eventlog.intake import link_state
from eventlog.models import Event
from organisation import catalogue, hours
from organisation.models import Centre, Counter, Service
from organisation.snapshot import organisation
from queueing.models import Ticket
from queueing.service import Channel, centre_status, counter_queues, current_ticket
from queueing.states import TicketStatus
from scheduling.balancer import balance_view
from scheduling.balancing import BalanceRules
from scheduling.schemas import BalanceOut

LONG_PAUSE_S = 20 * 60
READINESS = ("counter_opened", "counter_closed", "counter_paused", "counter_resumed")
UNSERVED_QUEUE = 5  # a closed counter's own queue this long, with no open counter for it: an alert


class QueueOut(BaseModel):
    service: str
    waiting: int
    longest_wait_s: int | None = Field(description="the longest any waiting ticket has waited so far")
    estimated_wait_s: int = Field(description="for a ticket taken now")
    estimated_wait_range_s: list[int]
    within_target: float | None = Field(description="today's walk-ins called within DOR_WAIT_TARGET_S")
    open_counters: int
    intake_open: bool


class CounterStateOut(BaseModel):
    number: int
    label: str
    state: str = Field(description="closed, idle, paused, called or serving")
    agent: str | None = Field(default=None, description="the username of the agent at an open counter")
    agent_name: str | None = Field(default=None, description="that agent's name, as staff know them")
    ticket: str | None = None
    since_s: int | None = Field(description="how long it has been in this state")
    reason: str | None = Field(default=None, description="a pause's reason")


class AlertOut(BaseModel):
    kind: str = Field(description="target_breached, long_pause or queue_unserved")
    service: str | None = None
    counter: int | None = None


class HourOut(BaseModel):
    hour: int = Field(description="centre-local hour of today")
    arrivals: int
    served: int
    waiting: int = Field(description="people in the queues at the hour's end (now, for the hour under way)")
    capacity: float = Field(
        description="people the counters could serve in the hour: their open, unpaused time over the mean "
        "service time of today's mix of services"
    )


class OutageOut(BaseModel):
    began_at: datetime
    ended_at: datetime


class LinkOut(BaseModel):
    """A centre node's link (docs/centre-node.md); the figures above are what the node last pushed."""

    online: bool
    last_contact_at: datetime | None = Field(description="the node's last call; null: it never called")
    behind: int = Field(description="entries the node has logged that the central does not hold yet")
    last_outage: OutageOut | None


class CentreSummaryOut(BaseModel):
    centre: str
    name: dict[str, str]
    waiting: int
    longest_wait_s: int | None
    within_target: float | None = Field(description="today's walk-ins called within the target")
    open_counters: int
    alerts: int
    link: LinkOut | None = Field(default=None, description="null: the centre is served by the central itself")


class WallboardOut(BaseModel):
    centre: str
    services: dict[str, dict[str, str]] = Field(description="each service's name by code, in ar and en")
    target_s: int
    queues: list[QueueOut]
    counters: list[CounterStateOut]
    alerts: list[AlertOut]
    balance: BalanceOut
    hours: list[HourOut]
    hall_message: HallMessageOut | None = Field(description="the message the hall displays show now")


def _queues(session: Session, centre: Centre, at: datetime, target_s: int) -> list[QueueOut]:
    status = centre_status(session, centre=centre, now=at, always_open=True)
    today = hours.local_day(at, timezone=centre.timezone)
    codes = {id_of(s): s.code for s in catalogue.services_of(session, centre_id=id_of(centre))}
    oldest: dict[str, datetime] = {}
    waits: dict[str, list[float]] = {}
    rows = session.execute(
        sa_select(
            col(Ticket.service_id),
            col(Ticket.status),
            col(Ticket.channel),
            col(Ticket.arrived_at),
            col(Ticket.call_times),
        ).where(col(Ticket.centre_id) == id_of(centre), col(Ticket.day) == today)
    ).all()
    for service_id, state, channel, arrived, calls in rows:
        code = codes.get(service_id, "")
        if state == TicketStatus.WAITING.value:
            oldest[code] = min(oldest.get(code, arrived), arrived)
        if calls and channel in Channel.WALK_INS:
            waits.setdefault(code, []).append((datetime.fromisoformat(calls[0]) - arrived).total_seconds())
    return [
        QueueOut(
            service=s.code,
            waiting=s.waiting,
            longest_wait_s=round((at - oldest[s.code]).total_seconds()) if s.code in oldest else None,
            estimated_wait_s=s.estimated_wait_s,
            estimated_wait_range_s=s.estimated_wait_range_s,
            within_target=round(sum(w <= target_s for w in waits[s.code]) / len(waits[s.code]), 3)
            if waits.get(s.code)
            else None,
            open_counters=s.open_counters,
            intake_open=s.intake_open,
        )
        for s in status.services
    ]


def _counters(session: Session, centre: Centre, at: datetime) -> list[CounterStateOut]:
    counters = session.exec(
        select(Counter).where(Counter.centre_id == id_of(centre)).order_by(col(Counter.number))
    ).all()
    out = []
    for counter in counters:
        last = session.exec(
            select(Event.at)
            .where(Event.centre_id == id_of(centre), Event.counter_id == counter.id)
            .order_by(col(Event.seq).desc())
        ).first()
        since = round((at - last).total_seconds()) if last else None
        agent = organisation(session).staff.get(counter.agent_id) if counter.agent_id else None
        ticket = current_ticket(session, counter_id=id_of(counter)) if counter.is_open else None
        if not counter.is_open:
            state = "closed"
        elif counter.paused_at is not None:
            state, since = "paused", round((at - counter.paused_at).total_seconds())
        elif ticket is not None:
            state = ticket.status
        else:
            state = "idle"
        out.append(
            CounterStateOut(
                number=counter.number,
                label=counter.label,
                state=state,
                agent=agent.username if agent and counter.is_open else None,
                agent_name=(agent.display_name or agent.username) if agent and counter.is_open else None,
                ticket=ticket.number if ticket else None,
                since_s=since,
                reason=counter.paused_reason if state == "paused" else None,
            )
        )
    return out


def _alerts(
    session: Session, centre: Centre, queues: list[QueueOut], counters: list[CounterStateOut], target_s: int
) -> list[AlertOut]:
    alerts = [
        AlertOut(kind="target_breached", service=q.service)
        for q in queues
        if q.longest_wait_s is not None and q.longest_wait_s > target_s
    ]
    alerts += [
        AlertOut(kind="long_pause", counter=c.number)
        for c in counters
        if c.state == "paused" and (c.since_s or 0) > LONG_PAUSE_S
    ]
    codes = {id_of(s): s.code for s in catalogue.services_of(session, centre_id=id_of(centre))}
    unserved = {q.service for q in queues if q.waiting >= UNSERVED_QUEUE and q.open_counters == 0}
    for counter in session.exec(select(Counter).where(Counter.centre_id == id_of(centre))).all():
        if not counter.is_open:
            for service_id in counter_queues(session, counter_id=id_of(counter)).own:
                if codes.get(service_id) in unserved:
                    alerts.append(
                        AlertOut(kind="queue_unserved", service=codes[service_id], counter=counter.number)
                    )
    return alerts


def _ready_spans(
    session: Session, centre: Centre, since: datetime, at: datetime
) -> list[tuple[datetime, datetime]]:
    """When each counter was open and not paused since `since` (a counter still open: until `at`)."""
    events = session.exec(
        select(Event.type, Event.counter_id, Event.at)
        .where(Event.centre_id == id_of(centre), col(Event.type).in_(READINESS), col(Event.at) >= since)
        .order_by(col(Event.seq))
    ).all()
    ready: dict[int | None, datetime] = {}
    spans = []
    for kind, counter, when in events:
        if kind in ("counter_opened", "counter_resumed"):
            ready[counter] = when
        elif counter in ready:  # closed or paused
            spans.append((ready.pop(counter), when))
    return spans + [(start, at) for start in ready.values()]


def _hours(session: Session, centre: Centre, at: datetime) -> list[HourOut]:
    zone = ZoneInfo(centre.timezone)
    today = hours.local_day(at, timezone=centre.timezone)
    tickets = session.execute(
        sa_select(
            col(Ticket.arrived_at),
            col(Ticket.call_times),
            col(Ticket.ended_at),
            col(Ticket.status),
            col(Service.mean_service_s),
        )
        .join(Service, col(Service.id) == col(Ticket.service_id))
        .where(col(Ticket.centre_id) == id_of(centre), col(Ticket.day) == today)
    ).all()
    counts: dict[int, list[int]] = {}
    stays: list[tuple[datetime, datetime | None]] = []  # in the queue from arrival to the first call
    for arrived, calls, ended, status, _ in tickets:
        counts.setdefault(arrived.astimezone(zone).hour, [0, 0])[0] += 1
        if status == TicketStatus.DONE.value and ended is not None:
            counts.setdefault(ended.astimezone(zone).hour, [0, 0])[1] += 1
        left = datetime.fromisoformat(calls[0]) if calls else ended
        stays.append((arrived, left))
    out: list[HourOut] = []
    if not counts:
        return out
    # Capacity: the counters' ready time in the hour over today's mix of services' mean times.
    mean_s = sum(row[4] for row in tickets) / len(tickets)
    spans = _ready_spans(session, centre, datetime.combine(today, time(0), zone), at)
    for hour in range(min(counts), max(*counts, at.astimezone(zone).hour) + 1):  # quiet hours too
        arrivals, served = counts.get(hour, (0, 0))
        start = datetime.combine(today, time(hour), zone)
        end = start + timedelta(hours=1)
        moment = min(end, at)  # the hour under way: now
        waiting = sum(1 for arrived, left in stays if arrived <= moment and (left is None or left > moment))
        ready_s = sum(max(0.0, (min(b, end) - max(a, start)).total_seconds()) for a, b in spans)
        out.append(
            HourOut(
                hour=hour,
                arrivals=arrivals,
                served=served,
                waiting=waiting,
                capacity=round(ready_s / mean_s, 1),
            )
        )
    return out


def wallboard(
    session: Session, *, centre: Centre, at: datetime, target_s: int, rules: BalanceRules
) -> WallboardOut:
    queues = _queues(session, centre, at, target_s)
    counters = _counters(session, centre, at)
    return WallboardOut(
        centre=centre.code,
        services={
            s.code: {"ar": s.name_ar, "en": s.name_en}
            for s in catalogue.services_of(session, centre_id=id_of(centre))
        },
        target_s=target_s,
        queues=queues,
        counters=counters,
        alerts=_alerts(session, centre, queues, counters, target_s),
        balance=balance_view(session, centre=centre, rules=rules),
        hours=_hours(session, centre, at),
        hall_message=current_message(session, centre=centre, now=at),
    )


def national(session: Session, *, at: datetime, target_s: int) -> list[CentreSummaryOut]:
    """Every centre side by side, the most pressed first (longest wait); a centre on its own node
    with its link's state."""
    rows = []
    on_nodes = organisation(session).node_centres
    for centre in catalogue.list_centres(session):
        queues = _queues(session, centre, at, target_s)
        counters = _counters(session, centre, at)
        longest = [q.longest_wait_s for q in queues if q.longest_wait_s is not None]
        shares = [(q.within_target, q.waiting) for q in queues if q.within_target is not None]
        rows.append(
            CentreSummaryOut(
                centre=centre.code,
                name={"ar": centre.name_ar, "en": centre.name_en},
                waiting=sum(q.waiting for q in queues),
                longest_wait_s=max(longest) if longest else None,
                within_target=round(min(share for share, _ in shares), 3) if shares else None,
                open_counters=sum(1 for c in counters if c.state != "closed"),
                alerts=len(_alerts(session, centre, queues, counters, target_s)),
                link=_link(session, id_of(centre), at) if id_of(centre) in on_nodes else None,
            )
        )
    return sorted(rows, key=lambda r: (-(r.longest_wait_s or 0), r.centre))


def _link(session: Session, centre_id: int, at: datetime) -> LinkOut:
    state = link_state(session, centre_id=centre_id, now=at)
    outage = state.last_outage
    return LinkOut(
        online=state.online,
        last_contact_at=state.last_contact_at,
        behind=state.behind,
        last_outage=OutageOut(began_at=outage.began_at, ended_at=outage.ended_at) if outage else None,
    )
