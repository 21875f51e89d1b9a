"""The public transparency page of a centre: for today and the days before, how many were served,
the median wait, the share who did not come when called, and the booking places offered against
those taken. Counts and durations only: nothing about a person. No sign-in."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from booking.models import RELEASED, Appointment
from booking.places import places_on
from booking.slots import SlotRules
from config.schemas import Strict
from config.sql import id_of
from organisation.models import Centre
from queueing.models import Ticket
from queueing.service import Channel
from supervision.feedback import PublicFeedbackOut


class TransparencyQuery(Strict):
    days: int = Field(default=7, ge=1, le=31, description="today and this many days before it, in all")


class DayFiguresOut(BaseModel):
    day: date
    served: int
    median_wait_s: int | None = Field(description="walk-ins, from arrival to the first call")
    no_show_share: float | None = Field(description="of the tickets called, those who did not come")
    booking_places: int = Field(description="places the booking pages offered for that day")
    booking_places_taken: int = Field(description="appointments for that day, less those cancelled or voided")


class TransparencyOut(BaseModel):
    centre: str
    days: list[DayFiguresOut]
    feedback: PublicFeedbackOut = Field(description="what citizens said after service, the last 30 days")


@dataclass(frozen=True)
class _Outcome:
    day: date
    status: str
    channel: str
    waited_s: float | None


def _outcomes(session: Session, centre: Centre, first: date, last: date) -> list[_Outcome]:
    rows = session.execute(
        sa_select(
            col(Ticket.day),
            col(Ticket.status),
            col(Ticket.channel),
            col(Ticket.arrived_at),
            col(Ticket.call_times),
        ).where(col(Ticket.centre_id) == id_of(centre), col(Ticket.day) >= first, col(Ticket.day) <= last)
    ).all()
    return [
        _Outcome(
            day,
            status,
            channel,
            (datetime.fromisoformat(calls[0]) - arrived).total_seconds() if calls else None,
        )
        for day, status, channel, arrived, calls in rows
    ]


def _taken(session: Session, centre: Centre, day: date) -> int:
    zone = ZoneInfo(centre.timezone)
    start = datetime.combine(day, datetime.min.time(), zone)
    return session.exec(
        select(func.count())
        .select_from(Appointment)
        .where(
            Appointment.centre_id == id_of(centre),
            col(Appointment.start) >= start,
            col(Appointment.start) < start + timedelta(days=1),
            col(Appointment.status).not_in(RELEASED),
        )
    ).one()


def figures(
    session: Session, *, centre: Centre, today: date, days: int, rules: SlotRules
) -> list[DayFiguresOut]:
    """The centre's figures for `today` and the `days - 1` days before, oldest first."""
    first = today - timedelta(days=days - 1)
    outcomes = _outcomes(session, centre, first, today)
    # Places from the counters as they are now: a past day whose counters differed shows what they
    # would offer today.
    offered = places_on(
        session,
        centre=centre,
        days=[first + timedelta(days=d) for d in range(days)],
        rules=rules,
        today=today,
    )
    result = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        mine = [o for o in outcomes if o.day == day]
        waits = [o.waited_s for o in mine if o.channel in Channel.WALK_INS and o.waited_s is not None]
        served = sum(1 for o in mine if o.status == "done")
        absent = sum(1 for o in mine if o.status == "no_show")
        result.append(
            DayFiguresOut(
                day=day,
                served=served,
                median_wait_s=round(statistics.median(waits)) if waits else None,
                no_show_share=round(absent / (served + absent), 3) if served + absent else None,
                booking_places=sum(sum(places.values()) for places in offered[day].values()),
                booking_places_taken=_taken(session, centre, day),
            )
        )
    return result
