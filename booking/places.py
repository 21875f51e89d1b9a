"""How many places each bookable slot offers: the counters' capacity, less the work the walk-ins
of past weeks brought at that hour, shared among the services by demand; and the places a slot
was sold with, which it keeps."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from datetime import date, datetime, time, timedelta
from threading import Lock
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from booking.models import BookingSlot
from booking.slots import SlotRules, day_slots
from config.sql import id_of
from organisation.catalogue import services_of
from organisation.models import Centre, Counter, CounterService, QueueRole, Service
from queueing.models import Ticket
from queueing.service import Channel
from scheduling.capacity import capacity, places_by_demand

Arrivals = dict[date, list[tuple[datetime, float]]]  # a past day's walk-ins: arrival, counter seconds
Places = dict[int, dict[datetime, int]]  # service id -> slot start -> places


def _counter_weights(session: Session, centre: Centre) -> list[dict[int, float]]:
    """Each counter's own queues and their weights (a backup queue, or one the balancer boosted for
    a while, plans no capacity)."""
    rows = session.exec(
        select(CounterService.counter_id, CounterService.service_id, CounterService.weight)
        .join(Counter, col(Counter.id) == CounterService.counter_id)
        .where(Counter.centre_id == id_of(centre), CounterService.role == QueueRole.MAIN.value)
    ).all()
    weights: dict[int, dict[int, float]] = {}
    for counter_id, service_id, weight in rows:
        weights.setdefault(counter_id, {})[service_id] = weight
    return list(weights.values())


def _walk_ins(session: Session, centre: Centre, days: set[date]) -> Arrivals:
    rows = session.exec(
        select(col(Ticket.day), col(Ticket.arrived_at), col(Service.mean_service_s))
        .join(Service, col(Service.id) == Ticket.service_id)
        .where(
            Ticket.centre_id == id_of(centre),
            col(Ticket.day).in_(days),
            col(Ticket.channel).in_(Channel.WALK_INS),
        )
    ).all()
    found: Arrivals = {}
    for day, arrived, work_s in rows:
        found.setdefault(day, []).append((arrived, work_s))
    return found


class _Settled:
    """A small LRU of what past days' walk-ins asked of each slot, by database, centre, day and slot
    ends: a day before today no longer changes, and a week's listing reads four weeks of them."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.kept: OrderedDict[Hashable, list[float]] = OrderedDict()
        self.lock = Lock()

    def get(self, key: Hashable) -> list[float] | None:
        with self.lock:
            found = self.kept.get(key)
            if found is not None:
                self.kept.move_to_end(key)
            return found

    def put(self, key: Hashable, work: list[float]) -> None:
        with self.lock:
            self.kept[key] = work
            while len(self.kept) > self.size:
                self.kept.popitem(last=False)


_SETTLED = _Settled(8192)  # ~0.3 KB each: 44 centres x 35 days x a few slot lengths


def _slot_work(arrivals: list[tuple[datetime, float]], ends: Sequence[time], zone: ZoneInfo) -> list[float]:
    """The counter seconds one day's walk-ins asked of each slot, by local time of day (arrivals
    before the first slot count in it: they wait at opening)."""
    work = [0.0] * len(ends)
    for arrived, work_s in arrivals:
        at = arrived.astimezone(zone).time()
        k = next((i for i, end in enumerate(ends) if at < end), None)
        if k is not None:
            work[k] += work_s
    return work


