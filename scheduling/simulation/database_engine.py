"""The simulator's engine on a database: every step is a transaction of the real engine (issue_ticket,
CounterDesk.call_next/start/finish/pause/resume/close, the balancer's round), with the queue SMS,
the kiosk check-in and the centre recommendations that only it simulates (remote tickets, advice).
It builds the scenario's organisation on an empty database, or works at a centre that exists
(`Staffed`: the demo's history, scheduling/simulation/history.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from config.db import Database
from config.sql import id_of
from organisation.models import Centre, CentreService, Counter, CounterService, QueueRole, Service, Staff
from queueing.counters import find_counter
from queueing.engine import CounterDesk, check_in_ticket, issue_ticket
from queueing.models import Ticket
from queueing.notifications import QueueNotices, notify_called, notify_near
from queueing.policy import PolicyConfig, Priority
from queueing.service import centre_status
from queueing.tickets import Channel, open_counters_serving
from queueing.waits import newcomer_standing, wait_model
from scheduling.balancer import balance_centre
from scheduling.balancing import BalanceRules
from scheduling.recommendations import Option, centre_options
from scheduling.simulation.engine import Called, Issued, Layout, Served
from scheduling.simulation.scenario import Scenario
from sms_gateway.models import SmsMessage

KIOSK = "device:simulated-kiosk"
NO_SIGN_IN = "!"  # matches no password: nobody signs in as a simulated agent
GRACE = timedelta(minutes=30)  # DOR_REMOTE_CHECK_IN_GRACE_S: later than this after the SMS, to the back
# The SMS after which a remote citizen sets off for the hall.
COME_NOW = ("turn_near", "turn_near_check_in", "called")
# Where the simulated SMS's tracker links point: nobody follows them, but they are as long as real ones.
TRACKER_BASE_URL = "https://dor.gov.sy"


@dataclass(frozen=True)
class Seat:
    """A counter of an existing centre and the agent who works it."""

    counter_number: int
    counter_id: int
    agent_id: int
    username: str


@dataclass(frozen=True)
class Staffed:
    """An existing centre for a one-centre scenario: its services' ids by code, and its counters in
    the order of the scenario's counters (each of count 1), each with its agent."""

    centre_id: int
    service_ids: dict[str, int]
    seats: Sequence[Seat]


