"""SMS to people in the queue: "your turn is near" once at N ahead (3 by default) or once the
predicted wait is within the lead time, "go to counter" once when called; nothing for tickets
without a phone."""

import pytest
from sqlmodel import select, update
from starlette.testclient import TestClient

from config.db import Database
from config.settings import Settings
from organisation.models import Centre
from server.app import create_app
from sms_gateway.models import SmsMessage
from tests.conftest import VirtualClock, sign_in, take_ticket
from tests.conftest import take_remote_ticket as remote


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The count of people ahead alone decides, unless a test sets a lead time."""
    return settings.model_copy(update={"sms_notify_lead_s": 0.0})


@pytest.fixture
def database(database: Database) -> Database:
    """Remote tickets called without a check-in at the kiosk (tests/test_remote_check_in.py has that)."""
    with database.write() as session:
        session.execute(update(Centre).where(Centre.code == "DAM-01").values(remote_check_in=False))  # type: ignore[arg-type]
    return database


def sms(database: Database) -> list[tuple[str, str]]:
    """(template, text) of every SMS queued, oldest first."""
    with database.read() as session:
        rows = session.exec(
            select(SmsMessage).where(SmsMessage.template != "otp").order_by(SmsMessage.id)
        ).all()
    return [(m.template, m.body) for m in rows]


def call_next(agent: TestClient) -> str:
    response = agent.post("/api/v1/centres/DAM-01/counters/1/next")
    assert response.status_code == 200, response.text
    number = response.json()["ticket"]["number"]
    for action in ("start", "finish"):
        assert agent.post(f"/api/v1/centres/DAM-01/counters/1/{action}").status_code == 200
    return str(number)


def test_one_near_sms_at_three_ahead_and_one_when_called(
    client: TestClient, agent: TestClient, database: Database, clock: VirtualClock
) -> None:
    for _ in range(5):
        take_ticket(client)
    mine = remote(client, database)
    assert mine["ahead"] == 5 and sms(database) == []
    assert agent.post("/api/v1/centres/DAM-01/counters/1/open").status_code == 200
    call_next(agent)  # 4 ahead
    assert sms(database) == []
    call_next(agent)  # 3 ahead
    assert sms(database) == [
        (
            "turn_near",
            f"اقترب دورك {mine['number']}: أمامك 3. توجه إلى مركز خدمة المواطن - المزة الآن.\n"
            + mine["tracking_url"],
        )
    ]
    call_next(agent)
    call_next(agent)
    call_next(agent)  # 0 ahead: still only the one
    assert [template for template, _ in sms(database)] == ["turn_near"]
    response = agent.post("/api/v1/centres/DAM-01/counters/1/next")
    assert response.json()["ticket"]["number"] == mine["number"]
    assert sms(database)[-1] == (
        "called",
        f"الرقم {mine['number']}: تفضل إلى الشباك 1.\n{mine['tracking_url']}",
    )
    clock.advance(30)
    assert agent.post("/api/v1/centres/DAM-01/counters/1/recall").status_code == 200
    assert [template for template, _ in sms(database)] == ["turn_near", "called"]


def test_moving_back_does_not_repeat_the_near_sms(
    client: TestClient, agent: TestClient, database: Database
) -> None:
    for _ in range(3):
        take_ticket(client)
    mine = remote(client, database, language="en")
    assert sms(database) == [
        (
            "turn_near",
            f"Your turn is near ({mine['number']}): 3 ahead of you. "
            f"Please come to Citizen Service Centre - Mezzeh now.\n{mine['tracking_url']}",
        )
    ]
    take_ticket(client, priority="elderly")  # goes ahead: 4 ahead now
    assert client.get(f"/api/v1/tickets/{mine['token']}").json()["ahead"] == 4
    assert agent.post("/api/v1/centres/DAM-01/counters/1/open").status_code == 200
    call_next(agent)  # 3 ahead again
    assert [template for template, _ in sms(database)] == ["turn_near"]


def test_a_ticket_near_the_front_when_issued_is_told_at_once(client: TestClient, database: Database) -> None:
    take_ticket(client)
    mine = remote(client, database)
    assert sms(database) == [
        (
            "turn_near",
            f"اقترب دورك {mine['number']}: أمامك 1. توجه إلى مركز خدمة المواطن - المزة الآن.\n"
            + mine["tracking_url"],
        )
    ]


def test_someone_leaving_the_queue_can_bring_the_sms(client: TestClient, database: Database) -> None:
    ahead = [take_ticket(client) for _ in range(4)]
    remote(client, database)
    assert sms(database) == []
    assert client.delete(f"/api/v1/tickets/{ahead[0]['token']}").status_code == 200
    assert [template for template, _ in sms(database)] == ["turn_near"]


def test_tickets_without_a_phone_get_nothing(
    client: TestClient, agent: TestClient, database: Database
) -> None:
    for _ in range(3):
        take_ticket(client)
    assert agent.post("/api/v1/centres/DAM-01/counters/1/open").status_code == 200
    call_next(agent)
    assert sms(database) == []


def test_the_near_sms_goes_once_the_predicted_wait_is_within_the_lead_time(
    settings: Settings, database: Database, clock: VirtualClock
) -> None:
    # CR takes 180 s. With counter 1 free and 7 ahead, the wait is 7 services: 21 min, past the
    # 20-minute lead. Once it serves the first (3 min), 6 are ahead and one is at the counter: still 21.
    # With 5 ahead, 18 min: the SMS goes.
    app = create_app(
        settings.model_copy(update={"sms_notify_lead_s": 1200.0}), database=database, clock=clock
    )
    with TestClient(app) as client, sign_in(app, "agent1") as agent:
        assert agent.post("/api/v1/centres/DAM-01/counters/1/open").status_code == 200
        for _ in range(7):
            take_ticket(client)
        assert remote(client, database)["ahead"] == 7
        for expected in ([], ["turn_near"]):
            assert agent.post("/api/v1/centres/DAM-01/counters/1/next").status_code == 200
            assert [template for template, _ in sms(database)] == expected
            assert agent.post("/api/v1/centres/DAM-01/counters/1/start").status_code == 200
            clock.advance(180)
            assert agent.post("/api/v1/centres/DAM-01/counters/1/finish").status_code == 200
