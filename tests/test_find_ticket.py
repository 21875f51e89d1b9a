"""A lost tracker link, sent again by SMS to the phone that took the ticket: the same answer whether or
not a ticket matched, a few tries an hour per phone and per client address."""

import logging

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from config.db import Database
from sms_gateway.models import SmsMessage
from tests.conftest import PHONE, VirtualClock, take_remote_ticket, take_ticket

FIND = "/api/v1/centres/DAM-01/tickets/find"


def links(database: Database) -> list[tuple[str, str]]:
    """(phone, text) of every tracker-link SMS queued, oldest first."""
    with database.read() as session:
        rows = session.exec(
            select(SmsMessage).where(SmsMessage.template == "tracker_link").order_by(SmsMessage.id)
        ).all()
    return [(m.phone, m.body) for m in rows]


def test_the_link_goes_to_the_phone_that_took_the_ticket_in_its_language(
    client: TestClient, database: Database
) -> None:
    mine = take_remote_ticket(client, database, language="en")
    # Typed as people type it: lower case, Arabic-Indic digits, a local phone number.
    response = client.post(
        FIND, json={"number": mine["number"].lower().replace("1", "١"), "phone": "0944123456"}
    )
    assert response.status_code == 202
    assert links(database) == [
        (
            PHONE,
            f"Follow your ticket {mine['number']} at Citizen Service Centre - Mezzeh:\n"
            + mine["tracking_url"],
        )
    ]


@pytest.mark.parametrize(
    "asked",
    [
        {"number": "A-001", "phone": "0944999999"},  # another phone
        {"number": "A-009", "phone": "0944123456"},  # another number
    ],
)
def test_a_mismatch_gets_the_same_answer_and_sends_nothing(
    client: TestClient, database: Database, asked: dict[str, str]
) -> None:
    mine = take_remote_ticket(client, database)
    assert mine["number"] == "A-001"
    matched = client.post(FIND, json={"number": "A-001", "phone": "0944123456"})
    sent = links(database)
    mismatched = client.post(FIND, json=asked)
    assert (
        (mismatched.status_code, mismatched.json())
        == (matched.status_code, matched.json())
        == (
            202,
            {"status": "accepted"},
        )
    )
    assert links(database) == sent


def test_a_ticket_without_that_phone_or_no_longer_waiting_gets_nothing(
    client: TestClient, database: Database
) -> None:
    kiosk = take_ticket(client)  # no phone at all
    assert client.post(FIND, json={"number": kiosk["number"], "phone": "0944123456"}).status_code == 202
    mine = take_remote_ticket(client, database)
    assert client.delete(f"/api/v1/tickets/{mine['token']}").status_code == 200
    assert client.post(FIND, json={"number": mine["number"], "phone": "0944123456"}).status_code == 202
    assert links(database) == []


def test_a_phone_may_ask_five_times_an_hour(
    client: TestClient, database: Database, clock: VirtualClock
) -> None:
    take_remote_ticket(client, database)
    for _ in range(5):
        assert client.post(FIND, json={"number": "A-001", "phone": "0944123456"}).status_code == 202
        clock.advance(60)
    refused = client.post(FIND, json={"number": "A-002", "phone": "0944123456"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_requests"
    assert int(refused.headers["Retry-After"]) > 0
    assert len(links(database)) == 5
    clock.advance(3300)
    assert client.post(FIND, json={"number": "A-001", "phone": "0944123456"}).status_code == 202
    assert len(links(database)) == 6


def test_one_address_may_ask_twenty_times_an_hour_whatever_the_phones(client: TestClient) -> None:
    for n in range(20):
        response = client.post(FIND, json={"number": "A-001", "phone": f"09441234{n:02d}"})
        assert response.status_code == 202, response.text
    assert client.post(FIND, json={"number": "A-001", "phone": "0944999999"}).status_code == 429


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"number": "A-001", "phone": "12"}, "phone"),
        ({"number": "hello", "phone": "0944123456"}, "number"),
        ({"number": "A-001"}, "phone"),
        ({"number": "A-001", "phone": "0944123456", "extra": 1}, None),
    ],
)
# Refused by the body's schema or its parsing before any query, the same on either database: SQLite only.
@pytest.mark.parametrize("backend", ["sqlite"])
def test_bad_input_is_refused_and_named(
    client: TestClient, body: dict[str, object], field: str | None
) -> None:
    response = client.post(FIND, json=body)
    assert response.status_code == 422
    if field is not None:
        assert response.json()["error"]["field"] == field


def test_an_unknown_centre_is_404(client: TestClient) -> None:
    response = client.post(
        "/api/v1/centres/NOPE/tickets/find", json={"number": "A-001", "phone": "0944123456"}
    )
    assert response.status_code == 404


def test_each_request_is_logged_without_the_phone(
    client: TestClient, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    take_remote_ticket(client, database)
    with caplog.at_level(logging.INFO, logger="queueing.web.tickets"):
        client.post(FIND, json={"number": "A-001", "phone": "0944123456"})
        client.post(FIND, json={"number": "A-002", "phone": "0944123456"})
    lines = [r.getMessage() for r in caplog.records if "tracker link asked" in r.getMessage()]
    assert len(lines) == 2 and lines[0].endswith("sent") and lines[1].endswith("no such ticket")
    assert not any("944123456" in line for line in lines)
