"""One-time codes by SMS (POST /api/v1/otp) and the remote tickets they unlock."""

import re

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from config.db import Database
from identity.models import OtpChallenge
from queueing.models import Ticket
from sms_gateway.models import SmsMessage
from tests.conftest import VirtualClock

PHONE = "+963944123456"
TYPED = "٠٩٤٤ ١٢٣ ٤٥٦"  # the same number as people type it, in Arabic-Indic digits
TO_ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def ask(client: TestClient, phone: str = TYPED, purpose: str = "remote_ticket", **extra: object) -> int:
    response = client.post("/api/v1/otp", json={"phone": phone, "purpose": purpose, **extra})
    return response.status_code


def sent_codes(database: Database, phone: str = PHONE) -> list[str]:
    """The codes in the SMS queued for a phone, oldest first (what the citizen reads)."""
    with database.read() as session:
        rows = session.exec(
            select(SmsMessage)
            .where(SmsMessage.phone == phone, SmsMessage.template == "otp")
            .order_by(SmsMessage.id)
        ).all()
    return [re.findall(r"\d{6}", m.body)[0] for m in rows]


def remote_ticket(client: TestClient, otp: str, phone: str = TYPED, service: str = "CR") -> dict:  # type: ignore[type-arg]
    response = client.post(
        "/api/v1/centres/DAM-01/tickets",
        json={"service": service, "channel": "remote", "phone": phone, "otp": otp},
    )
    return {"http": response.status_code, **response.json()}


def test_a_code_is_sent_in_arabic_and_kept_only_as_a_hash(client: TestClient, database: Database) -> None:
    response = client.post("/api/v1/otp", json={"phone": TYPED, "purpose": "booking", "centre": "DAM-01"})
    assert response.status_code == 202
    assert response.json() == {"status": "queued", "expires_in_s": 600}
    with database.read() as session:
        message = session.exec(select(SmsMessage)).one()
        challenge = session.exec(select(OtpChallenge)).one()
    [code] = sent_codes(database)
    assert message.phone == PHONE and message.language == "ar"
    assert message.body.startswith("رمز التحقق من دور: ")
    assert code not in (challenge.code_hash, str(challenge))
    assert (challenge.phone, challenge.purpose) == (PHONE, "booking")


def test_an_english_code(client: TestClient, database: Database) -> None:
    assert ask(client, "+963 944 123 456", language="en") == 202
    with database.read() as session:
        assert session.exec(select(SmsMessage.body)).one().startswith("Dor verification code: ")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "12", "purpose": "booking"}, "phone"),
        ({"phone": "not a phone", "purpose": "booking"}, "phone"),
        ({"phone": TYPED, "purpose": "lottery"}, "purpose"),
        ({"phone": TYPED}, "purpose"),
        ({"phone": TYPED, "purpose": "booking", "language": "fr"}, "language"),
    ],
)
# Refused by the body's schema or the phone's parsing before any query, alike on either database.
@pytest.mark.parametrize("backend", ["sqlite"])
def test_bad_requests_are_refused_and_send_nothing(
    client: TestClient, database: Database, body: dict[str, str], field: str
) -> None:
    response = client.post("/api/v1/otp", json=body)
    assert response.status_code == 422
    assert field in response.json()["error"]["message"]
    assert sent_codes(database) == []


def test_an_unknown_centre_is_404(client: TestClient) -> None:
    assert ask(client, centre="NOPE") == 404


def test_sends_are_capped_per_phone_per_hour_and_per_day(
    client: TestClient, database: Database, clock: VirtualClock
) -> None:
    assert [ask(client) for _ in range(4)] == [202, 202, 202, 429]
    response = client.post("/api/v1/otp", json={"phone": TYPED, "purpose": "booking"})
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "too_many_requests"
    assert 0 < int(response.headers["Retry-After"]) <= 3600
    assert len(sent_codes(database)) == 3
    for expected in ([202, 202, 202], [202, 202, 202], [202, 429, 429]):  # the day's 10th is the last
        clock.advance(3601)
        assert [ask(client) for _ in range(3)] == expected
    assert len(sent_codes(database)) == 10
    clock.advance(3601)
    response = client.post("/api/v1/otp", json={"phone": TYPED, "purpose": "remote_ticket"})
    assert response.status_code == 429
    assert 3600 < int(response.headers["Retry-After"]) <= 86400
    clock.advance(86400)
    assert ask(client) == 202


