"""Remote tickets at a centre that asks for check-in: the ticket keeps its place but is called only
once its holder scans the tracker page's QR at the kiosk; whoever checks in long after being told to
come joins the back of the queue."""

import pytest
from sqlmodel import select, update
from starlette.testclient import TestClient

from config.db import Database
from eventlog.models import Event
from organisation.models import Centre
from sms_gateway.models import SmsMessage
from tests.conftest import KIOSK, VirtualClock, take_remote_ticket, take_ticket

COUNTER = "/api/v1/centres/DAM-01/counters/1"


@pytest.fixture
def database(database: Database) -> Database:
    with database.write() as session:
        session.execute(update(Centre).where(Centre.code == "DAM-01").values(remote_check_in=True))  # type: ignore[arg-type]
    return database


def check_in(client: TestClient, ticket: dict, centre: str = "DAM-01") -> tuple[int, dict]:  # type: ignore[type-arg]
    """Scans the ticket's tracker QR (its tracking URL) at the centre's kiosk."""
    headers = {"Authorization": f"Bearer demo-kiosk-{centre}"}
    response = client.post(
        f"/api/v1/centres/{centre}/check-in", json={"code": ticket["tracking_url"]}, headers=headers
    )
    return response.status_code, response.json()


def next_number(agent: TestClient) -> str | None:
    response = agent.post(f"{COUNTER}/next")
    if response.status_code == 204:
        return None
    assert response.status_code == 200, response.text
    number = str(response.json()["ticket"]["number"])
    for action in ("start", "finish"):
        assert agent.post(f"{COUNTER}/{action}").status_code == 200
    return number


def test_an_away_ticket_keeps_its_place_and_is_called_once_checked_in(
    client: TestClient, agent: TestClient, database: Database
) -> None:
    mine = take_remote_ticket(client, database)
    assert mine["away"] is True and mine["position"] == 1
    first = take_ticket(client)
    assert first["position"] == 2  # the away ticket is ahead of it: it keeps its place
    assert agent.post(f"{COUNTER}/open").status_code == 200
    assert next_number(agent) == first["number"]  # nobody calls a citizen still at home
    later = take_ticket(client)
    status, view = check_in(client, mine)
    assert status == 200
    assert (view["number"], view["away"], view["position"]) == (mine["number"], False, 1)
    assert next_number(agent) == mine["number"]  # before the walk-in who came after it
    assert next_number(agent) == later["number"]
    with database.read() as session:
        events = session.exec(select(Event.type, Event.data).where(Event.type == "checked_in")).all()
        told = session.exec(select(SmsMessage.template).where(SmsMessage.template != "otp")).all()
    assert events == [("checked_in", {"number": mine["number"], "kept_place": True})]
    assert told[0] == "turn_near_check_in"  # the SMS says to scan the QR at the kiosk


