"""A supervisor's message on a centre's hall displays: a short text in Arabic and English shown
(and spoken once) until its end time. It lives in the centre's event log, not a table of its own:
`hall_message` (the texts and the end) and `hall_message_cleared`; the latest of today's, if a
message and not yet ended, is the current one."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, Field
from sqlmodel import Session, col, select

from config.errors import Refused
from config.i18n import N_
from config.schemas import Strict
from config.sql import id_of
from eventlog.log import append_event
from eventlog.models import Event
from organisation import hours
from organisation.models import Centre

SHOWN, CLEARED = "hall_message", "hall_message_cleared"
MAX_CHARS = 200
DEFAULT_SPAN = timedelta(hours=1)


def _one_line(value: object) -> object:
    """Runs of spaces and line breaks as one space, control characters dropped: a banner's line, and
    a sentence for the voice."""
    if not isinstance(value, str):
        return value
    text = " ".join(value.split())
    return "".join(c for c in text if unicodedata.category(c) != "Cc")


OneLine = Annotated[str, BeforeValidator(_one_line), Field(min_length=1, max_length=MAX_CHARS)]


class HallMessageIn(Strict):
    ar: OneLine
    en: OneLine
    until: time | None = Field(
        default=None, description="centre-local time today when it ends (HH:MM); by default in an hour"
    )


class HallMessageOut(BaseModel):
    seq: int
    ar: str
    en: str
    ends_at: datetime


class NoHallMessage(Refused):
    code = "no_hall_message"


def _start_of_day(centre: Centre, at: datetime) -> datetime:
    day = hours.local_day(at, timezone=centre.timezone)
    return datetime.combine(day, time(0), ZoneInfo(centre.timezone))


def current_message(session: Session, *, centre: Centre, now: datetime) -> HallMessageOut | None:
    """The message the centre's displays show now, if any. Only today's events are read: a message
    ends by the end of its day (the index on the log's time keeps this one short read)."""
    latest = session.exec(
        select(Event)
        .where(
            Event.centre_id == id_of(centre),
            col(Event.at) >= _start_of_day(centre, now),
            col(Event.type).in_((SHOWN, CLEARED)),
        )
        .order_by(col(Event.seq).desc())
        .limit(1)
    ).first()
    if latest is None or latest.type != SHOWN:
        return None
    message = HallMessageOut(seq=latest.seq, **latest.data)
    return message if message.ends_at > now else None


def message_end(centre: Centre, *, now: datetime, until: time | None) -> datetime | None:
    """When a message written now ends: at `until` (centre-local, today), by default in an hour and
    never past the end of the day; None when `until` is not later today."""
    end_of_day = _start_of_day(centre, now) + timedelta(days=1)
    if until is None:
        return min(now + DEFAULT_SPAN, end_of_day)
    day = hours.local_day(now, timezone=centre.timezone)
    ends = datetime.combine(day, until, ZoneInfo(centre.timezone))
    return ends if ends > now else None


def show_message(
    session: Session, *, centre: Centre, ar: str, en: str, ends: datetime, actor: str, now: datetime
) -> HallMessageOut:
    """Puts a message on the centre's displays until `ends`; it replaces the message shown before."""
    ends = ends.astimezone(UTC)  # stored as every instant is
    data = {"ar": ar, "en": en, "ends_at": ends.isoformat()}
    seq = append_event(
        session, centre_id=id_of(centre), centre_code=centre.code, type=SHOWN, actor=actor, at=now, data=data
    )
    return HallMessageOut(seq=seq, ar=ar, en=en, ends_at=ends)


def clear_message(session: Session, *, centre: Centre, actor: str, now: datetime) -> None:
    """Takes the current message off the displays before its end; 409 when none is shown."""
    shown = current_message(session, centre=centre, now=now)
    if shown is None:
        raise NoHallMessage(N_("no message is on the hall display"))
    append_event(
        session,
        centre_id=id_of(centre),
        centre_code=centre.code,
        type=CLEARED,
        actor=actor,
        at=now,
        data={"seq": shown.seq},
    )
