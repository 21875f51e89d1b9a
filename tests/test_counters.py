"""Working a counter through the API: open, next, recall, start, finish, no-show, transfer, call, pause."""

import asyncio

from alembic import command
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from eventlog.models import Event
from queueing.engine import RECALL_AFTER_S
from queueing.models import Ticket
from server import schema
from tests.conftest import VirtualClock, sign_in, take_ticket

COUNTER_1 = "/api/v1/centres/DAM-01/counters/1"


def act(agent: TestClient, action: str, counter: str = COUNTER_1, **body: object):  # type: ignore[no-untyped-def]
    return agent.post(f"{counter}/{action}", json=body or None)


def test_open_next_start_finish(client: TestClient, agent: TestClient) -> None:
    ticket = take_ticket(client)
    assert act(agent, "open").json()["counter"]["status"] == "open"
    called = act(agent, "next")
    assert called.status_code == 200
    assert called.json()["ticket"]["number"] == ticket["number"]
    assert called.json()["ticket"]["status"] == "called"
    view = client.get(f"/api/v1/tickets/{ticket['token']}").json()
    assert (view["status"], view["counter"]) == ("called", 1)
    assert act(agent, "start").json()["ticket"]["status"] == "serving"
    finished = act(agent, "finish").json()
    assert finished["ticket"]["status"] == "done"
    assert finished["counter"]["ticket"] is None


def test_next_is_204_when_nobody_waits(agent: TestClient) -> None:
    act(agent, "open")
    response = act(agent, "next")
    assert response.status_code == 204
    assert response.content == b""


def test_next_refuses_while_a_ticket_is_in_hand(client: TestClient, agent: TestClient) -> None:
    take_ticket(client)
    take_ticket(client)
    act(agent, "open")
    act(agent, "next")
    response = act(agent, "next")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "counter_busy"


def test_next_calls_only_the_services_the_counter_serves(client: TestClient, agent: TestClient) -> None:
    take_ticket(client, "PP")  # counter 1 serves CR, FS, NC
    fs = take_ticket(client, "FS")
    act(agent, "open")
    assert act(agent, "next").json()["ticket"]["number"] == fs["number"]


def test_another_agent_cannot_take_a_held_counter(
    client: TestClient, app: Starlette, agent: TestClient
) -> None:
    act(agent, "open")
    with sign_in(app, "agent2") as other:
        response = act(other, "open")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "counter_taken"
        assert act(other, "next").json()["error"]["code"] == "counter_taken"


def test_actions_on_a_closed_counter_are_refused(agent: TestClient) -> None:
    act(agent, "open")
    act(agent, "close")
    response = act(agent, "next")
    assert response.status_code == 409
    assert response.json()["error"]["code"] in {"counter_closed", "counter_taken"}


def test_a_paused_counter_calls_nobody_until_it_resumes(client: TestClient, agent: TestClient) -> None:
    take_ticket(client)
    act(agent, "open")
    assert act(agent, "pause", reason="prayer").json()["counter"]["status"] == "paused"
    refused = act(agent, "next")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "counter_paused"
    act(agent, "resume")
    assert act(agent, "next").status_code == 200


def test_no_show_needs_two_calls_and_a_minute(
    client: TestClient, agent: TestClient, clock: VirtualClock
) -> None:
    take_ticket(client)
    act(agent, "open")
    act(agent, "next")
    clock.advance(90)
    too_early = act(agent, "no-show")
    assert too_early.status_code == 409
    assert too_early.json()["error"] == {
        "code": "no_show_too_early",
        "message": "لتسجيل الغياب يلزم 2 نداء و60 ثانية منذ النداء الأول؛ لهذه البطاقة 1 نداء و90 ثانية",
    }
    english = agent.post("/api/v1/centres/DAM-01/counters/1/no-show", headers={"Accept-Language": "en"})
    assert english.json()["error"]["message"] == (
        "no-show needs 2 calls and 60 s since the first; this ticket has 1 calls and 90 s"
    )
    assert act(agent, "recall").json()["ticket"]["calls"] == 2
    assert act(agent, "no-show").json()["ticket"]["status"] == "no_show"


