"""What a citizen can still book: a service's slots with the places left in each, and the first slot
with a place at a centre within the booking horizon, so a page can say "no places" before it asks for
a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from booking.places import places_on, stored_slots
from booking.slots import SlotRules, bookable_slots
from config.sql import id_of
from organisation.models import Centre, Service

SEARCH_DAYS = 7  # the first free slot is looked for a week at a time: most centres have one soon


@dataclass(frozen=True)
class OpenSlot:
    start: datetime  # aware, centre-local
    end: datetime
    available: int  # places left; 0 when full


def open_slots(
    session: Session,
    *,
    centre: Centre,
    service: Service,
    first: date,
    days: int,
    rules: SlotRules,
    now: datetime,
) -> list[OpenSlot]:
    """The slots of `days` local days from `first` still bookable at `now`, full ones included, each
    with its places left. A slot booked before keeps the capacity it was sold with."""
    zone = ZoneInfo(centre.timezone)
    offered = places_on(
        session,
        centre=centre,
        days=[first + timedelta(days=d) for d in range(days)],
        rules=rules,
        today=now.astimezone(zone).date(),
    )
    slots = bookable_slots(
        first=first,
        days=days,
        now=now,
        hours=centre.opening_hours,
        holidays=centre.holidays,
        timezone=centre.timezone,
        rules=rules,
        places=lambda day: offered[day].get(id_of(service), {}),
    )
    stored = stored_slots(session, centre=centre, service=service, starts=[s.start for s in slots])
    out = []
    for slot in slots:
        places, booked = stored.get(slot.start, (slot.capacity, 0))
        out.append(OpenSlot(slot.start.astimezone(zone), slot.end.astimezone(zone), max(0, places - booked)))
    return out


def last_bookable_day(*, centre: Centre, rules: SlotRules, now: datetime) -> date:
    """The centre-local day the horizon ends on (bookable slots go up to it)."""
    return now.astimezone(ZoneInfo(centre.timezone)).date() + timedelta(days=rules.horizon_days)


def first_free_slot(
    session: Session, *, centre: Centre, service: Service, rules: SlotRules, now: datetime
) -> OpenSlot | None:
    """The earliest slot with a place left from now to the end of the horizon; None if there is none."""
    day = now.astimezone(ZoneInfo(centre.timezone)).date()
    last = last_bookable_day(centre=centre, rules=rules, now=now)
    while day <= last:
        days = min(SEARCH_DAYS, (last - day).days + 1)
        found = open_slots(
            session, centre=centre, service=service, first=day, days=days, rules=rules, now=now
        )
        free = next((slot for slot in found if slot.available > 0), None)
        if free is not None:
            return free
        day += timedelta(days=days)
    return None