def test_sends_are_capped_per_client_address(client: TestClient, database: Database) -> None:
    statuses = [ask(client, f"+96394412{n:04d}") for n in range(21)]
    assert statuses == [202] * 20 + [429]


def test_a_remote_ticket_needs_the_code_sent_to_its_phone(client: TestClient, database: Database) -> None:
    assert ask(client) == 202
    [code] = sent_codes(database)
    ticket = remote_ticket(client, code.translate(TO_ARABIC))
    assert ticket["http"] == 201, ticket
    assert ticket["number"].startswith("A-")
    with database.read() as session:
        stored = session.exec(select(Ticket)).one()
    assert (stored.channel, stored.phone) == ("remote", PHONE)


def test_a_code_works_once(client: TestClient, database: Database) -> None:
    ask(client)
    [code] = sent_codes(database)
    first = remote_ticket(client, code)
    assert first["http"] == 201
    assert client.delete(f"/api/v1/tickets/{first['token']}").status_code == 200
    second = remote_ticket(client, code)
    assert (second["http"], second["error"]["code"]) == (401, "otp_invalid")


def test_five_wrong_codes_burn_the_code(client: TestClient, database: Database) -> None:
    ask(client)
    [code] = sent_codes(database)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        answer = remote_ticket(client, wrong)
        assert (answer["http"], answer["error"]["code"]) == (401, "otp_invalid")
    assert remote_ticket(client, code)["http"] == 401  # burnt: the right code no longer works
    ask(client)
    assert remote_ticket(client, sent_codes(database)[-1])["http"] == 201


def test_a_code_expires_after_ten_minutes(
    client: TestClient, database: Database, clock: VirtualClock
) -> None:
    ask(client)
    clock.advance(601)
    assert remote_ticket(client, sent_codes(database)[0])["http"] == 401


def test_a_new_code_replaces_the_old_one_and_codes_are_bound_to_their_purpose(
    client: TestClient, database: Database
) -> None:
    ask(client, purpose="booking")
    booking_code = sent_codes(database)[0]
    assert remote_ticket(client, booking_code)["http"] == 401  # a booking code opens no queue
    ask(client)
    ask(client)
    old, new = sent_codes(database)[1:]
    assert remote_ticket(client, old)["http"] == 401
    assert remote_ticket(client, new)["http"] == 201


def test_one_remote_ticket_at_a_time_per_phone(client: TestClient, database: Database) -> None:
    ask(client)
    assert remote_ticket(client, sent_codes(database)[0])["http"] == 201
    ask(client)
    second = remote_ticket(client, sent_codes(database)[-1], service="FS")
    assert (second["http"], second["error"]["code"]) == (409, "already_queued")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"service": "CR", "channel": "remote"}, "otp_required"),
        ({"service": "CR", "channel": "remote", "phone": TYPED}, "otp_required"),
        ({"service": "CR", "channel": "remote", "phone": "xyz", "otp": "123456"}, "invalid_input"),
        ({"service": "CR", "channel": "remote", "phone": TYPED, "otp": "123456"}, "otp_invalid"),
    ],
)
def test_remote_tickets_without_a_valid_code_are_refused(
    client: TestClient, database: Database, body: dict[str, str], code: str
) -> None:
    response = client.post("/api/v1/centres/DAM-01/tickets", json=body)
    status = 401 if code == "otp_invalid" else 422
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    with database.read() as session:
        assert session.exec(select(Ticket)).all() == []


def test_a_priority_class_cannot_be_claimed_remotely(client: TestClient, database: Database) -> None:
    ask(client)
    response = client.post(
        "/api/v1/centres/DAM-01/tickets",
        json={
            "service": "CR",
            "channel": "remote",
            "phone": TYPED,
            "otp": sent_codes(database)[0],
            "priority": "elderly",
        },
    )
    assert response.status_code == 422
    assert "priority" in response.json()["error"]["message"]
    assert remote_ticket(client, sent_codes(database)[0])["http"] == 201  # the code was not used up
