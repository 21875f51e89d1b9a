"""Taking a ticket at the kiosk, following it, leaving the queue; the centre's public status."""

from datetime import UTC, datetime

from sqlmodel import select
from starlette.testclient import TestClient

from config import idempotency
from config.db import Database
from eventlog.models import Event
from organisation.models import Device
from queueing.models import Ticket
from tests.conftest import KIOSK, VirtualClock, take_ticket


def test_kiosk_ticket_gets_the_first_number_of_its_queue(client: TestClient) -> None:
    ticket = take_ticket(client, "CR")
    assert ticket["number"] == "A-001"
    assert ticket["status"] == "waiting"
    assert (ticket["service"], ticket["centre"]) == ("CR", "DAM-01")
    assert (ticket["position"], ticket["ahead"]) == (1, 0)
    assert ticket["tracking_url"].endswith(f"/t/{ticket['token']}")
    assert len(ticket["token"]) >= 32  # 192 random bits, URL-safe


def test_numbers_count_up_per_service_prefix(client: TestClient) -> None:
    numbers = [take_ticket(client, s)["number"] for s in ("CR", "CR", "ID", "CR")]
    assert numbers == ["A-001", "A-002", "C-001", "A-003"]


def test_numbers_start_again_on_the_next_local_day(client: TestClient, clock: VirtualClock) -> None:
    assert take_ticket(client)["number"] == "A-001"
    assert take_ticket(client)["number"] == "A-002"
    clock.now = datetime(2026, 11, 30, 5, 30, tzinfo=UTC)  # Monday 08:30 in Damascus
    assert take_ticket(client)["number"] == "A-001"


def test_estimate_grows_with_the_people_ahead(client: TestClient) -> None:
    take_ticket(client)
    second = take_ticket(client)
    assert (second["position"], second["ahead"]) == (2, 1)
    assert second["estimated_wait_s"] == 180  # one ahead x 3 min, no counter open yet


