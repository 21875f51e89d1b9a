"""Slot listings from a snapshot (booking/listings.py): a change made through this process shows in the
next listing at once, one made through another process within a second, a jump of the application's
clock never serves an old answer, concurrent listings compute once and an error is never kept.
Clock: Sunday 2026-11-29 09:00 in Damascus."""

import asyncio
from collections.abc import Iterator

import pytest
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking.listings import Listings, slots_changed
from config.db import Database
from config.settings import Settings
from organisation.models import Service
from server.app import create_app
from tests.conftest import OPEN_HOURS, VirtualClock, sign_in
from tests.test_booking import available, booking, otp

LATER = "2026-11-30T11:00:00+03:00"
TODAY = "/api/v1/centres/DAM-01/services/CR/slots"


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"otp_per_phone_hour": 100, "otp_per_phone_day": 100})


@pytest.fixture
def ticks(app: Starlette) -> Ticks:
    """This process's snapshots never age by themselves: what changes a listing is what the test does."""
    app.state.listings.monotonic = ticks = Ticks()
    return ticks


def set_bookable(database: Database, bookable: bool) -> None:
    """CR's flag, written as another process would: no event, nothing this process is told of."""
    with database.write() as session:
        service = session.exec(select(Service).where(Service.code == "CR")).one()
        service.bookable = bookable
        session.add(service)


# --- in this process, at once ---------------------------------------------------------------------


def test_a_booking_and_its_cancellation_show_in_the_next_listing(
    client: TestClient, database: Database, ticks: Ticks
) -> None:
    assert available(client) == 5
    made = client.post("/api/v1/appointments", json=booking(otp(client, database))).json()
    assert available(client) == 4
    assert client.delete(f"/api/v1/appointments/{made['token']}").status_code == 200
    assert available(client) == 5


def test_a_reschedule_shows_in_the_next_listing(client: TestClient, database: Database, ticks: Ticks) -> None:
    made = client.post("/api/v1/appointments", json=booking(otp(client, database))).json()
    assert (available(client), available(client, LATER)) == (4, 5)
    moved = client.post(f"/api/v1/appointments/{made['token']}/reschedule", json={"start": LATER})
    assert moved.status_code == 200, moved.text
    assert (available(client), available(client, LATER)) == (5, 4)


def test_a_booking_settings_change_shows_in_the_next_listing(
    app: Starlette, client: TestClient, ticks: Ticks
) -> None:
    assert available(client) == 5
    with sign_in(app, "supervisor1") as supervisor:
        body = {"walk_in_share": 0.8, "horizon_days": None, "target_load": None, "reason": "قاعة مزدحمة"}
        assert supervisor.put("/api/v1/centres/DAM-01/booking-settings", json=body).status_code == 200
    assert available(client) == 2


# --- another process, within a second -------------------------------------------------------------


@pytest.fixture
def other_process(settings: Settings, clock: VirtualClock) -> Iterator[tuple[TestClient, Ticks]]:
    """A second application on the same database through a connection pool of its own, as another
    `dor serve` process has: it hears nothing of this one's commits."""
    database = Database(settings.database_url)
    app = create_app(settings, database=database, clock=clock)
    app.state.listings.monotonic = ticks = Ticks()
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, ticks
    database.dispose()


def test_another_process_sees_a_booking_within_a_second(
    client: TestClient, database: Database, other_process: tuple[TestClient, Ticks]
) -> None:
    other, ticks = other_process
    assert available(other) == 5
    assert client.post("/api/v1/appointments", json=booking(otp(client, database))).status_code == 201
    assert available(client) == 4
    ticks.now = 0.999
    assert available(other) == 5  # its snapshot, taken before the booking, still serves
    ticks.now = 1.0
    assert available(other) == 4


# --- the application's clock ----------------------------------------------------------------------


def test_a_jump_of_the_clock_gets_a_fresh_listing_either_way(
    client: TestClient, clock: VirtualClock, ticks: Ticks
) -> None:
    assert client.get(TODAY).json()[0]["start"] == "2026-11-29T11:00:00+03:00"  # 2 h notice from 09:00
    clock.advance(3600)
    assert client.get(TODAY).json()[0]["start"] == "2026-11-29T12:00:00+03:00"
    clock.advance(-3600)
    assert client.get(TODAY).json()[0]["start"] == "2026-11-29T11:00:00+03:00"


