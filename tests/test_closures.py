"""A centre closed for a day: its appointments cancelled with an SMS that says where to book again, no
slots or tickets that day, who and why in the audit chain; refused for a past day, a closed one, staff
of other centres and agents. A closed day reopened offers its slots again; what its closure cancelled
stays cancelled."""

from collections.abc import Iterator

import pytest
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking.models import Appointment
from config.db import Database
from config.settings import Settings
from eventlog.models import Event
from organisation.models import Centre
from sms_gateway.models import SmsMessage
from tests.conftest import VirtualClock, sign_in, take_ticket
from tests.test_booking import MONDAY_10, booking, otp

CLOSURES = "/api/v1/centres/DAM-01/closures"
MONDAY = "2026-11-30"  # the tests' clock is Sunday 29 November, 09:00 in Damascus


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"otp_per_phone_hour": 100, "otp_per_phone_day": 100})


@pytest.fixture
def supervisor(app: Starlette) -> Iterator[TestClient]:
    with sign_in(app, "supervisor1") as signed_in:
        yield signed_in


def book(client: TestClient, database: Database, national_id: str, start: str = MONDAY_10) -> dict[str, str]:
    response = client.post("/api/v1/appointments", json=booking(otp(client, database), start, national_id))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_closing_a_day_cancels_its_appointments_and_tells_each_holder_where_to_book_again(
    client: TestClient, supervisor: TestClient, database: Database
) -> None:
    first, second = book(client, database, "01234567890"), book(client, database, "01234567891")
    other_day = book(client, database, "01234567892", start="2026-12-01T10:00:00+03:00")
    assert supervisor.get(f"{CLOSURES}/{MONDAY}").json() == {"day": MONDAY, "closed": False, "booked": 2}

    closed = supervisor.post(CLOSURES, json={"day": MONDAY, "reason": "انقطاع الكهرباء"})
    assert closed.status_code == 201, closed.text
    assert closed.json() == {"day": MONDAY, "cancelled": 2}

    with database.read() as session:
        statuses = dict(session.exec(select(Appointment.code, Appointment.status)).all())
        texts = session.exec(select(SmsMessage.body).where(SmsMessage.template == "closure")).all()
        event = session.exec(select(Event).where(Event.type == "day_closed")).one()
    assert (statuses[first["code"]], statuses[second["code"]], statuses[other_day["code"]]) == (
        "cancelled",
        "cancelled",
        "booked",
    )
    assert len(texts) == 2 and all("/book" in text and MONDAY in text for text in texts)
    assert event.actor == "staff:supervisor1" and event.data == {
        "day": MONDAY,
        "reason": "انقطاع الكهرباء",
        "cancelled": 2,
    }
    slots = client.get(f"/api/v1/centres/DAM-01/services/CR/slots?from={MONDAY}&days=1").json()
    assert slots == []  # no slot is offered on a closed day
    listed = supervisor.get(CLOSURES).json()["closures"]
    assert {"day": MONDAY, "reason": "انقطاع الكهرباء", "booked": 0} in listed
    assert {"day": "2026-12-25", "reason": None, "booked": 0} in listed  # a holiday of the configuration
    assert supervisor.get(f"{CLOSURES}/{MONDAY}").json() == {"day": MONDAY, "closed": True, "booked": 0}


