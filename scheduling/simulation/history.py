"""The demo's past (`dor seed --demo --history WEEKS`): each centre's open days of the last weeks, up
to yesterday, played by the simulator through the real engine at the centre as it is (the counters
a quiet day opens, an agent at each), so that every figure the reports, the transparency page and the
counter plan show is what the engine wrote. Then a share of the served citizens rate their service.

The log of a centre is a chain appended in time order, so a centre gets its past only while its log
is empty: the command does nothing the second time, and nothing at a centre already in use.
"""

from __future__ import annotations

import random
import time as clock
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, select

from config.db import Database
from config.sql import id_of
from eventlog.log import last_seq
from organisation.hours import local_day, spans_on
from organisation.models import Centre, Counter, CounterService, QueueRole, Role, Service, Staff, StaffCentre
from queueing.feedback import give_feedback
from queueing.models import Ticket
from queueing.policy import PolicyConfig
from queueing.states import TicketStatus
from scheduling.simulation.database_engine import DatabaseEngine, Seat, Staffed
from scheduling.simulation.run import Simulation
from scheduling.simulation.scenario import (
    CentreSpec,
    CounterSpec,
    DaySpec,
    RemoteSpec,
    Scenario,
    ServiceSpec,
)
from sms_gateway.models import SmsMessage, SmsStatus

# Arrivals through the day, hour by hour from opening, as multiples of the day's mean hourly rate:
# most citizens come in the morning, the afternoon is quiet.
HOURLY_SHAPE = (1.0, 2.0, 1.8, 1.1, 0.6, 0.4, 0.3, 0.2)
# How the day's citizens divide among the services (codes not named get OTHER_SERVICE).
SERVICE_MIX = {"CR": 0.34, "FS": 0.14, "ID": 0.1, "PP": 0.06, "NC": 0.12, "RE": 0.06, "VT": 0.06, "BR": 0.1}
OTHER_SERVICE = 0.08
# Busier at the start of the week (Sunday), quieter before the weekend and on a Saturday morning.
WEEKDAY_DEMAND = {"sun": 1.15, "mon": 1.05, "tue": 1.0, "wed": 0.95, "thu": 0.85, "fri": 0.8, "sat": 0.8}
# The open counters' mean offered load over the day (more in the morning): queues of a few minutes,
# longer where one counter holds a service, as at DAM-01's RE and VT. It also sets the run's length:
# about 14 ms of CPU a ticket (docs/operations.md, "The demo's past").
LOAD = 0.33
CV = 0.6  # of a service's time
PRIORITY_SHARE = 0.05  # elderly, disabled, pregnant
REMOTE_SHARE = 0.05  # take a ticket from home and come on the SMS
WALK_AWAY_SHARE = 0.04  # leave before their call: no-shows
BREAK = timedelta(minutes=15)  # each agent's, staggered from the middle of the day
FEEDBACK_SHARE = 0.3  # of the served citizens, who answer the rating
# Ratings as citizens give them: mostly content, a few angry.
RATINGS = (5, 4, 3, 2, 1)
RATING_WEIGHTS = (0.5, 0.27, 0.11, 0.05, 0.07)
COMMENT_SHARE = 0.25  # of the answers, with a few words
COMMENTS = {
    5: ("خدمة ممتازة وسريعة، شكراً", "الموظف كان لطيفاً جداً", "Quick and friendly, thank you"),
    4: ("جيد، لكن الانتظار طال قليلاً", "Good service, the hall was crowded"),
    3: ("مقبول", "The screen called my number too fast"),
    2: ("انتظرت أكثر مما قيل لي", "Waited longer than the ticket said"),
    1: ("انتظار طويل جداً ولا يوجد مكان للجلوس", "Sent to the wrong counter twice"),
}

Progress = Callable[[str], None]


@dataclass
class CentreHistory:
    """What was written at one centre, or why nothing was (`skipped`)."""

    code: str
    days: int = 0
    tickets: int = 0
    served: int = 0
    no_shows: int = 0
    ratings: int = 0
    seconds: float = 0.0
    skipped: str = ""