def test_two_quick_calls_are_not_enough_for_a_no_show(
    client: TestClient, agent: TestClient, clock: VirtualClock
) -> None:
    take_ticket(client)
    act(agent, "open")
    act(agent, "next")
    clock.advance(20)
    act(agent, "recall")
    assert act(agent, "no-show").json()["error"]["code"] == "no_show_too_early"


def test_a_transfer_keeps_the_arrival_time(
    client: TestClient, app: Starlette, agent: TestClient, clock: VirtualClock
) -> None:
    early = take_ticket(client, "CR")
    clock.advance(60)
    later_id = take_ticket(client, "ID")
    act(agent, "open")
    act(agent, "next")  # the CR ticket
    moved = act(agent, "transfer", service="ID").json()["ticket"]
    assert (moved["number"], moved["service"], moved["status"]) == (early["number"], "ID", "waiting")
    view = client.get(f"/api/v1/tickets/{early['token']}").json()
    assert view["position"] == 1  # ahead of the ID ticket taken after it
    assert client.get(f"/api/v1/tickets/{later_id['token']}").json()["position"] == 2


def test_the_new_windows_calls_alone_count_towards_a_no_show(
    client: TestClient, agent: TestClient, clock: VirtualClock
) -> None:
    take_ticket(client, "CR")
    act(agent, "open")
    act(agent, "next")
    clock.advance(60)
    act(agent, "recall")  # two calls and a minute: a no-show here would be allowed
    act(agent, "transfer", service="FS")  # counter 1 serves FS too: the same window calls again
    assert act(agent, "next").json()["ticket"]["calls"] == 3
    clock.advance(60)
    assert act(agent, "no-show").json()["error"]["code"] == "no_show_too_early"
    act(agent, "recall")
    assert act(agent, "no-show").json()["ticket"]["status"] == "no_show"


def test_the_migration_counts_the_calls_made_before_a_transfer(
    client: TestClient, agent: TestClient, database: Database, clock: VirtualClock
) -> None:
    """Migration 0016 turns the time a ticket was transferred into the number of calls before it."""
    ticket = take_ticket(client, "CR")
    act(agent, "open")
    act(agent, "next")
    clock.advance(60)
    act(agent, "recall")
    clock.advance(5)
    act(agent, "transfer", service="ID")
    config = schema.alembic_config(database)
    command.downgrade(config, "0015")  # the ticket keeps only the time of its transfer
    command.upgrade(config, "head")
    with database.read() as session:
        migrated = session.exec(select(Ticket).where(Ticket.token == ticket["token"])).one()
        assert (len(migrated.call_times), migrated.earlier_calls) == (2, 2)


def test_transfer_to_a_service_the_centre_does_not_offer_is_422(client: TestClient) -> None:
    with sign_in(client.app, "agent3") as agent:  # type: ignore[arg-type]
        client.post(
            "/api/v1/centres/DAM-02/tickets",
            json={"service": "CR", "channel": "kiosk"},
            headers={"Authorization": "Bearer demo-kiosk-DAM-02"},
        )
        counter = "/api/v1/centres/DAM-02/counters/1"
        act(agent, "open", counter)
        act(agent, "next", counter)
        response = act(agent, "transfer", counter, service="VT")
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "service_not_offered"


def test_out_of_order_call_needs_a_reason_and_is_logged(
    client: TestClient, agent: TestClient, database: Database
) -> None:
    take_ticket(client)
    second = take_ticket(client)
    act(agent, "open")
    assert act(agent, "call", number=second["number"]).status_code == 422
    called = act(agent, "call", number=second["number"], reason="wheelchair user at the door")
    assert called.json()["ticket"]["number"] == second["number"]
    with database.read() as session:
        event = session.exec(select(Event).where(Event.type == "called")).one()
    assert event.data["out_of_order"] is True
    assert event.data["reason"] == "wheelchair user at the door"
    assert event.actor == "staff:agent1"


def test_out_of_order_call_of_an_unknown_number_is_409(agent: TestClient) -> None:
    act(agent, "open")
    response = act(agent, "call", number="A-999", reason="testing the counter")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ticket_not_waiting"


