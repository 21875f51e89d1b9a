"""Kiosk services: check-in of appointments, paper tickets (ESC/POS), the kiosk page."""

import re
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking.models import Appointment
from config.db import Database
from config.secrets import hash_token
from organisation.models import Centre, Device, Service
from queueing.printing import PaperTicket, ticket_lines
from tests.conftest import KIOSK, VirtualClock, sign_in, take_ticket

CHECK_IN = "/api/v1/centres/DAM-01/check-in"


def book(
    database: Database, clock: VirtualClock, *, code: str, minutes_from_now: int, service: str = "CR"
) -> None:
    """An appointment written straight into the database (the booking pages come later)."""
    with database.write() as session:
        centre = session.exec(select(Centre).where(Centre.code == "DAM-01")).one()
        svc = session.exec(select(Service).where(Service.code == service)).one()
        start = clock.now + timedelta(minutes=minutes_from_now)
        session.add(
            Appointment(
                code=code,
                token=f"tok-{code}",
                centre_id=centre.id,
                service_id=svc.id,
                start=start,
                end=start + timedelta(minutes=10),
                created_at=clock.now,
            )
        )


def test_a_code_typed_in_arabic_indic_digits_checks_in(
    client: TestClient, database: Database, clock: VirtualClock
) -> None:
    book(database, clock, code="AC3467", minutes_from_now=10)
    response = client.post(CHECK_IN, json={"code": "ac٣٤٦٧"}, headers=KIOSK)
    assert response.status_code == 201
    assert response.json()["service"] == "CR"
    again = client.post(CHECK_IN, json={"code": "AC3467"}, headers=KIOSK)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_checked_in")


def test_a_checked_in_appointment_goes_first_once_due(
    client: TestClient, app: Starlette, database: Database, clock: VirtualClock
) -> None:
    walk_in = take_ticket(client)
    book(database, clock, code="HJK679", minutes_from_now=5)
    booked = client.post(CHECK_IN, json={"code": "HJK679"}, headers=KIOSK).json()
    clock.advance(5 * 60)
    with sign_in(app, "agent1") as agent:
        agent.post("/api/v1/centres/DAM-01/counters/1/open")
        called = agent.post("/api/v1/centres/DAM-01/counters/1/next").json()["ticket"]
    assert called["number"] == booked["number"] != walk_in["number"]
    assert called["channel"] == "appointment"


def test_too_early_is_refused_with_a_reason(
    client: TestClient, database: Database, clock: VirtualClock
) -> None:
    book(database, clock, code="EARLY3", minutes_from_now=120)
    response = client.post(CHECK_IN, json={"code": "EARLY3"}, headers=KIOSK)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "too_early")


def test_a_late_arrival_gets_a_normal_ticket(
    client: TestClient, app: Starlette, database: Database, clock: VirtualClock
) -> None:
    walk_in = take_ticket(client)
    book(database, clock, code="LATE44", minutes_from_now=-30)
    late = client.post(CHECK_IN, json={"code": "LATE44"}, headers=KIOSK)
    assert late.status_code == 201
    with sign_in(app, "agent1") as agent:
        agent.post("/api/v1/centres/DAM-01/counters/1/open")
        first = agent.post("/api/v1/centres/DAM-01/counters/1/next").json()["ticket"]
    assert first["number"] == walk_in["number"]  # no appointment priority when late


def test_unknown_codes_are_named_then_slow_the_kiosk_down(client: TestClient, clock: VirtualClock) -> None:
    for _ in range(5):
        response = client.post(CHECK_IN, json={"code": "NOPE77"}, headers=KIOSK)
        assert (response.status_code, response.json()["error"]["code"]) == (404, "unknown_code")
    slowed = client.post(CHECK_IN, json={"code": "NOPE77"}, headers=KIOSK)
    assert slowed.status_code == 429
    assert int(slowed.headers["Retry-After"]) <= 30
    clock.advance(31)
    assert client.post(CHECK_IN, json={"code": "NOPE77"}, headers=KIOSK).status_code == 404


def test_check_in_needs_a_kiosk_of_the_centre(
    client: TestClient, database: Database, clock: VirtualClock
) -> None:
    book(database, clock, code="AUTH33", minutes_from_now=0)
    assert client.post(CHECK_IN, json={"code": "AUTH33"}).status_code == 401
    other = {"Authorization": "Bearer demo-kiosk-DAM-02"}
    assert client.post(CHECK_IN, json={"code": "AUTH33"}, headers=other).status_code == 403


# --- paper tickets -------------------------------------------------------------------------------


def qr_payloads(job: bytes) -> list[str]:
    """The data stored by ESC/POS 'GS ( k <pL> <pH> 1 P 0 <data>' commands."""
    payloads = []
    for match in re.finditer(rb"\x1d\(k(.)(.)1P0", job, re.DOTALL):
        length = match.group(1)[0] + 256 * match.group(2)[0] - 3
        start = match.end()
        payloads.append(job[start : start + length].decode())
    return payloads


@pytest.fixture
def printer() -> Iterator[tuple[str, list[bytes], threading.Event]]:
    """A network printer's socket: it keeps the job it receives and says when it has it."""
    received: list[bytes] = []
    done = threading.Event()
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)

    def serve() -> None:
        try:
            connection, _ = server.accept()
        except OSError:
            return
        with connection:
            chunks = []
            while chunk := connection.recv(65536):
                chunks.append(chunk)
            received.append(b"".join(chunks))
            done.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}", received, done
    server.close()
    thread.join(timeout=5)