def seed_history(
    database: Database,
    *,
    weeks: int,
    now: datetime,
    centres: Sequence[str] | None = None,
    load: float = LOAD,
    seed: int = 1,
    progress: Progress | None = None,
) -> list[CentreHistory]:
    """Writes `weeks` weeks of past days, up to yesterday, at every centre (or those of `centres`)
    whose log is empty, its open counters `load` busy on average."""
    with database.read() as session:
        codes = [
            code
            for code in session.exec(select(Centre.code).order_by(col(Centre.code))).all()
            if centres is None or code in centres
        ]
    return [
        _centre_history(database, code=code, weeks=weeks, now=now, load=load, seed=seed, progress=progress)
        for code in codes
    ]


def _centre_history(
    database: Database,
    *,
    code: str,
    weeks: int,
    now: datetime,
    load: float,
    seed: int,
    progress: Progress | None,
) -> CentreHistory:
    started = clock.perf_counter()
    done = CentreHistory(code)
    with database.read() as session:
        centre = session.exec(select(Centre).where(Centre.code == code)).one()
        events = last_seq(session, centre_id=id_of(centre))
        if events:
            done.skipped = f"its log holds {events} events already; a past is written only into an empty log"
            return done
        staffed = _staffed(session, centre)
        if not staffed.seats:
            done.skipped = "no agent works at its counters"
            return done
        services = {id_of(s): s for s in session.exec(select(Service)).all()}
        counters = _counter_specs(session, staffed, services)
    today = local_day(now, timezone=centre.timezone)
    for offset in range(7 * weeks, 0, -1):
        day = today - timedelta(days=offset)
        spans = spans_on(day, centre.opening_hours, centre.holidays)
        if not spans:  # a weekend, a holiday
            continue
        opens, closes = spans[0]  # a day of several spans works its first
        scenario = _day(centre, day, (opens, closes), counters, services, load=load)
        engine = DatabaseEngine(database, scenario=scenario, policy=PolicyConfig(), staffed=staffed)
        Simulation(scenario, engine=engine, seed=seed * 100_003 + day.toordinal()).run()
        _after_the_day(database, centre=centre, day=day, seed=seed, done=done)
        done.days += 1
        if progress is not None:
            progress(f"{code} {day.isoformat()}")
    done.seconds = clock.perf_counter() - started
    return done


def _staffed(session: Session, centre: Centre) -> Staffed:
    """The counters a quiet day opens, each with one of the centre's agents (by username): counter by
    counter, the one that adds most services not yet served (the lowest number on a tie), until
    every service of the centre is served or no agent is left."""
    counters = session.exec(
        select(Counter).where(Counter.centre_id == id_of(centre)).order_by(col(Counter.number))
    ).all()
    roles = session.exec(
        select(CounterService.counter_id, CounterService.service_id)
        .join(Counter, col(Counter.id) == CounterService.counter_id)
        .where(Counter.centre_id == id_of(centre), CounterService.role == QueueRole.MAIN.value)
    ).all()
    own: dict[int, set[int]] = {}
    for counter_id, service_id in roles:
        own.setdefault(counter_id, set()).add(service_id)
    agents = session.exec(
        select(Staff)
        .join(StaffCentre, col(StaffCentre.staff_id) == Staff.id)
        .where(StaffCentre.centre_id == id_of(centre), Staff.role == Role.AGENT.value, col(Staff.active))
    ).all()
    agents = sorted(agents, key=lambda s: (len(s.username), s.username))  # agent2 before agent10
    uncovered = {service_id for services in own.values() for service_id in services}
    chosen: list[Counter] = []
    while uncovered and len(chosen) < len(agents):
        best = max(counters, key=lambda c: (len(own.get(id_of(c), set()) & uncovered), -c.number))
        if not own.get(id_of(best), set()) & uncovered:
            break
        chosen.append(best)
        uncovered -= own[id_of(best)]
    chosen.sort(key=lambda c: c.number)
    seats = [
        Seat(counter.number, id_of(counter), id_of(agent), agent.username)
        for counter, agent in zip(chosen, agents, strict=False)
    ]
    service_ids = {code: id_ or 0 for code, id_ in session.exec(select(Service.code, Service.id))}
    return Staffed(id_of(centre), service_ids, seats)