def walk_in_work(
    session: Session,
    *,
    centre: Centre,
    slots_of: dict[date, list[tuple[datetime, datetime]]],
    weeks: int,
    today: date,
) -> dict[date, list[float]]:
    """Per slot of each day, the counter seconds its walk-ins asked for on the same weekday of the
    last `weeks` weeks, on average over those days that had any. Past days are read once and kept,
    today is read live (its walk-ins are still coming), later days have none yet: one query at
    most."""
    zone = ZoneInfo(centre.timezone)
    database = session.get_bind().engine.url.render_as_string()
    ends_of = {day: tuple(end.astimezone(zone).time() for _, end in slots) for day, slots in slots_of.items()}
    wanted = {
        (past, ends)
        for day, ends in ends_of.items()
        for w in range(1, weeks + 1)
        if (past := day - timedelta(weeks=w)) <= today
    }
    found: dict[tuple[date, tuple[time, ...]], list[float]] = {}  # [] for a day without walk-ins
    for past, ends in wanted:
        kept = _SETTLED.get((database, id_of(centre), past, ends)) if past < today else None
        if kept is not None:
            found[past, ends] = kept
    missing = {past for past, ends in wanted if (past, ends) not in found}
    history = _walk_ins(session, centre, missing) if missing else {}
    for past, ends in wanted:
        if past in missing:
            arrivals = history.get(past)
            found[past, ends] = _slot_work(arrivals, ends, zone) if arrivals else []
            if past < today:
                _SETTLED.put((database, id_of(centre), past, ends), found[past, ends])
    out = {}
    for day, ends in ends_of.items():
        days = [work for w in range(1, weeks + 1) if (work := found.get((day - timedelta(weeks=w), ends)))]
        out[day] = (
            [sum(column) / len(days) for column in zip(*days, strict=True)] if days else [0.0] * len(ends)
        )
    return out


def places_on(
    session: Session, *, centre: Centre, days: Sequence[date], rules: SlotRules, today: date
) -> dict[date, Places]:
    """Each bookable service's places in each slot of these local days: the flat share of the
    counters' time (`capacity`), or, with `rules.places == "demand"`, what is left of it once the
    walk-ins of the same weekday in recent weeks are served (`places_by_demand`). A few queries
    whatever the number of days; `today` is the centre's (history before it no longer changes)."""
    bookable = [s for s in services_of(session, centre_id=id_of(centre)) if s.bookable]
    weights = _counter_weights(session, centre)
    flat = {
        id_of(s): capacity(
            slot=rules.slot,
            mean_service_s=s.mean_service_s,
            counter_weights=weights,
            service_id=id_of(s),
            walk_in_share=rules.walk_in_share,
        )
        for s in bookable
    }
    demand = rules.places == "demand"
    counters = (
        session.exec(
            select(func.count()).select_from(Counter).where(Counter.centre_id == id_of(centre))
        ).one()
        if demand
        else 0
    )
    slots_of = {
        day: day_slots(
            day,
            hours=centre.opening_hours,
            holidays=centre.holidays,
            timezone=centre.timezone,
            length=rules.slot,
        )
        for day in days
    }
    work = (
        walk_in_work(session, centre=centre, slots_of=slots_of, weeks=rules.history_weeks, today=today)
        if demand
        else {}
    )
    out = {}
    for day, slots in slots_of.items():
        per_slot = {service: [places] * len(slots) for service, places in flat.items()}
        if demand and slots:
            per_slot = places_by_demand(
                per_slot,
                mean_service_s={id_of(s): s.mean_service_s for s in bookable},
                counter_s=[counters * rules.slot.total_seconds()] * len(slots),
                walk_in_work_s=work[day],
                target_load=rules.target_load,
            )
        starts = [start for start, _ in slots]
        out[day] = {service: dict(zip(starts, places, strict=True)) for service, places in per_slot.items()}
    return out


def places_at(
    session: Session, *, centre: Centre, service: Service, start: datetime, rules: SlotRules, now: datetime
) -> int:
    zone = ZoneInfo(centre.timezone)
    day = start.astimezone(zone).date()
    offered = places_on(session, centre=centre, days=[day], rules=rules, today=now.astimezone(zone).date())
    return offered[day].get(id_of(service), {}).get(start, 0)


def stored_slots(
    session: Session, *, centre: Centre, service: Service, starts: list[datetime]
) -> dict[datetime, tuple[int, int]]:
    """The slots among these that have been booked at least once, or that a draw gives: start ->
    (capacity, booked). A draw's slot counts as full: its places are not for first come, first served."""
    if not starts:
        return {}
    rows = session.exec(
        select(BookingSlot.start, BookingSlot.capacity, BookingSlot.booked, BookingSlot.draw_id).where(
            BookingSlot.centre_id == id_of(centre),
            BookingSlot.service_id == id_of(service),
            col(BookingSlot.start).in_(starts),
        )
    ).all()
    return {start: (places, places if draw else booked) for start, places, booked, draw in rows}