# --- computing once, and never keeping an error ---------------------------------------------------


def test_an_error_is_not_kept(client: TestClient, database: Database, ticks: Ticks) -> None:
    set_bookable(database, False)
    refused = client.get(TODAY)
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "service_not_bookable")
    set_bookable(database, True)
    assert client.get(TODAY).status_code == 200


async def test_concurrent_listings_of_one_key_compute_once() -> None:
    listings, computed, release = Listings(monotonic=Ticks()), [], asyncio.Event()

    async def compute() -> bytes:
        computed.append(1)
        await release.wait()
        return b"[]"

    key = ("DAM-01", "CR", None, 7)
    asking = [asyncio.create_task(listings.answer(key, now=OPEN_HOURS, compute=compute)) for _ in range(50)]
    await asyncio.sleep(0)  # every request is waiting for the one computation
    release.set()
    assert await asyncio.gather(*asking) == [b"[]"] * 50
    assert len(computed) == 1


async def test_those_waiting_on_a_failed_listing_each_try_again() -> None:
    listings, computed = Listings(monotonic=Ticks()), []

    async def compute() -> bytes:
        computed.append(1)
        await asyncio.sleep(0)
        if len(computed) == 1:
            raise LookupError("the database said no")
        return b"[]"

    key = ("DAM-01", "CR", None, 7)
    first, second = await asyncio.gather(
        listings.answer(key, now=OPEN_HOURS, compute=compute),
        listings.answer(key, now=OPEN_HOURS, compute=compute),
        return_exceptions=True,
    )
    assert isinstance(first, LookupError) and second == b"[]"
    assert len(computed) == 2


async def test_the_least_recently_asked_listing_makes_room() -> None:
    listings, computed = Listings(monotonic=Ticks(), kept=2), []

    async def compute() -> bytes:
        computed.append(1)
        return b"[]"

    week, fortnight, month = (("DAM-01", "CR", None, days) for days in (7, 14, 31))
    for key in (week, fortnight, week, month, week, fortnight):  # the month pushes out the fortnight
        await listings.answer(key, now=OPEN_HOURS, compute=compute)
    assert len(computed) == 4


async def test_while_a_change_is_renewed_others_get_the_answer_it_renews_if_young() -> None:
    ticks = Ticks()
    listings, release = Listings(monotonic=ticks), asyncio.Event()
    bodies = iter([b"[before]", b"[after]", b"[later]"])

    async def compute() -> bytes:
        body = next(bodies)
        if body != b"[before]":
            await release.wait()
        return body

    key = ("DAM-01", "CR", None, 7)
    assert await listings.answer(key, now=OPEN_HOURS, compute=compute) == b"[before]"
    listings.committed(booked_at("DAM-01"))  # a booking: the next listing renews
    renewing = asyncio.create_task(listings.answer(key, now=OPEN_HOURS, compute=compute))
    await asyncio.sleep(0)
    ticks.now += 0.9  # the answer renewed is still under a second old: sent at once
    assert await listings.answer(key, now=OPEN_HOURS, compute=compute) == b"[before]"
    release.set()
    assert await renewing == b"[after]"  # the listing that renews shows the booking

    release.clear()
    listings.committed(booked_at("DAM-01"))
    renewing = asyncio.create_task(listings.answer(key, now=OPEN_HOURS, compute=compute))
    await asyncio.sleep(0)
    ticks.now += 1.0  # now the answer renewed is a second old: the others wait for the new one
    waiting = asyncio.create_task(listings.answer(key, now=OPEN_HOURS, compute=compute))
    await asyncio.sleep(0)
    assert not waiting.done()
    release.set()
    assert (await renewing, await waiting) == (b"[later]", b"[later]")


def booked_at(centre: str) -> Session:
    """A committed transaction's session that changed the centre's slots."""
    session = Session()
    slots_changed(session, centre)
    return session