def test_illegal_move_is_409_invalid_transition(client: TestClient, agent: TestClient) -> None:
    take_ticket(client)
    act(agent, "open")
    act(agent, "next")
    response = act(agent, "finish")  # called, not serving yet
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"


def test_a_counter_cannot_close_with_a_ticket_in_hand(client: TestClient, agent: TestClient) -> None:
    take_ticket(client)
    act(agent, "open")
    act(agent, "next")
    assert act(agent, "close").json()["error"]["code"] == "counter_busy"


def test_counter_actions_need_a_session_and_a_csrf_token(client: TestClient, app: Starlette) -> None:
    assert client.post(f"{COUNTER_1}/open").status_code == 401
    with sign_in(app, "agent1") as agent:
        del agent.headers["X-CSRF-Token"]
        response = act(agent, "open")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "csrf_failed"


def test_an_agent_of_another_centre_is_refused(app: Starlette, client: TestClient) -> None:
    with sign_in(app, "agent3") as other:  # works at DAM-02
        assert act(other, "open").status_code == 403
        assert other.get("/api/v1/centres/DAM-01/counters").status_code == 403


def test_counters_list_shows_state_and_agent(client: TestClient, agent: TestClient) -> None:
    take_ticket(client)
    act(agent, "open")
    act(agent, "next")
    counters = {c["number"]: c for c in agent.get("/api/v1/centres/DAM-01/counters").json()}
    assert counters[1]["status"] == "open"
    assert counters[1]["agent"] == "agent1"
    assert counters[1]["ticket"]["number"] == "A-001"
    assert counters[2]["status"] == "closed"
    assert counters[1]["services"] == ["CR", "FS", "NC"]


def test_each_change_is_logged_with_a_rising_seq(
    client: TestClient, agent: TestClient, database: Database, clock: VirtualClock
) -> None:
    take_ticket(client)
    for action in ("open", "next", "recall", "start", "finish", "close"):
        if action == "recall":
            clock.advance(RECALL_AFTER_S)
        act(agent, action)
    with database.read() as session:
        events = session.exec(
            select(Event).where(col(Event.centre_id).is_not(None)).order_by(Event.seq)
        ).all()
    assert [e.type for e in events] == [
        "issued",
        "counter_opened",
        "called",
        "recalled",
        "started",
        "finished",
        "counter_closed",
    ]
    assert [e.seq for e in events] == list(range(1, 8))


def test_events_are_published_on_the_bus_after_commit(
    client: TestClient, agent: TestClient, app: Starlette
) -> None:
    received: list[dict] = []  # type: ignore[type-arg]

    async def listen_while_calling() -> None:
        async with app.state.bus.subscribe("centre:DAM-01") as messages:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, take_ticket, client)
            received.append(await asyncio.wait_for(anext(messages), 5))

    client.portal.call(listen_while_calling)  # type: ignore[union-attr]
    assert received[0]["type"] == "issued"
    assert received[0]["number"] == "A-001"
    assert received[0]["seq"] == 1


def test_each_answer_shows_the_counter_as_a_fresh_read_does(
    client: TestClient, agent: TestClient, clock: VirtualClock
) -> None:
    """The counter in an action's answer comes from what the action did; a read of the centre's
    counters just after must show the same."""
    for _ in range(3):
        take_ticket(client)

    def answered_and_read(action: str, **body: object) -> tuple[object, object]:
        answer = act(agent, action, **body)
        assert answer.status_code == 200, answer.text
        listed = agent.get("/api/v1/centres/DAM-01/counters").json()
        return answer.json()["counter"], next(c for c in listed if c["number"] == 1)

    steps: list[tuple[str, dict[str, object]]] = [
        ("open", {}),
        ("next", {}),
        ("recall", {}),
        ("start", {}),
        ("finish", {}),
        ("next", {}),
        ("transfer", {"service": "FS"}),
        ("next", {}),
        ("pause", {"reason": "printer jam"}),
        ("resume", {}),
        ("recall", {}),
    ]
    for action, body in steps:
        if action == "recall":
            clock.advance(RECALL_AFTER_S)
        answered, read = answered_and_read(action, **body)
        assert answered == read, action
    clock.advance(120)
    answered, read = answered_and_read("no-show")
    assert answered == read and answered["ticket"] is None  # type: ignore[index]
