"""Booking races against real `dor serve` processes on one database: a slot's places and one booking per
person hold whatever the concurrency.

Every identity is verified as a citizen's would be: `POST /api/v1/otp`, the code read from the SMS in
the outbox, then `POST /api/v1/appointments`. All requests come from 127.0.0.1, so the servers run with
the per-address cap on codes raised (DOR_OTP_PER_ADDRESS_HOUR); the per-phone caps stay as shipped,
since each phone asks for one code.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from collections import Counter as Tally
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
import pytest
from sqlalchemy import func
from sqlmodel import col, select

from booking.appointments import BookingRules
from booking.draw_results import run_due_draws
from booking.draws import DrawSpec, open_draw
from booking.models import Appointment, AppointmentStatus, BookingSlot, Draw, DrawApplication
from config.db import Database
from config.sql import id_of
from organisation.models import Centre, Service
from sms_gateway.models import SmsMessage
from tests.conftest import BACKENDS
from tests.integration.helpers import CENTRE, Server, prepared_database, start_server

pytestmark = pytest.mark.slow

SERVICE = "CR"
PROCESSES = 3
CITIZENS = 500
PLACES = 50
IN_FLIGHT = 100  # requests in flight at once, spread over the processes
TWINS = 20
DRAW_ATTEMPTS = 50
DEADLINE_S = 120.0  # bound on each batch of requests
OTP_CAPS = {"DOR_OTP_PER_ADDRESS_HOUR": "1000000"}  # every client is 127.0.0.1
TIMEZONE = ZoneInfo("Asia/Damascus")  # DAM-01's


@dataclass(frozen=True)
class Citizen:
    """Someone who books: a Syrian mobile number and an 11-digit national ID."""

    phone: str
    national_id: str


def citizens(count: int, *, first: int = 0) -> list[Citizen]:
    """`count` distinct citizens, numbered from `first` (so that several groups never overlap)."""
    return [Citizen(f"+96393{n:07d}", f"{10_000_000_000 + n}") for n in range(first, first + count)]


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]

    @property
    def code(self) -> str:
        """The error code of a refusal, or the appointment's code."""
        return str(self.body.get("error", {}).get("code") or self.body.get("code"))


@contextmanager
def booking_servers(url: str, log_dir: Path, count: int, **settings: str) -> Iterator[list[Server]]:
    """`count` servers on one database with the OTP caps raised; all stopped on the way out."""
    with ExitStack() as stack:
        servers = []
        for index in range(count):
            server = start_server(url, log_dir, name=f"booking{index}", **OTP_CAPS, **settings)
            stack.callback(server.stop)
            servers.append(server)
        yield servers


