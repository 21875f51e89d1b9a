"""Twin requests: the same change sent ten times at once, spread over two `dor serve` processes on one
PostgreSQL database, is made once. One answer says it was done; the others are a clean refusal (409)
or, for a change that finds everything as asked already, an answer that changed nothing. One event
is logged, at most one SMS is queued, and every count agrees with the rows.

A double tap, two browser tabs, a retry after a timeout: this is what each looks like to the server.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections import Counter as Tally
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from booking.appointments import BookingRules, book
from booking.identities import Identities
from booking.models import Appointment, AppointmentStatus, BookingBlock, BookingSlot
from config.db import Database
from config.sql import id_of
from eventlog.models import Event
from organisation.models import Centre, Counter, Device, Service, Staff
from queueing.models import Ticket
from sms_gateway.models import SmsMessage
from tests.integration.helpers import CENTRE, KIOSK, Server, prepared_database, running_servers

pytestmark = pytest.mark.slow

TWINS = 10
DEADLINE_S = 60.0


@dataclass
class Hall:
    """Two servers on one PostgreSQL database, and the database itself for checking the rows."""

    servers: list[Server]
    database: Database

    def read(self) -> Session:
        return Session(self.database.engine, expire_on_commit=False)

    def events(self, type: str) -> int:
        """How many events of this type every log holds."""
        with self.read() as session:
            return int(session.exec(select(func.count()).where(Event.type == type)).one())

    def sms(self, template: str, phone: str) -> int:
        with self.read() as session:
            return int(
                session.exec(
                    select(func.count()).where(SmsMessage.template == template, SmsMessage.phone == phone)
                ).one()
            )


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
    folder = tmp_path_factory.mktemp("twins")
    with (
        prepared_database("postgresql", folder) as prepared,
        running_servers(prepared.url, folder, 2) as servers,
    ):
        database = Database(prepared.url)
        try:
            yield Hall(servers, database)
        finally:
            database.dispose()


@dataclass(frozen=True)
class Caller:
    """Who sends the twins: the headers (and cookie) that every one of them carries."""

    headers: dict[str, str]
    cookies: dict[str, str]


def signed_in(hall: Hall, username: str) -> Caller:
    with httpx2.Client(base_url=hall.servers[0].url, timeout=30.0, trust_env=False) as client:
        response = client.post("/api/v1/auth/login", json={"username": username, "password": "demo"})
        assert response.status_code == 200, response.text
        return Caller({"X-CSRF-Token": response.json()["csrf_token"]}, dict(client.cookies))


ANYONE = Caller({}, {})
KIOSK_DEVICE = Caller(KIOSK, {})


@dataclass(frozen=True)
class Answers:
    statuses: list[int]
    bodies: list[dict[str, Any]]

    @property
    def tally(self) -> Tally[int]:
        return Tally(self.statuses)

    def codes(self) -> set[str]:
        """The error codes of the refusals."""
        return {b["error"]["code"] for s, b in zip(self.statuses, self.bodies, strict=True) if s >= 400}


def twins(hall: Hall, caller: Caller, method: str, path: str, body: dict[str, Any] | None = None) -> Answers:
    """Sends the same request TWINS times at once, alternating between the servers."""

    async def send_all() -> list[httpx2.Response]:
        clients = [
            httpx2.AsyncClient(
                base_url=s.url,
                headers=caller.headers,
                cookies=caller.cookies,
                timeout=DEADLINE_S,
                trust_env=False,
            )
            for s in hall.servers
        ]
        try:
            async with asyncio.timeout(DEADLINE_S):
                return list(
                    await asyncio.gather(
                        *(clients[i % len(clients)].request(method, path, json=body) for i in range(TWINS))
                    )
                )
        finally:
            for client in clients:
                await client.aclose()

    responses = asyncio.run(send_all())
    assert all(r.status_code < 500 for r in responses), [(r.status_code, r.text[:200]) for r in responses]
    return Answers([r.status_code for r in responses], [_json(r) for r in responses])


def _json(response: httpx2.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {"list": body}


def one_success(answers: Answers, success: int = 200) -> None:
    """Exactly one answer did it; every other is a 409."""
    assert answers.tally == {success: 1, 409: TWINS - 1}, answers.tally


def call(
    hall: Hall, caller: Caller, method: str, path: str, body: dict[str, Any] | None = None
) -> httpx2.Response:
    """One request, on the first server."""
    with httpx2.Client(
        base_url=hall.servers[0].url,
        headers=caller.headers,
        cookies=caller.cookies,
        timeout=30.0,
        trust_env=False,
    ) as client:
        return client.request(method, path, json=body)


def ticket(hall: Hall, service: str = "CR") -> dict[str, Any]:
    response = call(
        hall,
        KIOSK_DEVICE,
        "POST",
        f"/api/v1/centres/{CENTRE}/tickets",
        {"service": service, "channel": "kiosk"},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


COUNTERS = f"/api/v1/centres/{CENTRE}/counters"


def in_hand(hall: Hall, agent: Caller, counter: int) -> dict[str, Any]:
    """Opens the counter and calls the next ticket to it (the queue holds one CR ticket at least)."""
    assert call(hall, agent, "POST", f"{COUNTERS}/{counter}/open").status_code == 200
    called = call(hall, agent, "POST", f"{COUNTERS}/{counter}/next")
    assert called.status_code == 200, called.text
    return dict(called.json()["ticket"])


def free_counter(hall: Hall, agent: Caller, counter: int) -> None:
    """Whatever the counter holds is finished or sent back, and the counter is closed."""
    view = call(hall, agent, "POST", f"{COUNTERS}/{counter}/open").json()["counter"]
    if view["ticket"] is not None:
        if view["ticket"]["status"] == "called":
            call(hall, agent, "POST", f"{COUNTERS}/{counter}/start")
        call(hall, agent, "POST", f"{COUNTERS}/{counter}/finish")
    if view["status"] == "paused":
        call(hall, agent, "POST", f"{COUNTERS}/{counter}/resume")
    assert call(hall, agent, "POST", f"{COUNTERS}/{counter}/close").status_code == 200


# --- tickets and counters ---------------------------------------------------------------------


def test_a_kiosk_retry_with_one_idempotency_key_gets_one_ticket(hall: Hall) -> None:
    """Ten sends of one issue with one key over two processes: one ticket, one event, and every
    answer is that ticket."""
    before = hall.events("issued")
    retrying = Caller({**KIOSK, "Idempotency-Key": f"twin-{uuid.uuid4().hex}"}, {})
    body = {"service": "CR", "channel": "kiosk"}
    answers = twins(hall, retrying, "POST", f"/api/v1/centres/{CENTRE}/tickets", body)
    assert answers.tally == {201: TWINS}, answers.bodies
    assert len({b["token"] for b in answers.bodies}) == 1
    assert hall.events("issued") == before + 1


def test_a_ticket_leaves_the_queue_once(hall: Hall) -> None:
    mine = ticket(hall)
    before = hall.events("cancelled")
    answers = twins(hall, ANYONE, "DELETE", f"/api/v1/tickets/{mine['token']}")
    one_success(answers)
    assert hall.events("cancelled") == before + 1


def test_a_late_ticket_moves_back_once(hall: Hall) -> None:
    mine = ticket(hall)
    for _ in range(3):
        ticket(hall)
    before = hall.events("moved_back")
    answers = twins(hall, ANYONE, "POST", f"/api/v1/tickets/{mine['token']}/late")
    one_success(answers)
    assert {b["error"]["code"] for b in answers.bodies if "error" in b} == {"already_moved_back"}
    assert hall.events("moved_back") == before + 1


def test_one_next_at_one_counter_calls_one_ticket(hall: Hall) -> None:
    agent = signed_in(hall, "agent1")
    for _ in range(3):
        ticket(hall)
    call(hall, agent, "POST", f"{COUNTERS}/1/open")
    before = hall.events("called")
    answers = twins(hall, agent, "POST", f"{COUNTERS}/1/next")
    one_success(answers)
    assert answers.codes() == {"counter_busy"}
    assert hall.events("called") == before + 1
    with hall.read() as session:
        held = session.exec(
            select(func.count())
            .select_from(Ticket)
            .join(Counter, col(Counter.id) == Ticket.counter_id)
            .where(Counter.number == 1, Ticket.status == "called")
        ).one()
    assert held == 1
    free_counter(hall, agent, 1)


@pytest.mark.parametrize(
    ("action", "body", "event"),
    [
        ("start", None, "started"),
        ("finish", None, "finished"),
        ("transfer", {"service": "FS"}, "transferred"),
        ("no-show", None, "no_show"),
        ("recall", None, "recalled"),
    ],
)
def test_each_move_of_the_ticket_in_hand_is_made_once(
    hall: Hall, action: str, body: dict[str, Any] | None, event: str
) -> None:
    agent, supervisor = signed_in(hall, "agent2"), signed_in(hall, "supervisor1")
    policy = call(
        hall, supervisor, "PUT", f"/api/v1/centres/{CENTRE}/no-show-policy", {"min_calls": 1, "min_wait_s": 0}
    )
    assert policy.status_code == 200
    ticket(hall)
    number = in_hand(hall, agent, 2)["number"]
    if action == "finish":
        assert call(hall, agent, "POST", f"{COUNTERS}/2/start").status_code == 200
    if action == "recall":  # a recall comes some seconds after the call, not with it
        with hall.database.write() as session:
            earlier = (datetime.now(UTC) - timedelta(seconds=30)).isoformat()
            session.execute(update(Ticket).where(col(Ticket.number) == number).values(call_times=[earlier]))
    before = hall.events(event)
    answers = twins(hall, agent, "POST", f"{COUNTERS}/2/{action}", body)
    one_success(answers)
    assert hall.events(event) == before + 1
    free_counter(hall, agent, 2)


def test_a_counter_opens_pauses_resumes_and_closes_once(hall: Hall) -> None:
    agent = signed_in(hall, "agent1")
    before = hall.events("counter_opened")
    opened = twins(hall, agent, "POST", f"{COUNTERS}/3/open")
    assert opened.tally == {200: TWINS}  # the others find it open by this agent already: nothing changes
    assert hall.events("counter_opened") == before + 1
    for action, body, event in [
        ("pause", {"reason": "break"}, "counter_paused"),
        ("resume", None, "counter_resumed"),
        ("close", None, "counter_closed"),
    ]:
        before = hall.events(event)
        one_success(twins(hall, agent, "POST", f"{COUNTERS}/3/{action}", body))
        assert hall.events(event) == before + 1, action


def test_a_waiting_ticket_moves_once(hall: Hall) -> None:
    supervisor = signed_in(hall, "supervisor1")
    mine = ticket(hall)
    before = hall.events("moved")
    answers = twins(
        hall, supervisor, "POST", f"/api/v1/centres/{CENTRE}/tickets/{mine['number']}/move", {"service": "FS"}
    )
    one_success(answers)
    assert hall.events("moved") == before + 1


# --- a centre's settings ------------------------------------------------------------------------


def test_a_counters_queues_change_once(hall: Hall) -> None:
    supervisor = signed_in(hall, "supervisor1")
    before = hall.events("counter_services_changed")
    body = {"services": {"ID": 1.0, "CR": 0.25}, "backups": {"FS": 1.0}}
    answers = twins(hall, supervisor, "PUT", f"{COUNTERS}/4/services", body)
    assert answers.tally == {200: TWINS}
    assert sum(b["applied"] for b in answers.bodies) == 1
    assert hall.events("counter_services_changed") == before + 1


def test_the_no_show_policy_changes_once(hall: Hall) -> None:
    supervisor = signed_in(hall, "supervisor1")
    before = hall.events("no_show_policy_changed")
    answers = twins(
        hall,
        supervisor,
        "PUT",
        f"/api/v1/centres/{CENTRE}/no-show-policy",
        {"min_calls": 3, "min_wait_s": 120},
    )
    assert answers.tally == {200: TWINS}
    assert hall.events("no_show_policy_changed") == before + 1


def test_intake_stops_and_reopens_once(hall: Hall) -> None:
    supervisor = signed_in(hall, "supervisor1")
    path = f"/api/v1/centres/{CENTRE}/services/NC/intake"
    for body, event in [({"open": False}, "intake_stopped"), ({"open": True}, "intake_reopened")]:
        before = hall.events(event)
        one_success(twins(hall, supervisor, "POST", path, body))
        assert hall.events(event) == before + 1


def test_a_balance_move_is_applied_once(hall: Hall) -> None:
    supervisor = signed_in(hall, "supervisor1")
    before = hall.events("queue_role_changed")
    body = {"counter": 6, "service": "CR", "role": "boosted"}
    one_success(twins(hall, supervisor, "POST", f"/api/v1/centres/{CENTRE}/balance/moves", body))
    assert hall.events("queue_role_changed") == before + 1


def test_automatic_balancing_is_switched_once(hall: Hall) -> None:
    supervisor = signed_in(hall, "supervisor1")
    before = hall.events("auto_balance_changed")
    answers = twins(hall, supervisor, "POST", f"/api/v1/centres/{CENTRE}/balance/auto", {"auto": True})
    assert answers.tally == {200: TWINS}
    assert hall.events("auto_balance_changed") == before + 1


# --- staff and devices ----------------------------------------------------------------------


def test_an_account_is_created_disabled_and_reset_once(hall: Hall) -> None:
    admin = signed_in(hall, "admin")
    new = {"username": "twin-agent", "role": "agent", "centres": [CENTRE], "display_name": "Twin"}
    one_success(twins(hall, admin, "POST", "/api/v1/staff", new), success=201)
    reset = twins(hall, admin, "POST", "/api/v1/staff/twin-agent/password", {})
    one_success(reset)
    [fresh] = [b["password"] for s, b in zip(reset.statuses, reset.bodies, strict=True) if s == 200]
    with httpx2.Client(base_url=hall.servers[1].url, timeout=30.0, trust_env=False) as client:
        signed = client.post("/api/v1/auth/login", json={"username": "twin-agent", "password": fresh})
    assert signed.status_code == 200  # the password shown is the one that holds
    before = hall.events("staff_disabled")
    one_success(twins(hall, admin, "POST", "/api/v1/staff/twin-agent/disable"))
    assert hall.events("staff_disabled") == before + 1
    with hall.read() as session:
        assert session.exec(select(func.count()).where(Staff.username == "twin-agent")).one() == 1


def test_a_device_is_revoked_once(hall: Hall) -> None:
    supervisor = signed_in(hall, "supervisor1")
    made = call(
        hall, supervisor, "POST", f"/api/v1/centres/{CENTRE}/devices", {"kind": "kiosk", "name": "Twin"}
    )
    assert made.status_code == 201, made.text
    before = hall.events("device_revoked")
    one_success(twins(hall, supervisor, "DELETE", f"/api/v1/centres/{CENTRE}/devices/{made.json()['id']}"))
    assert hall.events("device_revoked") == before + 1
    with hall.read() as session:
        assert session.get(Device, made.json()["id"]).revoked_at is not None  # type: ignore[union-attr]


# --- appointments -------------------------------------------------------------------------------

PLACES = 5


def booked(hall: Hall, n: int, *, start: datetime | None = None) -> Appointment:
    """Books one appointment for person `n` (CR at DAM-01), at `start` or the first free slot."""
    slots = free_slots(hall)
    at = start or slots[0]
    digest = hashlib.sha256(f"twin-{n}".encode()).hexdigest()
    who = Identities(national_id=digest, phone=f"+96394{n:07d}", phone_hash=digest)
    with hall.database.write() as session:
        centre = session.exec(select(Centre).where(Centre.code == CENTRE)).one()
        service = session.exec(select(Service).where(Service.code == "CR")).one()
        _give_places(session, centre, service, at)
        now = datetime.now(UTC)
        return book(
            session,
            centre=centre,
            service=service,
            start=at,
            who=who,
            language="en",
            rules=BookingRules(),
            now=now,
        )


def free_slots(hall: Hall) -> list[datetime]:
    """CR slots at DAM-01 that may be booked, from the day after tomorrow."""
    first = (datetime.now(UTC) + timedelta(days=2)).date()
    with httpx2.Client(base_url=hall.servers[0].url, timeout=30.0, trust_env=False) as client:
        listed = client.get(
            f"/api/v1/centres/{CENTRE}/services/CR/slots", params={"from": first.isoformat(), "days": 14}
        )
    assert listed.status_code == 200, listed.text
    return [datetime.fromisoformat(s["start"]) for s in listed.json()]


def _give_places(session: Session, centre: Centre, service: Service, start: datetime) -> None:
    """The slot sells PLACES places, whatever the demand model would give it."""
    this_slot = BookingSlot.service_id == id_of(service), BookingSlot.start == start
    if session.exec(select(BookingSlot).where(*this_slot)).first() is None:
        session.add(
            BookingSlot(
                centre_id=id_of(centre), service_id=id_of(service), start=start, capacity=PLACES, booked=0
            )
        )
        session.flush()


def slot_agrees_with_its_appointments(hall: Hall, start: datetime) -> None:
    with hall.read() as session:
        slot = session.exec(select(BookingSlot).where(BookingSlot.start == start)).one()
        holding = session.exec(
            select(func.count()).where(
                Appointment.start == start, Appointment.status == AppointmentStatus.BOOKED.value
            )
        ).one()
    assert slot.booked == holding


def test_an_appointment_is_cancelled_once(hall: Hall) -> None:
    appointment = booked(hall, 1)
    booked(hall, 2, start=appointment.start)  # a neighbour in the same slot keeps its place
    answers = twins(hall, ANYONE, "DELETE", f"/api/v1/appointments/{appointment.token}")
    one_success(answers)
    assert answers.codes() == {"appointment_not_active"}
    slot_agrees_with_its_appointments(hall, appointment.start)
    assert hall.sms("cancelled", appointment.phone or "") == 1


def test_an_appointment_is_moved_once(hall: Hall) -> None:
    appointment = booked(hall, 3)
    later = free_slots(hall)[3]
    answers = twins(
        hall,
        ANYONE,
        "POST",
        f"/api/v1/appointments/{appointment.token}/reschedule",
        {"start": later.isoformat()},
    )
    one_success(answers)
    slot_agrees_with_its_appointments(hall, appointment.start)
    slot_agrees_with_its_appointments(hall, later)
    with hall.read() as session:
        moved = session.get(Appointment, appointment.id)
    assert moved is not None
    assert (moved.start, moved.reschedules) == (later, 1)
    assert hall.sms("booking_confirmed", appointment.phone or "") == 2  # the booking, the move


def test_an_appointment_is_checked_in_once(hall: Hall) -> None:
    appointment = booked(hall, 4, start=free_slots(hall)[6])  # a slot of its own: it leaves it below
    with hall.database.write() as session:  # its time has come
        now = datetime.now(UTC)
        session.execute(
            update(Appointment)
            .where(col(Appointment.id) == appointment.id)
            .values(start=now, end=now + timedelta(minutes=30))
        )
    before = hall.events("issued")
    answers = twins(
        hall, KIOSK_DEVICE, "POST", f"/api/v1/centres/{CENTRE}/check-in", {"code": appointment.code}
    )
    one_success(answers, success=201)
    assert hall.events("issued") == before + 1
    with hall.read() as session:
        assert session.exec(select(func.count()).where(Ticket.phone == appointment.phone)).one() == 1


def test_a_broker_block_is_lifted_once_and_a_booking_voided_once(hall: Hall) -> None:
    supervisor = signed_in(hall, "supervisor1")
    appointment = booked(hall, 5)
    blocks = call(
        hall,
        supervisor,
        "POST",
        f"/api/v1/centres/{CENTRE}/blocks",
        {"appointments": [appointment.code], "identities": ["phone"], "days": 30, "reason": "broker"},
    )
    assert blocks.status_code == 201, blocks.text
    before = hall.events("block_lifted")
    one_success(
        twins(hall, supervisor, "DELETE", f"/api/v1/centres/{CENTRE}/blocks/{blocks.json()[0]['id']}")
    )
    assert hall.events("block_lifted") == before + 1
    before = hall.events("appointment_voided")
    voided = twins(
        hall,
        supervisor,
        "POST",
        f"/api/v1/centres/{CENTRE}/appointments/void",
        {"codes": [appointment.code], "reason": "broker"},
    )
    assert voided.tally == {200: TWINS}
    assert sum(len(b["voided"]) for b in voided.bodies) == 1
    assert hall.events("appointment_voided") == before + 1
    slot_agrees_with_its_appointments(hall, appointment.start)
    with hall.read() as session:
        assert session.exec(select(func.count()).where(col(BookingBlock.lifted_at).is_not(None))).one() == 1