def test_the_kiosk_printer_gets_an_image_and_a_native_qr_of_the_tracker(
    client: TestClient, database: Database, printer: tuple[str, list[bytes], threading.Event]
) -> None:
    url, received, done = printer
    with database.write() as session:
        kiosk = session.exec(select(Device).where(Device.token_hash == hash_token("demo-kiosk-DAM-01"))).one()
        kiosk.printer_url = url
        session.add(kiosk)
    ticket = take_ticket(client)
    response = client.post(f"/api/v1/tickets/{ticket['token']}/print", headers=KIOSK)
    assert response.status_code == 202
    assert done.wait(timeout=10), "the printer received nothing"
    job = received[0]
    assert response.json()["bytes"] == len(job) > 0
    assert job.startswith(b"\x1b@")  # initialise
    assert b"\x1dv0" in job  # a raster image: the Arabic text, drawn
    assert qr_payloads(job) == [ticket["tracking_url"]]
    assert job.rstrip(b"\n").endswith((b"\x1dVA\x03", b"\x1dV\x00", b"\x1dVA\x00", b"\x1dV\x01"))  # cut


def paper(language: str) -> PaperTicket:
    return PaperTicket(
        centre_ar="مركز خدمة المواطن - المزة",
        centre_en="Citizen Service Centre - Mazzeh",
        service_ar="إخراج قيد مدني",
        service_en="Civil registry extract",
        number="A-012",
        ahead=3,
        wait_minutes=12,
        issued=datetime(2026, 12, 7, 9, 5, tzinfo=UTC).astimezone(ZoneInfo("Asia/Damascus")),
        language=language,
        tracking_url="http://testserver/t/abc",
    )


def test_the_paper_ticket_names_the_centre_the_service_the_time_and_the_people_ahead() -> None:
    texts = [line.text for line in ticket_lines(paper("ar"))]
    assert texts[:5] == [
        "مركز خدمة المواطن - المزة",
        "Citizen Service Centre - Mazzeh",
        "إخراج قيد مدني",
        "Civil registry extract",
        "A-012",
    ]
    assert "عدد من قبلك: ٣" in texts
    assert "وقت الإصدار: ٢٠٢٦/١٢/٠٧ ١٢:٠٥" in texts  # Damascus is UTC+3
    assert "Issued: 2026/12/07 12:05" in [line.text for line in ticket_lines(paper("en"))]


def test_without_a_printer_the_kiosk_is_told_to_print_from_the_browser(client: TestClient) -> None:
    ticket = take_ticket(client)
    response = client.post(f"/api/v1/tickets/{ticket['token']}/print", headers=KIOSK)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "no_printer")


def test_the_paper_ticket_can_be_looked_at_as_png(client: TestClient) -> None:
    ticket = take_ticket(client)
    response = client.get(f"/api/v1/tickets/{ticket['token']}/ticket.png")
    assert response.status_code == 200
    assert response.content.startswith(b"\x89PNG")


def test_the_kiosk_page_is_arabic_first_with_an_english_switch(client: TestClient) -> None:
    html = client.get("/kiosk/DAM-01").text
    assert 'dir="rtl"' in html
    assert 'href="?lang=en"' in html
    assert 'data-allows-priority="yes"' in html
    assert client.get("/kiosk/NOPE-1").status_code == 404


def test_a_device_learns_who_it_is(client: TestClient) -> None:
    me = client.get("/api/v1/devices/me", headers=KIOSK).json()
    assert (me["kind"], me["centre"], me["has_printer"]) == ("kiosk", "DAM-01", False)
    assert client.get("/api/v1/devices/me", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_a_stopped_intake_refuses_walk_ins_but_honours_appointments(
    app: Starlette, client: TestClient, database: Database, clock: VirtualClock
) -> None:
    book(database, clock, code="KEPT44", minutes_from_now=5)
    with sign_in(app, "supervisor1") as supervisor:
        stopped = supervisor.post("/api/v1/centres/DAM-01/services/CR/intake", json={"open": False})
        assert stopped.json() == {"centre": "DAM-01", "service": "CR", "intake_open": False}
    refused = client.post(
        "/api/v1/centres/DAM-01/tickets", json={"service": "CR", "channel": "kiosk"}, headers=KIOSK
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "intake_stopped")
    status = {s["code"]: s for s in client.get("/api/v1/centres/DAM-01/status").json()["services"]}
    assert status["CR"]["intake_open"] is False
    assert status["FS"]["intake_open"] is True
    assert client.post(CHECK_IN, json={"code": "KEPT44"}, headers=KIOSK).status_code == 201
    clock.now = clock.now + timedelta(days=1)  # Monday: intake is open again
    assert take_ticket(client)["number"] == "A-001"


def test_only_supervisors_of_the_centre_stop_intake(app: Starlette) -> None:
    with sign_in(app, "agent1") as agent:
        assert (
            agent.post("/api/v1/centres/DAM-01/services/CR/intake", json={"open": False}).status_code == 403
        )
    with sign_in(app, "supervisor2") as elsewhere:
        assert (
            elsewhere.post("/api/v1/centres/DAM-01/services/CR/intake", json={"open": False}).status_code
            == 403
        )
