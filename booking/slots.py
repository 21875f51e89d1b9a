"""The slot engine: bookable slots from a centre's week and holidays; their capacity comes from the
counters (scheduling/capacity.py). Pure functions over plain data; computed in the centre's time zone
from the tz database. Breaks are the gaps between a day's opening spans; a slot never straddles one.
docs/scheduling.md has examples.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from config.errors import Refused
from config.i18n import N_
from organisation.hours import Spans, spans_on


@dataclass(frozen=True)
class SlotRules:
    slot: timedelta = timedelta(minutes=30)
    horizon_days: int = 30  # bookable up to this many days ahead
    min_notice: timedelta = timedelta(hours=2)  # no booking closer to the start than this
    walk_in_share: float = 0.5  # share of counter time kept for walk-ins
    # "demand": a slot's places also give way to the walk-ins its weekday brought in recent weeks,
    # keeping the counters at most `target_load` busy (scheduling/capacity.py, places_by_demand).
    places: str = "demand"
    target_load: float = 0.9
    history_weeks: int = 4


@dataclass(frozen=True)
class Slot:
    start: datetime  # aware, UTC
    end: datetime
    capacity: int


class NotBookable(Refused):
    """Why an instant is not a bookable slot start: `reason` is past, too_soon, beyond_horizon,
    closed (weekend or holiday) or not_a_slot; the refusal's code is `slot_{reason}`."""

    http_status = 422

    def __init__(self, reason: str, message: str, /, **params: object) -> None:
        super().__init__(message, **params)
        self.reason = reason
        self.code = f"slot_{reason}"


def day_slots(
    day: date, *, hours: Spans, holidays: Sequence[str], timezone: str, length: timedelta
) -> list[tuple[datetime, datetime]]:
    """The slot intervals of a local day, in UTC; none on a weekend day or holiday."""
    zone = ZoneInfo(timezone)
    slots = []
    for opens, closes in sorted(spans_on(day, hours, holidays)):
        start = datetime.combine(day, opens, tzinfo=zone)
        end_of_span = datetime.combine(day, closes, tzinfo=zone)
        while start + length <= end_of_span:
            slots.append((start.astimezone(UTC), (start + length).astimezone(UTC)))
            start += length
    return slots


def bookable_slots(
    *,
    first: date,
    days: int,
    now: datetime,
    hours: Spans,
    holidays: Sequence[str],
    timezone: str,
    rules: SlotRules,
    places: Callable[[date], Mapping[datetime, int]],
) -> list[Slot]:
    """The slots of `days` local days from `first` that can still be booked at `now`, each with the
    places `places(day)` gives it."""
    zone = ZoneInfo(timezone)
    last_day = now.astimezone(zone).date() + timedelta(days=rules.horizon_days)
    slots = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        if day > last_day:
            break
        spans = day_slots(day, hours=hours, holidays=holidays, timezone=timezone, length=rules.slot)
        offered = places(day) if spans else {}
        for start, end in spans:
            if start - now >= rules.min_notice:
                slots.append(Slot(start, end, offered.get(start, 0)))
    return slots


def released_at(start: datetime, *, timezone: str, horizon_days: int) -> datetime:
    """When a slot became bookable: the local midnight `horizon_days` before its day. Brokers'
    scripts book in the first seconds after it (booking/brokers.py)."""
    zone = ZoneInfo(timezone)
    day = start.astimezone(zone).date() - timedelta(days=horizon_days)
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def check_bookable(
    start: datetime, *, now: datetime, hours: Spans, holidays: Sequence[str], timezone: str, rules: SlotRules
) -> datetime:
    """The end of the slot that starts at `start`; NotBookable saying why it cannot be booked."""
    zone = ZoneInfo(timezone)
    local = start.astimezone(zone)
    if start <= now:
        raise NotBookable("past", N_("field 'start': this slot is in the past"))
    if start - now < rules.min_notice:
        minutes = int(rules.min_notice.total_seconds() // 60)
        raise NotBookable(
            "too_soon",
            N_("field 'start': slots must be booked at least %(minutes)d minutes ahead"),
            minutes=minutes,
        )
    if local.date() > now.astimezone(zone).date() + timedelta(days=rules.horizon_days):
        raise NotBookable(
            "beyond_horizon",
            N_("field 'start': slots can be booked up to %(days)d days ahead"),
            days=rules.horizon_days,
        )
    if not spans_on(local.date(), hours, holidays):
        raise NotBookable(
            "closed",
            N_("field 'start': the centre is closed on %(day)s (weekend or holiday)"),
            day=local.date().isoformat(),
        )
    for slot_start, slot_end in day_slots(
        local.date(), hours=hours, holidays=holidays, timezone=timezone, length=rules.slot
    ):
        if slot_start == start:
            return slot_end
    raise NotBookable("not_a_slot", N_("field 'start': no slot starts at this time"))