def test_kiosk_channel_needs_a_kiosk_token_of_this_centre(client: TestClient) -> None:
    body = {"service": "CR", "channel": "kiosk"}
    url = "/api/v1/centres/DAM-01/tickets"
    assert client.post(url, json=body).status_code == 401
    assert client.post(url, json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    display = {"Authorization": "Bearer demo-display-DAM-01"}
    assert client.post(url, json=body, headers=display).status_code == 403
    other_centre = {"Authorization": "Bearer demo-kiosk-DAM-02"}
    assert client.post(url, json=body, headers=other_centre).status_code == 403


def test_a_revoked_kiosk_token_stops_working(client: TestClient, database: Database) -> None:
    take_ticket(client)
    with database.write() as session:
        for device in session.exec(select(Device)).all():
            device.revoked_at = datetime(2026, 11, 29, tzinfo=UTC)
            session.add(device)
    response = client.post(
        "/api/v1/centres/DAM-01/tickets", json={"service": "CR", "channel": "kiosk"}, headers=KIOSK
    )
    assert response.status_code == 401


def test_remote_tickets_need_an_otp(client: TestClient) -> None:
    response = client.post(
        "/api/v1/centres/DAM-01/tickets", json={"service": "CR", "channel": "remote", "phone": "0944123456"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "otp_required"


def test_unknown_service_is_404_and_a_service_not_offered_is_422(client: TestClient) -> None:
    url = "/api/v1/centres/DAM-02/tickets"
    kiosk = {"Authorization": "Bearer demo-kiosk-DAM-02"}
    unknown = client.post(url, json={"service": "ZZ", "channel": "kiosk"}, headers=kiosk)
    assert unknown.status_code == 404
    not_offered = client.post(url, json={"service": "VT", "channel": "kiosk"}, headers=kiosk)
    assert not_offered.status_code == 422
    assert not_offered.json()["error"]["code"] == "service_not_offered"


def test_unknown_centre_is_404(client: TestClient) -> None:
    response = client.post(
        "/api/v1/centres/NOPE-1/tickets", json={"service": "CR", "channel": "kiosk"}, headers=KIOSK
    )
    assert response.status_code == 404


def test_a_phone_in_arabic_indic_digits_is_stored_as_e164(client: TestClient, database: Database) -> None:
    ticket = take_ticket(client, phone="٠٩٤٤ ١٢٣ ٤٥٦")
    with database.read() as session:
        stored = session.exec(select(Ticket).where(Ticket.token == ticket["token"])).one()
    assert stored.phone == "+963944123456"


def test_a_phone_that_is_not_a_phone_is_422(client: TestClient) -> None:
    response = client.post(
        "/api/v1/centres/DAM-01/tickets",
        json={"service": "CR", "channel": "kiosk", "phone": "12ab"},
        headers=KIOSK,
    )
    assert response.status_code == 422
    assert "'phone'" in response.json()["error"]["message"]


def test_a_closed_centre_says_when_it_opens(client: TestClient, clock: VirtualClock) -> None:
    clock.now = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)  # Friday: weekend
    response = client.post(
        "/api/v1/centres/DAM-01/tickets", json={"service": "CR", "channel": "kiosk"}, headers=KIOSK
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "centre_closed"
    assert (
        response.headers["X-Next-Opening"] == "2026-12-06T08:00:00+03:00"
    )  # Sunday morning, Damascus (UTC+3)


def test_a_retry_with_the_same_idempotency_key_gets_the_same_ticket(
    client: TestClient, database: Database
) -> None:
    headers = {**KIOSK, "Idempotency-Key": "tap-7f3a"}
    body = {"service": "CR", "channel": "kiosk"}
    first = client.post("/api/v1/centres/DAM-01/tickets", json=body, headers=headers)
    again = client.post("/api/v1/centres/DAM-01/tickets", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["token"] == again.json()["token"]
    with database.read() as session:
        assert len(session.exec(select(Ticket)).all()) == 1


def test_an_idempotency_key_is_forgotten_after_a_day(
    client: TestClient, database: Database, clock: VirtualClock
) -> None:
    """Keys are the client's to make up: the answers stored under them are deleted after a day, so
    that they cannot grow without bound; a key used again after that is a new request."""
    headers = {**KIOSK, "Idempotency-Key": "tap-day"}
    body = {"service": "CR", "channel": "kiosk"}
    first = client.post("/api/v1/centres/DAM-01/tickets", json=body, headers=headers)
    clock.advance(3600)
    with database.write() as session:
        assert idempotency.forget(session, before=clock() - idempotency.KEEP) == 0
    assert client.post("/api/v1/centres/DAM-01/tickets", json=body, headers=headers).json() == first.json()
    clock.advance(idempotency.KEEP.total_seconds())
    with database.write() as session:
        assert idempotency.forget(session, before=clock() - idempotency.KEEP) == 1
    later = client.post("/api/v1/centres/DAM-01/tickets", json=body, headers=headers)
    assert later.status_code == 201
    assert later.json()["token"] != first.json()["token"]


def test_the_same_key_with_another_body_is_422(client: TestClient) -> None:
    headers = {**KIOSK, "Idempotency-Key": "tap-1"}
    client.post("/api/v1/centres/DAM-01/tickets", json={"service": "CR", "channel": "kiosk"}, headers=headers)
    response = client.post(
        "/api/v1/centres/DAM-01/tickets", json={"service": "ID", "channel": "kiosk"}, headers=headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"


def test_a_ticket_is_followed_by_its_token(client: TestClient) -> None:
    ticket = take_ticket(client)
    view = client.get(f"/api/v1/tickets/{ticket['token']}")
    assert view.status_code == 200
    assert view.json()["number"] == ticket["number"]
    assert client.get("/api/v1/tickets/not-a-token").status_code == 404


def test_leaving_the_queue_cancels_and_moves_others_up(client: TestClient) -> None:
    first, second = take_ticket(client), take_ticket(client)
    response = client.delete(f"/api/v1/tickets/{first['token']}")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert client.get(f"/api/v1/tickets/{second['token']}").json()["position"] == 1
    again = client.delete(f"/api/v1/tickets/{first['token']}")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"


def test_qr_code_is_an_svg(client: TestClient) -> None:
    ticket = take_ticket(client)
    response = client.get(f"/api/v1/tickets/{ticket['token']}/qr.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.text.lstrip().startswith("<?xml") and "<svg" in response.text


def test_public_status_counts_waiting_without_personal_data(client: TestClient) -> None:
    take_ticket(client, "CR", phone="0944123456")
    take_ticket(client, "CR")
    take_ticket(client, "ID")
    status = client.get("/api/v1/centres/DAM-01/status").json()
    waiting = {s["code"]: s["waiting"] for s in status["services"]}
    assert (waiting["CR"], waiting["ID"], waiting["PP"]) == (2, 1, 0)
    assert status["open"] is True
    assert "944" not in str(status)


def test_every_issue_is_in_the_event_log(client: TestClient, database: Database) -> None:
    take_ticket(client)
    take_ticket(client, "ID")
    with database.read() as session:
        events = session.exec(select(Event).order_by(Event.seq)).all()
    assert [(e.seq, e.type, e.data["number"]) for e in events] == [
        (1, "issued", "A-001"),
        (2, "issued", "C-001"),
    ]
    assert events[0].actor.startswith("device:")
