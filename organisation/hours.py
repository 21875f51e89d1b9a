"""Opening hours: is a centre open at an instant, and when does it next open. Pure functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from organisation.models import WEEKDAYS

Spans = Mapping[str, Sequence[Sequence[str]]]


def spans_on(day: date, hours: Spans, holidays: Sequence[str]) -> list[tuple[time, time]]:
    if day.isoformat() in holidays:
        return []
    return [
        (time.fromisoformat(start), time.fromisoformat(end))
        for start, end in hours.get(WEEKDAYS[day.weekday()], [])
    ]


def is_open(at: datetime, *, hours: Spans, holidays: Sequence[str], timezone: str) -> bool:
    """True when `at` falls inside an opening span of the centre's local day."""
    local = at.astimezone(ZoneInfo(timezone))
    return any(start <= local.time() < end for start, end in spans_on(local.date(), hours, holidays))


def next_opening(
    after: datetime, *, hours: Spans, holidays: Sequence[str], timezone: str, horizon_days: int = 30
) -> datetime | None:
    """The first opening at or after `after`, aware in the centre's zone; None if none within the horizon."""
    zone = ZoneInfo(timezone)
    local = after.astimezone(zone)
    for offset in range(horizon_days + 1):
        day = local.date() + timedelta(days=offset)
        for start, _end in sorted(spans_on(day, hours, holidays)):
            opening = datetime.combine(day, start, tzinfo=zone)
            if opening >= local:
                return opening
    return None


def local_day(at: datetime, *, timezone: str) -> date:
    """The centre-local calendar day of an instant: ticket numbers restart each one."""
    return at.astimezone(ZoneInfo(timezone)).date()


def covers(start: datetime, end: datetime, *, hours: Spans, timezone: str) -> bool:
    """True when the week's hours hold [start, end) within one opening span of its local day, as a
    slot is held (holidays aside: a closed day's appointments are cancelled when it is closed)."""
    zone = ZoneInfo(timezone)
    first, last = start.astimezone(zone), end.astimezone(zone)
    if first.date() != last.date():
        return False
    return any(
        opens <= first.time() and last.time() <= closes for opens, closes in spans_on(first.date(), hours, ())
    )
