""" "I'm running late": a waiting ticket lets the next three people of its queue go first, once."""

from datetime import UTC, datetime, timedelta

from sqlmodel import select
from starlette.testclient import TestClient

from config.db import Database
from eventlog.models import Event
from queueing.policy import Candidate, PolicyConfig, Priority, arrival_just_after, ordered
from tests.conftest import VirtualClock, take_ticket


def late(client: TestClient, token: str, language: str = "en") -> tuple[int, dict]:  # type: ignore[type-arg]
    response = client.post(f"/api/v1/tickets/{token}/late", headers={"Accept-Language": language})
    return response.status_code, response.json()


def ahead(client: TestClient, ticket: dict) -> int:  # type: ignore[type-arg]
    return int(client.get(f"/api/v1/tickets/{ticket['token']}").json()["ahead"])


def test_a_late_ticket_goes_behind_the_next_three_and_they_each_move_up_one(
    client: TestClient, clock: VirtualClock
) -> None:
    tickets = []
    for _ in range(5):
        tickets.append(take_ticket(client))
        clock.advance(30)
    mine, *others = tickets
    assert (mine["ahead"], mine["can_move_back"], mine["moved_back"]) == (0, True, 0)
    status, view = late(client, mine["token"])
    assert status == 200, view
    assert (view["ahead"], view["position"], view["moved_back"], view["can_move_back"]) == (3, 4, 3, False)
    assert [ahead(client, t) for t in others] == [0, 1, 2, 4]


def test_the_counter_calls_the_three_first(
    client: TestClient, agent: TestClient, clock: VirtualClock
) -> None:
    tickets = []
    for _ in range(5):
        tickets.append(take_ticket(client))
        clock.advance(30)
    assert late(client, tickets[0]["token"])[0] == 200
    assert agent.post("/api/v1/centres/DAM-01/counters/1/open").status_code == 200
    called = []
    for _ in range(5):
        response = agent.post("/api/v1/centres/DAM-01/counters/1/next")
        called.append(response.json()["ticket"]["number"])
        assert agent.post("/api/v1/centres/DAM-01/counters/1/start").status_code == 200
        assert agent.post("/api/v1/centres/DAM-01/counters/1/finish").status_code == 200
    assert called == [tickets[i]["number"] for i in (1, 2, 3, 0, 4)]


def test_once_only_and_the_refusal_is_in_the_readers_language(
    client: TestClient, database: Database, clock: VirtualClock
) -> None:
    tickets = []
    for _ in range(6):
        tickets.append(take_ticket(client))
        clock.advance(30)
    assert late(client, tickets[0]["token"])[0] == 200
    status, body = late(client, tickets[0]["token"], language="ar")
    assert status == 409
    assert body["error"]["code"] == "already_moved_back"
    assert tickets[0]["number"] in body["error"]["message"] and "مرة" in body["error"]["message"]
    assert ahead(client, tickets[0]) == 3  # not moved again
    with database.read() as session:
        events = session.exec(select(Event).where(Event.type == "moved_back")).all()
    assert [(e.actor, e.data["number"], e.data["places"]) for e in events] == [
        ("citizen", tickets[0]["number"], 3)
    ]


def test_fewer_behind_moves_back_fewer_places(client: TestClient, clock: VirtualClock) -> None:
    mine = take_ticket(client)
    clock.advance(30)
    take_ticket(client)
    status, view = late(client, mine["token"])
    assert status == 200, view
    assert (view["ahead"], view["moved_back"]) == (1, 1)


def test_the_last_in_line_has_nobody_to_let_go_first_and_keeps_its_chance(client: TestClient) -> None:
    mine = take_ticket(client)
    status, body = late(client, mine["token"])
    assert (status, body["error"]["code"]) == (409, "nobody_behind")
    take_ticket(client)
    assert late(client, mine["token"])[0] == 200


def test_only_a_waiting_ticket_can_move_back(client: TestClient) -> None:
    mine = take_ticket(client)
    take_ticket(client)
    assert client.delete(f"/api/v1/tickets/{mine['token']}").status_code == 200
    status, body = late(client, mine["token"])
    assert (status, body["error"]["code"]) == (409, "ticket_not_waiting")
    assert client.get(f"/api/v1/tickets/{mine['token']}").json()["can_move_back"] is False


def test_an_unknown_ticket_is_404(client: TestClient) -> None:
    assert client.post("/api/v1/tickets/nope/late").status_code == 404


# --- the arrival that puts a ticket right after another, whatever their classes --------------------

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
CONFIG = PolicyConfig()


def candidate(ticket_id: int, minutes_ago: float, priority: Priority = Priority.NONE) -> Candidate:
    return Candidate(ticket_id, 1, NOW - timedelta(minutes=minutes_ago), priority)


def order_after_move(queue: list[Candidate], mover: int, after: int) -> list[int]:
    me = next(c for c in queue if c.ticket_id == mover)
    other = next(c for c in queue if c.ticket_id == after)
    arrival = arrival_just_after(me, other, now=NOW, config=CONFIG)
    moved = [Candidate(c.ticket_id, 1, arrival, c.priority) if c is me else c for c in queue]
    return [c.ticket_id for c in ordered(moved, weights={1: 1.0}, now=NOW, config=CONFIG)]


def test_a_move_lands_right_after_the_chosen_ticket_across_priority_classes() -> None:
    queue = [
        candidate(1, 30),
        candidate(2, 5, Priority.ELDERLY),  # 15 min head start: level with 20 min waited
        candidate(3, 25),
        candidate(4, 10),
        candidate(5, 2, Priority.PREGNANT),
    ]
    assert [c.ticket_id for c in ordered(queue, weights={1: 1.0}, now=NOW, config=CONFIG)] == [1, 3, 2, 5, 4]
    assert order_after_move(queue, mover=1, after=5) == [3, 2, 5, 1, 4]
    # Its 15-minute head start outscores ticket 4 whenever it arrives: it goes as far as a newcomer.
    assert order_after_move(queue, mover=2, after=4) == [1, 3, 5, 2, 4]


def test_an_aged_ticket_moving_back_stops_being_aged_until_it_is_again() -> None:
    queue = [candidate(1, 95), candidate(2, 80, Priority.ELDERLY), candidate(3, 60)]
    assert order_after_move(queue, mover=1, after=3) == [2, 3, 1]
    queue = [candidate(1, 100), candidate(2, 92), candidate(3, 10)]
    assert order_after_move(queue, mover=1, after=2) == [2, 1, 3]


def test_the_trackers_of_those_let_go_first_move_up_live(client: TestClient, clock: VirtualClock) -> None:
    tickets = []
    for _ in range(3):
        tickets.append(take_ticket(client))
        clock.advance(30)
    with client.websocket_connect(f"/ws/tickets/{tickets[1]['token']}") as ws:
        assert ws.receive_json()["ahead"] == 1
        assert late(client, tickets[0]["token"])[0] == 200
        assert ws.receive_json()["ahead"] == 0