def _counter_specs(session: Session, staffed: Staffed, services: dict[int, Service]) -> list[CounterSpec]:
    """Each staffed counter's queues as the simulator reads them, with a break for its agent."""
    specs = []
    for index, seat in enumerate(staffed.seats):
        roles = session.exec(select(CounterService).where(CounterService.counter_id == seat.counter_id)).all()
        own = {services[r.service_id].code: r.weight for r in roles if r.role == QueueRole.MAIN.value}
        backups = {services[r.service_id].code: r.weight for r in roles if r.role != QueueRole.MAIN.value}
        # Breaks from 11:00, one agent after another.
        begin = datetime.combine(date.min, time(11)) + index * BREAK
        specs.append(
            CounterSpec(
                services=own,
                backups=backups,
                breaks=[(begin.strftime("%H:%M"), (begin + BREAK).strftime("%H:%M"))],
            )
        )
    return specs


def _day(
    centre: Centre,
    day: date,
    span: tuple[time, time],
    counters: Sequence[CounterSpec],
    services: dict[int, Service],
    *,
    load: float,
) -> Scenario:
    """One open day at the centre: its services' arrivals, hour by hour, keep its open counters
    `load` busy on average, more on a Sunday and less on a Thursday."""
    opens, closes = span
    served = sorted({code for c in counters for code in (*c.services, *c.backups)})
    by_code = {s.code: s for s in services.values()}
    mix = {code: SERVICE_MIX.get(code, OTHER_SERVICE) for code in served}
    total = sum(mix.values())
    mean_s = sum(mix[code] / total * by_code[code].mean_service_s for code in served)
    hours = -(-int((datetime.combine(day, closes) - datetime.combine(day, opens)).total_seconds()) // 3600)
    shape = [HOURLY_SHAPE[min(h, len(HOURLY_SHAPE) - 1)] for h in range(hours)]
    per_hour = load * len(counters) * 3600 / mean_s * WEEKDAY_DEMAND[day.strftime("%a").lower()]
    return Scenario(
        name=f"{centre.code} {day.isoformat()}",
        walk_s=20,
        walk_away_share=WALK_AWAY_SHARE,
        day=DaySpec(
            date=day, timezone=centre.timezone, opens=opens.strftime("%H:%M"), closes=closes.strftime("%H:%M")
        ),
        remote=RemoteSpec(share=REMOTE_SHARE, check_in=centre.remote_check_in),
        centre=[CentreSpec(code=centre.code, latitude=centre.latitude, longitude=centre.longitude)],
        service=[
            ServiceSpec(
                code=code,
                mean_service_s=by_code[code].mean_service_s,
                cv=CV,
                walk_ins_per_hour=[per_hour * mix[code] / total * share for share in shape],
                priority_share=PRIORITY_SHARE,
            )
            for code in served
        ],
        counter=list(counters),
    )


def _after_the_day(database: Database, *, centre: Centre, day: date, seed: int, done: CentreHistory) -> None:
    """Counts the day, has a share of its served citizens rate their service within the hour, and
    marks the day's SMS sent: they left long ago, and the outbox must not send them now."""
    rng = random.Random(f"{seed}:feedback:{centre.code}:{day.isoformat()}")  # noqa: S311 (simulated)
    with database.write() as session:
        tickets = session.exec(
            select(Ticket)
            .where(Ticket.centre_id == id_of(centre), Ticket.day == day)
            .order_by(col(Ticket.id))
        ).all()
        done.tickets += len(tickets)
        done.no_shows += sum(1 for t in tickets if t.status == TicketStatus.NO_SHOW.value)
        served = [t for t in tickets if t.status == TicketStatus.DONE.value and t.ended_at is not None]
        done.served += len(served)
        for ticket in served:
            if rng.random() >= FEEDBACK_SHARE:
                continue
            assert ticket.ended_at is not None
            rating = rng.choices(RATINGS, RATING_WEIGHTS)[0]
            comment = rng.choice(COMMENTS[rating]) if rng.random() < COMMENT_SHARE else None
            answered = ticket.ended_at + timedelta(minutes=rng.uniform(1, 60))
            give_feedback(session, ticket=ticket, rating=rating, comment=comment, now=answered)
            done.ratings += 1
        end = datetime.combine(day + timedelta(days=1), time(), ZoneInfo(centre.timezone)).astimezone(UTC)
        session.execute(
            update(SmsMessage)
            .where(
                col(SmsMessage.centre_id) == id_of(centre),
                col(SmsMessage.status) == SmsStatus.PENDING.value,
                col(SmsMessage.created_at) < end,
            )
            .values(status=SmsStatus.SENT.value, sent_at=SmsMessage.created_at, backend="console")
        )