class DatabaseEngine:
    """The real engine's commands on `database` for one scenario: on a migrated, empty database it
    builds the scenario's organisation; with `staffed`, it works at that existing centre."""

    name = "database"

    def __init__(
        self, database: Database, *, scenario: Scenario, policy: PolicyConfig, staffed: Staffed | None = None
    ) -> None:
        self.db = database
        self.scenario = scenario
        self.policy = policy
        self.staffed = staffed
        self.centres = scenario.centres()
        self.rules = BalanceRules(
            boost_above_s=scenario.balancer.boost_above_s, release_below_s=scenario.balancer.release_below_s
        )
        self.notices = QueueNotices(
            ahead=scenario.remote.notify_ahead,
            policy=policy,
            base_url=TRACKER_BASE_URL,
            lead_s=scenario.remote.notify_lead_min * 60,
        )
        self.layout = Layout([], {}, {})
        self.phones = 0  # remote tickets issued: from the first, calls and issues queue their SMS
        self.last_sms = 0

    # --- the organisation -----------------------------------------------------------------------

    def build(self, *, now: datetime) -> Layout:
        if self.staffed is not None:
            return self._take_seats(self.staffed, now=now)
        scenario, layout = self.scenario, self.layout
        hours: dict[str, list[list[str]]] = {}
        timezone = "Asia/Damascus"
        if scenario.day is not None:
            hours = {scenario.day.date.strftime("%a").lower(): [[scenario.day.opens, scenario.day.closes]]}
            timezone = scenario.day.timezone
        with self.db.write() as session:
            for index, spec in enumerate(scenario.service):
                service = Service(
                    code=spec.code,
                    prefix=spec.prefix or chr(ord("A") + index),
                    name_ar=spec.code,
                    name_en=spec.code,
                    mean_service_s=round(spec.mean_service_s),
                )
                session.add(service)
                session.flush()
                layout.service_ids[spec.code] = id_of(service)
            for index, centre_spec in enumerate(self.centres):
                centre = Centre(
                    code=centre_spec.code,
                    name_ar="مركز محاكاة",
                    name_en=f"Simulated centre {centre_spec.code}",
                    governorate="Damascus",
                    latitude=centre_spec.latitude,
                    longitude=centre_spec.longitude,
                    timezone=timezone,
                    opening_hours=hours,
                    auto_balance=scenario.balancer.mode == "apply",
                    remote_check_in=scenario.remote.check_in,
                )
                session.add(centre)
                session.flush()
                layout.centre_ids.append(id_of(centre))
                session.add_all(
                    CentreService(centre_id=id_of(centre), service_id=service_id)
                    for service_id in layout.service_ids.values()
                )
                self._build_counters(session, index, centre, now)
        return layout

    def _build_counters(self, session: Session, index: int, centre: Centre, now: datetime) -> None:
        number = 0
        for counter_spec in self.scenario.counters_of(centre.code):
            for _ in range(counter_spec.count):
                number += 1
                counter = Counter(centre_id=id_of(centre), number=number, label=f"Counter {number}")
                agent = Staff(
                    username=f"sim-agent-{centre.code}-{number}", password_hash=NO_SIGN_IN, role="agent"
                )
                session.add_all([counter, agent])
                session.flush()
                self.layout.counter_ids[index, number] = id_of(counter)
                roles = [(counter_spec.services, QueueRole.MAIN), (counter_spec.backups, QueueRole.BACKUP)]
                for weights, role in roles:
                    session.add_all(
                        CounterService(
                            counter_id=id_of(counter),
                            service_id=self.layout.service_ids[code],
                            weight=weight,
                            role=role,
                        )
                        for code, weight in weights.items()
                    )
                CounterDesk(
                    session, centre=centre, counter=counter, actor=self._actor(index, number), now=now
                ).open(agent_id=id_of(agent))

    def _take_seats(self, staffed: Staffed, *, now: datetime) -> Layout:
        """Every seat's agent opens their counter at the existing centre."""
        layout = self.layout
        layout.centre_ids.append(staffed.centre_id)
        layout.service_ids.update(staffed.service_ids)
        with self.db.write() as session:
            centre = session.get(Centre, staffed.centre_id)
            assert centre is not None
            for number, seat in enumerate(staffed.seats, start=1):
                layout.counter_ids[0, number] = seat.counter_id
                counter = find_counter(
                    session, centre_id=staffed.centre_id, number=seat.counter_number, lock=True
                )
                assert counter is not None
                actor = self._actor(0, number)
                CounterDesk(session, centre=centre, counter=counter, actor=actor, now=now).open(
                    agent_id=seat.agent_id
                )
        return layout

    def _actor(self, centre: int, number: int) -> str:
        if self.staffed is not None:
            return f"staff:{self.staffed.seats[number - 1].username}"
        return f"staff:sim-agent-{self.centres[centre].code}-{number}"

    # --- tickets and counters, one transaction per action -----------------------------------------

    def _desk(self, session: Session, counter: tuple[int, int], now: datetime) -> CounterDesk:
        index, number = counter
        centre = session.get(Centre, self.layout.centre_ids[index])
        real = self.staffed.seats[number - 1].counter_number if self.staffed is not None else number
        found = find_counter(session, centre_id=self.layout.centre_ids[index], number=real, lock=True)
        assert centre is not None and found is not None
        return CounterDesk(session, centre=centre, counter=found, actor=self._actor(index, number), now=now)

    def issue(
        self,
        *,
        now: datetime,
        centre: int,
        service: str,
        priority: Priority,
        appointment_at: datetime | None,
        phone: str | None,
    ) -> Issued:
        with self.db.write() as session:
            place = session.get(Centre, self.layout.centre_ids[centre])
            kind = session.get(Service, self.layout.service_ids[service])
            assert place is not None and kind is not None
            booked = appointment_at is not None
            channel = Channel.APPOINTMENT if booked else (Channel.REMOTE if phone else Channel.KIOSK)
            # As the ticket API does: a walk-in's promise is worked out before the issue.
            model = standing = None
            if not booked:
                model = wait_model(session, centre=place, now=now)
                standing = newcomer_standing(
                    session,
                    model=model,
                    service_id=id_of(kind),
                    priority=priority,
                    policy=self.policy,
                    now=now,
                )
            ticket = issue_ticket(
                session,
                centre=place,
                service=kind,
                channel=channel,
                actor=KIOSK,
                now=now,
                priority=priority,
                phone=phone,
                appointment_at=appointment_at,
                # A stationary run goes on day and night; a day scenario meets the centre's real hours.
                ignore_hours=self.scenario.day is None,
                predicted_wait_s=standing.forecast.model_s if standing else None,
            )
            self.phones += phone is not None
            if self.phones:  # as the ticket API does: a remote ticket may already be near its turn
                notify_near(session, centre=place, service_id=id_of(kind), notices=self.notices, now=now)
            if model is None or standing is None:
                return Issued(id_of(ticket))
            own = [d for d in model.desks if id_of(kind) in d.own]
            return Issued(
                id_of(ticket),
                standing,
                open_counters=open_counters_serving(session, centre_id=id_of(place), service_id=id_of(kind)),
                ready_own=len(own),
                idle_own=sum(1 for d in own if d.idle),
            )

    def call_next(self, *, now: datetime, counter: tuple[int, int]) -> Called | None:
        with self.db.write() as session:
            desk = self._desk(session, counter, now)
            ticket = desk.call_next(policy=self.policy)
            if ticket is None:
                return None
            if self.phones:  # as the counter API does
                notify_called(
                    session,
                    centre=desk.centre,
                    ticket=ticket,
                    counter_number=counter[1],
                    base_url=TRACKER_BASE_URL,
                    now=now,
                )
                notify_near(
                    session, centre=desk.centre, service_id=ticket.service_id, notices=self.notices, now=now
                )
            return Called(
                id_of(ticket), ticket.service_id, ticket.arrived_at, ticket.appointment_at is not None
            )

    def start(self, *, now: datetime, counter: tuple[int, int]) -> None:
        with self.db.write() as session:
            self._desk(session, counter, now).start()

    def finish(self, *, now: datetime, counter: tuple[int, int]) -> None:
        with self.db.write() as session:
            self._desk(session, counter, now).finish()

    def pause(self, *, now: datetime, counter: tuple[int, int]) -> None:
        with self.db.write() as session:
            self._desk(session, counter, now).pause(reason="break")

    def resume(self, *, now: datetime, counter: tuple[int, int]) -> None:
        with self.db.write() as session:
            self._desk(session, counter, now).resume()

    def recall(self, *, now: datetime, counter: tuple[int, int]) -> None:
        with self.db.write() as session:
            self._desk(session, counter, now).recall()

    def no_show(self, *, now: datetime, counter: tuple[int, int]) -> None:
        with self.db.write() as session:
            self._desk(session, counter, now).no_show()

    def close(self, *, now: datetime, counter: tuple[int, int]) -> None:
        with self.db.write() as session:
            self._desk(session, counter, now).close()

    def balance(self, *, now: datetime) -> int:
        moves = 0
        with self.db.write() as session:
            for centre_id in self.layout.centre_ids:
                centre = session.get(Centre, centre_id)
                assert centre is not None
                moves += len(balance_centre(session, centre=centre, rules=self.rules, now=now))
        return moves

    # --- what only a database simulates: remote tickets and the centre recommendations ---------------

    def check_in(self, *, now: datetime, ticket_id: int) -> None:
        """Scans the remote ticket's QR at the kiosk, as the check-in route does."""
        with self.db.write() as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            centre = session.get(Centre, ticket.centre_id)
            assert centre is not None
            check_in_ticket(session, ticket=ticket, centre=centre, actor=KIOSK, now=now, grace=GRACE)

    def told_to_come(self) -> list[int]:
        """The tickets whose "come now" SMS the engine queued since the last time this was asked."""
        with self.db.read() as session:
            rows = session.execute(
                select(col(SmsMessage.id), col(SmsMessage.dedupe_key)).where(
                    col(SmsMessage.id) > self.last_sms, col(SmsMessage.template).in_(COME_NOW)
                )
            ).all()
        tickets = []
        for message_id, key in rows:
            self.last_sms = max(self.last_sms, message_id or 0)
            tickets.append(int(key.split(":")[1]))  # ticket:<id>:<kind>
        return tickets

    def shown_wait_s(self, *, now: datetime, centre: int, service: str) -> int:
        """The wait the centre's status shows for the service now (what the remote page shows)."""
        with self.db.read() as session:
            place = session.get(Centre, self.layout.centre_ids[centre])
            assert place is not None
            status = centre_status(session, centre=place, now=now, always_open=True)
        return next(s.estimated_wait_s for s in status.services if s.code == service)

    def options(self, *, now: datetime, service: str, at: tuple[float, float]) -> list[Option]:
        """Every centre with the service, its distance from `at` and its predicted wait, as
        /api/v1/recommendations ranks them."""
        with self.db.read() as session:
            kind = session.get(Service, self.layout.service_ids[service])
            assert kind is not None
            return centre_options(
                session, service=kind, at=at, now=now, always_open=self.scenario.day is None
            )

    # --- afterwards ---------------------------------------------------------------------------------

    def served(self, *, start: datetime) -> list[Served]:
        def seconds(moment: datetime) -> float:
            return (moment - start).total_seconds()

        with self.db.read() as session:
            tickets = session.execute(
                select(
                    col(Ticket.id),
                    col(Ticket.centre_id),
                    col(Ticket.service_id),
                    col(Ticket.channel),
                    col(Ticket.arrived_at),
                    col(Ticket.call_times),
                    col(Ticket.started_at),
                    col(Ticket.ended_at),
                    col(Ticket.counter_id),
                    col(Ticket.appointment_at),
                )
                # At an existing centre, its earlier days are not this run's.
                .where(col(Ticket.centre_id).in_(self.layout.centre_ids), col(Ticket.arrived_at) >= start)
                .order_by(col(Ticket.id))
            ).all()
        rows = []
        for (
            ticket_id,
            centre_id,
            service_id,
            channel,
            arrived,
            calls,
            started,
            ended,
            counter,
            booked,
        ) in tickets:
            if not calls:
                continue
            rows.append(
                Served(
                    ticket_id=ticket_id or 0,
                    centre_id=centre_id,
                    service_id=service_id,
                    channel=channel,
                    arrived_s=seconds(arrived),
                    called_s=seconds(datetime.fromisoformat(calls[0])),
                    started_s=seconds(started) if started else None,
                    ended_s=seconds(ended) if ended else None,
                    counter_id=counter,
                    appointment_s=seconds(booked) if booked else None,
                )
            )
        return rows