class Clients:
    """One keep-alive HTTP client per server; requests go round-robin, at most `in_flight` at once."""

    def __init__(self, urls: Sequence[str], in_flight: int) -> None:
        per_server = max(1, in_flight // len(urls) + 1)
        limits = httpx2.Limits(max_connections=per_server, max_keepalive_connections=per_server)
        # trust_env=False: never a proxy, the load goes to 127.0.0.1 only.
        self.clients = [
            httpx2.AsyncClient(base_url=u, limits=limits, timeout=60.0, trust_env=False) for u in urls
        ]
        self.turn = itertools.cycle(self.clients)
        self.gate = asyncio.Semaphore(in_flight)

    async def send(self, method: str, path: str, **kwargs: Any) -> Answer:
        client = next(self.turn)
        async with self.gate:
            response = await client.request(method, path, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = {"text": response.text[:300]}
        return Answer(response.status_code, body if isinstance(body, dict) else {"list": body})

    async def all(
        self, method: str, path: str, bodies: Sequence[dict[str, Any]], **kwargs: Any
    ) -> list[Answer]:
        """Sends one request per body, concurrently; fails if they take longer than DEADLINE_S."""
        async with asyncio.timeout(DEADLINE_S):
            return list(await asyncio.gather(*(self.send(method, path, json=b, **kwargs) for b in bodies)))

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()


def open_slots(base_url: str, *, days: int = 14) -> list[dict[str, Any]]:
    """Bookable CR slots at DAM-01 with places left, from the day after tomorrow (Damascus time)."""
    first = datetime.now(TIMEZONE).date() + timedelta(days=2)
    response = httpx2.get(
        f"{base_url}/api/v1/centres/{CENTRE}/services/{SERVICE}/slots",
        params={"from": first.isoformat(), "days": days},
        timeout=30.0,
        trust_env=False,
    )
    assert response.status_code == 200, response.text
    slots = [s for s in response.json() if s["available"] > 0]
    assert slots, f"no open slot from {first}"
    return slots


def give_places(url: str, start: str, places: int) -> None:
    """Creates the slot's row with `places` places, as the first booking would with the computed ones."""
    database = Database(url)
    try:
        with database.write() as session:
            centre = session.exec(select(Centre).where(Centre.code == CENTRE)).one()
            service = session.exec(select(Service).where(Service.code == SERVICE)).one()
            session.add(
                BookingSlot(
                    centre_id=id_of(centre),
                    service_id=id_of(service),
                    start=datetime.fromisoformat(start),
                    capacity=places,
                    booked=0,
                )
            )
    finally:
        database.dispose()


async def verify(
    clients: Clients, url: str, people: Sequence[Citizen], purpose: str = "booking"
) -> dict[str, str]:
    """Asks a code for every phone through the API; returns each phone's code from its SMS."""
    phones = sorted({p.phone for p in people})
    answers = await clients.all("POST", "/api/v1/otp", [{"phone": p, "purpose": purpose} for p in phones])
    refused = [a for a in answers if a.status != 202]
    assert not refused, f"{len(refused)} code requests refused, e.g. {refused[:3]}"
    database = Database(url)
    try:
        with database.read() as session:
            rows = session.exec(
                select(SmsMessage.phone, SmsMessage.params)
                .where(SmsMessage.template == "otp", col(SmsMessage.phone).in_(phones))
                .order_by(col(SmsMessage.id))
            ).all()
    finally:
        database.dispose()
    codes = {phone: str(params["code"]) for phone, params in rows}  # the latest code wins
    assert len(codes) == len(phones)
    return codes


def booking(person: Citizen, start: str, codes: dict[str, str]) -> dict[str, str]:
    return {
        "centre": CENTRE,
        "service": SERVICE,
        "start": start,
        "phone": person.phone,
        "otp": codes[person.phone],
        "national_id": person.national_id,
    }


def slot_in_database(url: str, start: str) -> tuple[int, int, int, int]:
    """(capacity, booked, booked appointments, distinct people among them) of the slot."""
    database = Database(url)
    try:
        with database.read() as session:
            at = datetime.fromisoformat(start)
            slot = session.exec(select(BookingSlot).where(BookingSlot.start == at)).one()
            booked = (Appointment.start == at, Appointment.status == AppointmentStatus.BOOKED.value)
            appointments = session.exec(select(func.count()).select_from(Appointment).where(*booked)).one()
            people = session.exec(
                select(func.count(func.distinct(Appointment.national_id_hash))).where(*booked)
            ).one()
            return slot.capacity, slot.booked, appointments, people
    finally:
        database.dispose()


@dataclass
class Site:
    """A prepared database and the servers on it, shared by this module's tests on one backend."""

    backend: str
    url: str
    servers: list[Server]
    slots: Iterator[dict[str, Any]]  # each test takes its own

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self.servers]


@pytest.fixture(scope="module", params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    backend = str(request.param)
    folder = tmp_path_factory.mktemp(f"booking-{backend}")
    with (
        prepared_database(backend, folder) as prepared,
        booking_servers(prepared.url, folder, PROCESSES) as servers,
    ):
        yield Site(backend, prepared.url, servers, iter(open_slots(servers[0].url)))


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_five_hundred_people_race_for_fifty_places_and_fifty_win(site: Site) -> None:
    start = next(site.slots)["start"]
    give_places(site.url, start, PLACES)
    people = citizens(CITIZENS)

    async def race() -> list[Answer]:
        clients = Clients(site.urls, IN_FLIGHT)
        try:
            codes = await verify(clients, site.url, people)
            return await clients.all(
                "POST", "/api/v1/appointments", [booking(p, start, codes) for p in people]
            )
        finally:
            await clients.close()

    answers = run(race())
    outcomes = Tally((a.status, a.code if a.status != 201 else "booked") for a in answers)
    assert outcomes == {(201, "booked"): PLACES, (409, "slot_full"): CITIZENS - PLACES}, (
        outcomes,
        [a for a in answers if a.status not in (201, 409)][:5],
    )
    assert slot_in_database(site.url, start) == (PLACES, PLACES, PLACES, PLACES)


def _twenty_clicks(site: Site, bodies: list[dict[str, str]], **kwargs: Any) -> list[Answer]:
    async def clicks() -> list[Answer]:
        clients = Clients(site.urls, TWINS)
        try:
            return await clients.all("POST", "/api/v1/appointments", bodies, **kwargs)
        finally:
            await clients.close()

    result: list[Answer] = run(clicks())
    return result


def test_one_person_clicking_twenty_times_with_one_code_books_once(site: Site) -> None:
    """Same phone, national ID and SMS code, no Idempotency-Key (a script, or a page without one).

    The code is single-use and a phone has one open code at a time: the first request to lock it books
    and closes it, so the others find no open code and get 401 `otp_invalid` before any booking rule."""
    start = next(site.slots)["start"]
    person = citizens(1, first=10_000)[0]

    async def code() -> dict[str, str]:
        clients = Clients(site.urls, 1)
        try:
            return await verify(clients, site.url, [person])
        finally:
            await clients.close()

    body = booking(person, start, run(code()))
    answers = _twenty_clicks(site, [body] * TWINS)
    outcomes = Tally((a.status, a.code if a.status != 201 else "booked") for a in answers)
    assert outcomes == {(201, "booked"): 1, (401, "otp_invalid"): TWINS - 1}, outcomes
    assert slot_in_database(site.url, start)[1:] == (1, 1, 1)


def test_one_person_with_twenty_verified_phones_books_once(site: Site) -> None:
    """Same national ID, twenty phones each with its own valid code, all at once: the codes do not
    serialise these requests, so this is the database's one-active-booking-per-person rule at work
    (the check in `book`, then the partial unique index); the others get 409 `quota_exceeded`."""
    start = next(site.slots)["start"]
    phones = citizens(TWINS, first=20_000)
    national_id = phones[0].national_id
    people = [Citizen(p.phone, national_id) for p in phones]

    async def codes() -> dict[str, str]:
        clients = Clients(site.urls, TWINS)
        try:
            return await verify(clients, site.url, people)
        finally:
            await clients.close()

    known = run(codes())
    answers = _twenty_clicks(site, [booking(p, start, known) for p in people])
    outcomes = Tally((a.status, a.code if a.status != 201 else "booked") for a in answers)
    assert outcomes == {(201, "booked"): 1, (409, "quota_exceeded"): TWINS - 1}, outcomes
    assert slot_in_database(site.url, start)[1:] == (1, 1, 1)


def test_one_person_double_clicking_with_one_idempotency_key_gets_one_appointment(site: Site) -> None:
    """Same phone, national ID, code and Idempotency-Key (a page that sends one key per form, as the
    kiosk does): one appointment, and every answer is that appointment (201), none an error."""
    start = next(site.slots)["start"]
    person = citizens(1, first=30_000)[0]

    async def code() -> dict[str, str]:
        clients = Clients(site.urls, 1)
        try:
            return await verify(clients, site.url, [person])
        finally:
            await clients.close()

    body = booking(person, start, run(code()))
    answers = _twenty_clicks(site, [body] * TWINS, headers={"Idempotency-Key": "double-click-1"})
    assert slot_in_database(site.url, start)[1:] == (1, 1, 1)
    outcomes = Tally((a.status, a.code) for a in answers)
    assert len(outcomes) == 1 and next(iter(outcomes))[0] == 201, outcomes


def test_fifty_attempts_of_one_national_id_to_apply_to_a_draw_make_one_application(site: Site) -> None:
    """Fifty phones, each with its own valid code, apply for one national ID at once over three
    processes: one application, 49 `already_applied`, by the database's unique key. The draw is then
    run at its close and `dor draw verify` re-runs it from the record the servers publish."""
    code = f"RACE-{site.backend.upper()}"
    opened_at = datetime.now(UTC) - timedelta(minutes=1)
    database = Database(site.url)
    try:
        with database.write() as session:
            spec = DrawSpec(
                code=code,
                service=session.exec(select(Service).where(Service.code == "PP")).one(),
                centres=[session.exec(select(Centre).where(Centre.code == CENTRE)).one()],
                opens_at=opened_at + timedelta(seconds=1),
                closes_at=opened_at + timedelta(hours=1),
                first_day=opened_at.astimezone(TIMEZONE).date() + timedelta(days=2),
                last_day=opened_at.astimezone(TIMEZONE).date() + timedelta(days=8),
                offer_hours=24,
                reason="the race test",
            )
            open_draw(session, spec=spec, rules=BookingRules(), actor="staff:admin", now=opened_at)
    finally:
        database.dispose()
    phones = citizens(DRAW_ATTEMPTS, first=40_000)
    people = [Citizen(p.phone, phones[0].national_id) for p in phones]

    async def attempts() -> list[Answer]:
        clients = Clients(site.urls, DRAW_ATTEMPTS)
        try:
            codes = await verify(clients, site.url, people, purpose="draw")
            bodies = [
                {
                    "phone": p.phone,
                    "otp": codes[p.phone],
                    "national_id": p.national_id,
                    "choices": [f"{CENTRE}@*"],
                }
                for p in people
            ]
            return await clients.all("POST", f"/api/v1/draws/{code}/applications", bodies)
        finally:
            await clients.close()

    answers = run(attempts())
    outcomes = Tally((a.status, a.code if a.status != 201 else "applied") for a in answers)
    assert outcomes == {(201, "applied"): 1, (409, "already_applied"): DRAW_ATTEMPTS - 1}, outcomes

    database = Database(site.url)
    try:
        with database.write() as session:
            draw = session.exec(select(Draw).where(Draw.code == code)).one()
            assert (
                len(session.exec(select(DrawApplication).where(DrawApplication.draw_id == draw.id)).all())
                == 1
            )
            draw.closes_at = datetime.now(UTC) - timedelta(seconds=1)
            session.add(draw)
        # A server's own job may draw it first: either way it is drawn once.
        run_due_draws(database, rules=BookingRules(), base_url=site.urls[0], now=datetime.now(UTC))
    finally:
        database.dispose()
    checked = subprocess.run(
        [sys.executable, "-m", "server.cli", "draw", "verify", f"{site.urls[1]}/api/v1/draws/{code}/record"],
        env={k: v for k, v in os.environ.items() if not k.startswith("DOR_")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 applications it gives the published results: 1 places won" in checked.stdout
