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
from tests.conftest import VirtualClock, take_remote_ticket, take_ticket

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
