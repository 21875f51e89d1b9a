"""What SMS cost: messages and segments per centre-local day (operators bill per segment)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from sms_gateway.models import SmsMessage, SmsStatus


@dataclass(frozen=True)
class DayUsage:
    day: date
    messages: int
    segments: int
    delivered: int
    failed: int


def daily_usage(
    session: Session, *, centre_id: int, first: date, last: date, timezone: str
) -> list[DayUsage]:
    """Every day from `first` to `last` (inclusive) in the centre's time zone, days without SMS too."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(first, time(), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)
    rows = session.exec(
        select(SmsMessage.created_at, SmsMessage.segments, SmsMessage.status).where(
            SmsMessage.centre_id == centre_id,
            col(SmsMessage.created_at) >= start,
            col(SmsMessage.created_at) < end,
        )
    ).all()
    messages: Counter[date] = Counter()
    segments: Counter[date] = Counter()
    delivered: Counter[date] = Counter()
    failed: Counter[date] = Counter()
    for created_at, count, status in rows:
        day = created_at.astimezone(zone).date()
        messages[day] += 1
        segments[day] += count
        delivered[day] += status == SmsStatus.DELIVERED.value
        failed[day] += status == SmsStatus.FAILED.value
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [DayUsage(d, messages[d], segments[d], delivered[d], failed[d]) for d in days]
