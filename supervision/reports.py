"""Supervisors' reports from the log: per day or week and service (issued, served, no-shows,
cancellations, waits, service times, the share called within the target, appointments' show rate),
and per agent (served, mean service time, open, idle and pause time by reason); JSON or CSV.

The show rate reads booking's appointments; everything else is the tickets and the event log, which
is chained (eventlog/chain.py)."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from booking.models import RELEASED, Appointment, AppointmentStatus
from config.schemas import UsageQuery
from config.sql import id_of
from eventlog.models import Event
from organisation.models import Centre, Service
from queueing.models import Ticket
from queueing.service import Channel

COUNTER_EVENTS = (
    "counter_opened",
    "counter_closed",
    "counter_paused",
    "counter_resumed",
    "started",
    "finished",
)


class ReportQuery(UsageQuery):
    period: Literal["day", "week"] = Field(default="day", description="a week starts on Sunday")
    format: Literal["json", "csv", "svg"] = Field(default="json", description="svg: a chart")


class AgentQuery(UsageQuery):
    format: Literal["json", "csv", "svg"] = Field(default="json", description="svg: a chart")


class ServiceRowOut(BaseModel):
    period: date = Field(description="the day, or the Sunday that starts the week")
    service: str
    issued: int
    served: int
    no_show: int
    cancelled: int
    mean_wait_s: int | None = Field(description="walk-ins, from arrival to the first call")
    p90_wait_s: int | None
    mean_service_s: int | None
    within_target: float | None = Field(description="share of walk-ins called within DOR_WAIT_TARGET_S")
    appointments: int = Field(description="appointments of the period, less those cancelled or voided")
    show_rate: float | None = Field(description="of the appointments that ended, the share checked in")


class AgentRowOut(BaseModel):
    agent: str = Field(description="staff:<username>")
    served: int
    mean_service_s: int | None
    open_s: int = Field(description="time with a counter open")
    idle_s: int = Field(description="open, not paused, nobody in service")
    pause_s: dict[str, int] = Field(description="paused time by the reason given")


def local_days_span(first: date, last: date, timezone: str) -> tuple[datetime, datetime]:
    """From the start of the local day `first` to the end of `last`."""
    zone = ZoneInfo(timezone)
    return datetime.combine(first, time(), zone), datetime.combine(last + timedelta(days=1), time(), zone)


def _period(day: date, period: str) -> date:
    return day if period == "day" else day - timedelta(days=(day.weekday() + 1) % 7)


def _p90(values: Sequence[float]) -> int:
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)])


def service_rows(
    session: Session, *, centre: Centre, first: date, last: date, period: str, target_s: int
) -> list[ServiceRowOut]:
    """One row per period and service that had any ticket or appointment."""
    codes = dict(session.exec(select(Service.id, Service.code)).all())
    tickets = session.execute(
        sa_select(
            col(Ticket.day),
            col(Ticket.service_id),
            col(Ticket.status),
            col(Ticket.channel),
            col(Ticket.arrived_at),
            col(Ticket.call_times),
            col(Ticket.started_at),
            col(Ticket.ended_at),
        ).where(col(Ticket.centre_id) == id_of(centre), col(Ticket.day) >= first, col(Ticket.day) <= last)
    ).all()
    groups: defaultdict[tuple[date, str], list[Any]] = defaultdict(list)
    for row in tickets:
        groups[_period(row[0], period), codes[row[1]]].append(row)
    start, end = local_days_span(first, last, centre.timezone)
    zone = ZoneInfo(centre.timezone)
    appointments: defaultdict[tuple[date, str], list[str]] = defaultdict(list)
    for service_id, begins, status in session.exec(
        select(Appointment.service_id, Appointment.start, Appointment.status).where(
            Appointment.centre_id == id_of(centre),
            col(Appointment.start) >= start,
            col(Appointment.start) < end,
        )
    ).all():
        appointments[_period(begins.astimezone(zone).date(), period), codes[service_id]].append(status)
    rows = []
    for key in sorted(set(groups) | set(appointments)):
        mine, booked = groups.get(key, []), appointments.get(key, [])
        waits = [
            (datetime.fromisoformat(calls[0]) - arrived).total_seconds()
            for _, _, _, channel, arrived, calls, _, _ in mine
            if channel in Channel.WALK_INS and calls
        ]
        services = [(ended - started).total_seconds() for *_, started, ended in mine if started and ended]
        came = booked.count(AppointmentStatus.CHECKED_IN.value)
        ended = came + booked.count(AppointmentStatus.NO_SHOW.value)
        rows.append(
            ServiceRowOut(
                period=key[0],
                service=key[1],
                issued=len(mine),
                served=sum(1 for r in mine if r[2] == "done"),
                no_show=sum(1 for r in mine if r[2] == "no_show"),
                cancelled=sum(1 for r in mine if r[2] == "cancelled"),
                mean_wait_s=round(statistics.fmean(waits)) if waits else None,
                p90_wait_s=_p90(waits) if waits else None,
                mean_service_s=round(statistics.fmean(services)) if services else None,
                within_target=round(sum(w <= target_s for w in waits) / len(waits), 3) if waits else None,
                appointments=sum(1 for s in booked if s not in RELEASED),
                show_rate=round(came / ended, 3) if ended else None,
            )
        )
    return rows


def agent_rows(
    session: Session, *, centre: Centre, first: date, last: date, until: datetime
) -> list[AgentRowOut]:
    """Per agent, from the counter events of those days: each counter's open spans, pauses and services."""
    start, end = local_days_span(first, last, centre.timezone)
    stop = min(end, until)  # a counter still open counts until now
    events = session.exec(
        select(Event)
        .where(
            Event.centre_id == id_of(centre),
            col(Event.type).in_(COUNTER_EVENTS),
            col(Event.at) >= start,
            col(Event.at) < end,
        )
        .order_by(col(Event.seq))
    ).all()
    opened: dict[int, tuple[str, datetime]] = {}  # counter -> (agent, since)
    paused: dict[int, tuple[str, datetime]] = {}  # counter -> (reason, since)
    serving: dict[int, datetime] = {}
    open_s: defaultdict[str, float] = defaultdict(float)
    busy_s: defaultdict[str, float] = defaultdict(float)
    served: defaultdict[str, int] = defaultdict(int)
    pause_s: defaultdict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))

    def end_pause(counter: int, agent: str, at: datetime) -> None:
        if counter in paused:
            reason, since = paused.pop(counter)
            pause_s[agent][reason] += (at - since).total_seconds()

    for event in events:
        counter = event.counter_id or 0
        if event.type == "counter_opened":
            opened[counter] = (event.actor, event.at)
        elif counter not in opened:
            continue  # opened before the range: its time belongs to the days it was opened on
        elif event.type == "counter_paused":
            paused[counter] = (str(event.data.get("reason", "")), event.at)
        elif event.type == "counter_resumed":
            end_pause(counter, opened[counter][0], event.at)
        elif event.type == "started":
            serving[counter] = event.at
        elif event.type == "finished" and counter in serving:
            agent = opened[counter][0]
            busy_s[agent] += (event.at - serving.pop(counter)).total_seconds()
            served[agent] += 1
        elif event.type == "counter_closed":
            agent, since = opened.pop(counter)
            end_pause(counter, agent, event.at)
            open_s[agent] += (event.at - since).total_seconds()
    for counter, (agent, since) in opened.items():
        end_pause(counter, agent, stop)
        open_s[agent] += max(0.0, (stop - since).total_seconds())
    rows = []
    for agent in sorted(open_s):
        paused_total = sum(pause_s[agent].values())
        rows.append(
            AgentRowOut(
                agent=agent,
                served=served[agent],
                mean_service_s=round(busy_s[agent] / served[agent]) if served[agent] else None,
                open_s=round(open_s[agent]),
                idle_s=round(max(0.0, open_s[agent] - paused_total - busy_s[agent])),
                pause_s={reason: round(s) for reason, s in sorted(pause_s[agent].items())},
            )
        )
    return rows