def test_a_counter_with_only_away_tickets_has_nobody_to_call(
    client: TestClient, agent: TestClient, database: Database
) -> None:
    mine = take_remote_ticket(client, database)
    assert agent.post(f"{COUNTER}/open").status_code == 200
    assert agent.post(f"{COUNTER}/next").status_code == 204
    response = agent.post(f"{COUNTER}/call", json={"number": mine["number"], "reason": "asked by phone"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ticket_not_waiting"
    check_in(client, mine)
    assert next_number(agent) == mine["number"]


def test_checking_in_long_after_being_told_to_come_joins_the_back(
    client: TestClient, agent: TestClient, database: Database, clock: VirtualClock
) -> None:
    mine = take_remote_ticket(client, database)  # near the front at once: told to come now
    clock.advance(600)
    came = take_ticket(client)
    assert agent.post(f"{COUNTER}/open").status_code == 200
    clock.advance(1300)  # 31 min 40 s after the SMS: past the 30 min of grace
    status, view = check_in(client, mine)
    assert (status, view["position"]) == (200, 2)
    assert next_number(agent) == came["number"]
    assert next_number(agent) == mine["number"]


def test_check_in_refusals_name_the_reason(client: TestClient, agent: TestClient, database: Database) -> None:
    mine = take_remote_ticket(client, database)
    assert check_in(client, mine)[0] == 200
    status, body = check_in(client, mine)
    assert (status, body["error"]["code"]) == (409, "already_checked_in")
    walk_in = take_ticket(client)
    assert check_in(client, walk_in)[1]["error"]["code"] == "already_checked_in"  # never away
    status, body = check_in(client, mine, centre="DAM-02")  # another centre's ticket
    assert (status, body["error"]["code"]) == (404, "unknown_code")
    forged = {"tracking_url": "http://testserver/t/" + "x" * 32}
    assert check_in(client, forged)[1]["error"]["code"] == "unknown_code"
    gone = take_remote_ticket(client, database, phone="+963944000111")
    assert client.delete(f"/api/v1/tickets/{gone['token']}").status_code == 200
    status, body = check_in(client, gone)
    assert (status, body["error"]["code"]) == (409, "ticket_not_waiting")


def test_without_check_in_a_remote_ticket_is_called_like_any_other(
    client: TestClient, agent: TestClient, database: Database
) -> None:
    with database.write() as session:
        session.execute(update(Centre).where(Centre.code == "DAM-01").values(remote_check_in=False))  # type: ignore[arg-type]
    mine = take_remote_ticket(client, database)
    assert mine["away"] is False
    assert agent.post(f"{COUNTER}/open").status_code == 200
    assert next_number(agent) == mine["number"]


def type_in(client: TestClient, body: dict) -> tuple[int, dict]:  # type: ignore[type-arg]
    """Types a number and phone digits (or anything else) at DAM-01's kiosk."""
    response = client.post("/api/v1/centres/DAM-01/check-in", json=body, headers=KIOSK)
    return response.status_code, response.json()


def test_a_remote_ticket_checks_in_by_its_number_and_the_last_digits_of_its_phone(
    client: TestClient, agent: TestClient, database: Database
) -> None:
    mine = take_remote_ticket(client, database)  # taken with +963944123456
    status, view = type_in(client, {"number": mine["number"].lower().replace("-", ""), "phone_last4": "٣٤٥٦"})
    assert status == 200
    assert (view["number"], view["away"]) == (mine["number"], False)
    assert agent.post(f"{COUNTER}/open").status_code == 200
    assert next_number(agent) == mine["number"]


def test_a_wrong_phone_reads_as_an_unknown_number_and_slows_the_kiosk_down(
    client: TestClient, database: Database
) -> None:
    mine = take_remote_ticket(client, database)
    wrong = type_in(client, {"number": mine["number"], "phone_last4": "0000"})
    unknown = type_in(client, {"number": "A-099", "phone_last4": "3456"})
    assert wrong[0] == unknown[0] == 404
    assert wrong[1]["error"]["code"] == unknown[1]["error"]["code"] == "unknown_code"
    for _ in range(3):
        type_in(client, {"number": mine["number"], "phone_last4": "1111"})
    assert type_in(client, {"number": mine["number"], "phone_last4": "3456"})[0] == 429


def test_a_walk_in_ticket_has_no_phone_to_match(client: TestClient) -> None:
    walk_in = take_ticket(client)
    assert type_in(client, {"number": walk_in["number"], "phone_last4": "3456"})[1]["error"]["code"] == (
        "unknown_code"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"number": "A-001"}, "phone_last4"),
        ({"number": "A-001", "phone_last4": "123"}, "phone_last4"),
        ({"number": "A-001", "phone_last4": "12a4"}, "phone_last4"),
        ({"number": "12-AB", "phone_last4": "1234"}, "number"),
        ({"code": "AC3467", "number": "A-001", "phone_last4": "1234"}, "number"),
        ({}, "code"),
    ],
)
def test_a_check_in_by_number_names_the_input_to_fix(client: TestClient, body: dict, field: str) -> None:  # type: ignore[type-arg]
    status, answer = type_in(client, body)
    assert (status, answer["error"]["code"], answer["error"]["field"]) == (422, "invalid_input", field)


def test_refusals_of_a_check_in_by_number_are_in_the_kiosk_language(client: TestClient) -> None:
    response = client.post(
        "/api/v1/centres/DAM-01/check-in",
        json={"number": "A-099", "phone_last4": "3456"},
        headers={**KIOSK, "Accept-Language": "ar"},
    )
    assert (
        response.json()["error"]["message"]
        == "لا توجد اليوم في \u2066DAM-01\u2069 بطاقة \u2066A-099\u2069 أُخذت بهذا الجوال"
    )