def test_a_centre_closed_today_issues_no_ticket(
    client: TestClient, supervisor: TestClient, clock: VirtualClock
) -> None:
    assert take_ticket(client)["status"] == "waiting"
    assert (
        supervisor.post(CLOSURES, json={"day": "2026-11-29", "reason": "المنظومة متوقفة"}).status_code == 201
    )
    refused = client.post(
        "/api/v1/centres/DAM-01/tickets",
        json={"service": "CR", "channel": "kiosk"},
        headers={"Authorization": "Bearer demo-kiosk-DAM-01"},
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "centre_closed")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"day": "2026-11-28", "reason": "متأخر"}, "day"),  # yesterday
        ({"day": "2028-01-01", "reason": "بعيد جداً"}, "day"),  # beyond a year
        ({"day": "2026-12-25", "reason": "عطلة"}, "day"),  # a holiday already
        ({"day": MONDAY, "reason": "x"}, "reason"),
        ({"day": "next monday", "reason": "سبب"}, "day"),
        ({"reason": "سبب"}, "day"),
    ],
)
def test_a_closure_that_cannot_be_is_refused_naming_what_to_fix(
    supervisor: TestClient, database: Database, body: dict[str, str], field: str
) -> None:
    refused = supervisor.post(CLOSURES, json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == field
    with database.read() as session:
        assert session.exec(select(Event).where(col(Event.type) == "day_closed")).first() is None


def test_only_the_centres_managers_close_it(app: Starlette, client: TestClient) -> None:
    body = {"day": MONDAY, "reason": "سبب"}
    assert client.post(CLOSURES, json=body).status_code == 401
    with sign_in(app, "agent1") as agent:
        assert agent.post(CLOSURES, json=body).status_code == 403
    with sign_in(app, "supervisor2") as elsewhere:
        assert elsewhere.post(CLOSURES, json=body).status_code == 403
        assert elsewhere.get(CLOSURES).status_code == 403
    with sign_in(app, "admin") as admin:
        assert admin.post(CLOSURES, json=body).status_code == 201


def test_a_day_in_the_path_is_a_date(supervisor: TestClient) -> None:
    for day in ("2026-13-01", "20261130", "2026-W48-1", "x"):
        refused = supervisor.get(f"{CLOSURES}/{day}")
        assert (refused.status_code, refused.json()["error"]["field"]) == (422, "day")


def test_reopening_a_day_offers_its_slots_again_and_leaves_its_cancelled_appointments_cancelled(
    client: TestClient, supervisor: TestClient, database: Database
) -> None:
    held = book(client, database, "01234567890")
    assert supervisor.post(CLOSURES, json={"day": MONDAY, "reason": "انقطاع الكهرباء"}).status_code == 201

    reopened = supervisor.request("DELETE", f"{CLOSURES}/{MONDAY}", json={"reason": "عادت الكهرباء"})

    assert reopened.status_code == 200, reopened.text
    assert reopened.json() == {"day": MONDAY, "closed": False, "booked": 0}
    assert client.get(f"/api/v1/appointments/{held['token']}").json()["status"] == "cancelled"
    assert client.get(f"/api/v1/centres/DAM-01/services/CR/slots?from={MONDAY}&days=1").json() != []
    assert MONDAY not in [c["day"] for c in supervisor.get(CLOSURES).json()["closures"]]
    with database.read() as session:
        event = session.exec(select(Event).where(Event.type == "day_reopened")).one()
    assert event.actor == "staff:supervisor1"
    assert event.data == {"day": MONDAY, "reason": "عادت الكهرباء"}


def test_a_holiday_of_the_configuration_is_reopened_too(supervisor: TestClient) -> None:
    reopened = supervisor.request("DELETE", f"{CLOSURES}/2026-12-25", json={"reason": "دوام استثنائي"})
    assert reopened.status_code == 200, reopened.text
    assert "2026-12-25" not in [c["day"] for c in supervisor.get(CLOSURES).json()["closures"]]


@pytest.mark.parametrize(
    ("day", "body", "field"),
    [
        ("2026-11-28", {"reason": "سبب"}, "day"),  # yesterday: past
        (MONDAY, {"reason": "سبب"}, "day"),  # not closed
        ("2026-12-25", {"reason": "x"}, "reason"),
        ("2026-12-25", {}, "reason"),
    ],
)
def test_a_reopening_that_cannot_be_is_refused_naming_what_to_fix(
    supervisor: TestClient, database: Database, day: str, body: dict[str, str], field: str
) -> None:
    with database.write() as session:  # yesterday closed, as a closure made then would have left it
        centre = session.exec(select(Centre).where(Centre.code == "DAM-01")).one()
        centre.holidays = [*centre.holidays, "2026-11-28"]
        session.add(centre)
    refused = supervisor.request("DELETE", f"{CLOSURES}/{day}", json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == field
    with database.read() as session:
        assert session.exec(select(Event).where(col(Event.type) == "day_reopened")).first() is None


def test_only_the_centres_managers_reopen_a_day(app: Starlette, client: TestClient) -> None:
    body = {"reason": "سبب"}
    assert client.request("DELETE", f"{CLOSURES}/2026-12-25", json=body).status_code == 401
    with sign_in(app, "agent1") as agent:
        assert agent.request("DELETE", f"{CLOSURES}/2026-12-25", json=body).status_code == 403
    with sign_in(app, "supervisor2") as elsewhere:
        assert elsewhere.request("DELETE", f"{CLOSURES}/2026-12-25", json=body).status_code == 403
