"""A supervisor's controls from the wallboard: close a counter its agent left open, move an agent to
another counter, and a message on the hall displays; each for supervisors of the centre and admins
only, validated, and logged with its author."""

from __future__ import annotations

import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from eventlog.models import Event
from tests.conftest import VirtualClock, sign_in, take_ticket

BASE = "/api/v1/centres/DAM-01"
MESSAGE = {"ar": "انقطاع مؤقت في خدمة جوازات السفر", "en": "Passport service briefly interrupted"}


def logged(database: Database, kind: str) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    with database.read() as session:
        query = select(Event).where(Event.type == kind).order_by(Event.seq)  # type: ignore[arg-type]
        return [(e.actor, e.data) for e in session.exec(query).all()]


def counters(client: TestClient) -> dict[int, dict]:  # type: ignore[type-arg]
    return {c["number"]: c for c in client.get(f"{BASE}/counters").json()}


# --- closing a counter its agent left open ---------------------------------------------------------


def test_a_supervisor_closes_a_counter_its_agent_left_open_with_a_reason(
    agent: TestClient, app: Starlette, database: Database
) -> None:
    assert agent.post(f"{BASE}/counters/1/open").status_code == 200
    with sign_in(app, "supervisor1") as supervisor:
        closed = supervisor.post(f"{BASE}/counters/1/force-close", json={"reason": "left without closing"})
        assert closed.status_code == 200, closed.text
        assert closed.json() == {"centre": "DAM-01", "counter": 1, "open": False, "agent": None}
    # The agent's console finds its counter closed on its next refresh.
    assert counters(agent)[1]["status"] == "closed"
    assert counters(agent)[1]["agent"] is None
    [(actor, data)] = logged(database, "counter_closed")
    assert actor == "staff:supervisor1"
    assert data["reason"] == "left without closing" and data["counter"] == 1


def test_a_counter_with_a_ticket_in_hand_is_not_closed_by_a_supervisor(
    client: TestClient, agent: TestClient, app: Starlette, database: Database
) -> None:
    ticket = take_ticket(client)
    agent.post(f"{BASE}/counters/1/open")
    agent.post(f"{BASE}/counters/1/next")
    with sign_in(app, "supervisor1") as supervisor:
        refused = supervisor.post(
            f"{BASE}/counters/1/force-close", json={"reason": "left"}, headers={"Accept-Language": "en"}
        )
    assert refused.status_code == 409
    assert refused.json()["error"] == {
        "code": "counter_busy",
        "message": f"counter 1 has ticket {ticket['number']} in hand: finish it, transfer it or mark it "
        "no-show first",
    }
    assert counters(agent)[1]["status"] == "open"
    assert logged(database, "counter_closed") == []


def test_closing_a_counter_is_validated(agent: TestClient, app: Starlette) -> None:
    with sign_in(app, "supervisor1") as supervisor:
        for body in ({}, {"reason": "x"}, {"reason": "r" * 201}, {"reason": "gone", "extra": 1}):
            refused = supervisor.post(f"{BASE}/counters/1/force-close", json=body)
            assert (refused.status_code, refused.json()["error"]["code"]) == (422, "invalid_input"), body
        assert supervisor.post(f"{BASE}/counters/99/force-close", json={"reason": "gone"}).status_code == 404
        already = supervisor.post(f"{BASE}/counters/1/force-close", json={"reason": "gone"})
        assert (already.status_code, already.json()["error"]["code"]) == (409, "counter_closed")


# --- moving an agent --------------------------------------------------------------------------------


def test_a_supervisor_moves_an_agent_to_a_closed_counter(
    agent: TestClient, app: Starlette, database: Database
) -> None:
    assert agent.post(f"{BASE}/counters/1/open").status_code == 200
    with sign_in(app, "supervisor1") as supervisor:
        moved = supervisor.post(f"{BASE}/counters/1/move-agent", json={"to": 3, "reason": "queue at 3"})
        assert moved.status_code == 200, moved.text
        assert moved.json() == {"centre": "DAM-01", "counter": 3, "open": True, "agent": "agent1"}
    after = counters(agent)
    assert (after[1]["status"], after[1]["agent"]) == ("closed", None)
    assert (after[3]["status"], after[3]["agent"]) == ("open", "agent1")
    # The agent works at the new counter at once.
    assert agent.post(f"{BASE}/counters/3/next").status_code in (200, 204)
    [(closer, closed)] = logged(database, "counter_closed")
    [(opener, opened)] = logged(database, "counter_opened")[1:]  # after agent1's own opening
    assert closer == opener == "staff:supervisor1"
    assert closed == {"counter": 1, "reason": "queue at 3", "agent": opened["agent"], "moved_to": 3}
    assert opened == {"counter": 3, "agent": closed["agent"], "reason": "queue at 3", "moved_from": 1}


def test_an_agent_moves_only_from_an_open_counter_with_nothing_in_hand_to_a_closed_one(
    client: TestClient, agent: TestClient, app: Starlette, database: Database
) -> None:
    agent.post(f"{BASE}/counters/1/open")
    with sign_in(app, "agent2") as other:
        assert other.post(f"{BASE}/counters/2/open").status_code == 200
    with sign_in(app, "supervisor1") as supervisor:

        def move(origin: int, to: object) -> tuple[int, str]:
            answer = supervisor.post(
                f"{BASE}/counters/{origin}/move-agent", json={"to": to, "reason": "busy"}
            )
            return answer.status_code, answer.json()["error"]["code"]

        assert move(1, 2) == (409, "counter_taken")  # 2 is open
        assert move(1, 1) == (409, "counter_taken")
        assert move(3, 4) == (409, "counter_closed")  # nobody at 3
        assert move(1, 99) == (404, "not_found")
        assert move(1, "three") == (422, "invalid_input")
        assert move(1, 0) == (422, "invalid_input")
        take_ticket(client)
        agent.post(f"{BASE}/counters/1/next")
        assert move(1, 3) == (409, "counter_busy")
    after = counters(agent)
    assert (after[1]["agent"], after[3]["status"]) == ("agent1", "closed")
    assert logged(database, "counter_closed") == []


# --- access -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", f"{BASE}/counters/1/force-close", {"reason": "left"}),
        ("POST", f"{BASE}/counters/1/move-agent", {"to": 3, "reason": "busy"}),
        ("PUT", f"{BASE}/hall-message", MESSAGE),
        ("DELETE", f"{BASE}/hall-message", None),
    ],
)
def test_only_the_centres_supervisors_and_admins_use_the_controls(
    client: TestClient, agent: TestClient, app: Starlette, method: str, path: str, body: object
) -> None:
    assert agent.post(f"{BASE}/counters/1/open").status_code == 200
    with sign_in(app, "supervisor1") as supervisor:  # a message to take down
        assert supervisor.put(f"{BASE}/hall-message", json=MESSAGE).status_code == 200
    assert client.request(method, path, json=body).status_code == 401
    assert agent.request(method, path, json=body).status_code == 403
    with sign_in(app, "supervisor2") as elsewhere:  # RIF-01 and RIF-02
        assert elsewhere.request(method, path, json=body).status_code == 403
    with sign_in(app, "admin") as admin:
        assert admin.request(method, path, json=body).status_code in (200, 204)


# --- the hall message -------------------------------------------------------------------------------


def test_a_hall_message_shows_for_an_hour_by_default_then_ends(
    client: TestClient, app: Starlette, clock: VirtualClock, database: Database
) -> None:
    with sign_in(app, "supervisor1") as supervisor:
        shown = supervisor.put(f"{BASE}/hall-message", json=MESSAGE)
        assert shown.status_code == 200, shown.text
        message = shown.json()
        assert message["ends_at"] == "2026-11-29T07:00:00Z"
        assert supervisor.get(f"{BASE}/wallboard").json()["hall_message"] == message
        with client.websocket_connect("/ws/centres/DAM-01/display") as socket:
            assert socket.receive_json()["hall_message"] == message
        audio = client.get(f"{BASE}/hall-message/{message['seq']}.wav")
        assert (audio.status_code, audio.headers["content-type"]) == (200, "audio/wav")
    clock.advance(3600)
    with sign_in(app, "supervisor1") as supervisor:  # an hour idle: a new session
        assert supervisor.get(f"{BASE}/wallboard").json()["hall_message"] is None
    with client.websocket_connect("/ws/centres/DAM-01/display") as socket:
        assert socket.receive_json()["hall_message"] is None
    assert client.get(f"{BASE}/hall-message/{message['seq']}.wav").status_code == 404
    [(actor, data)] = logged(database, "hall_message")
    assert actor == "staff:supervisor1"
    assert data == {"ar": MESSAGE["ar"], "en": MESSAGE["en"], "ends_at": "2026-11-29T07:00:00+00:00"}


def test_a_hall_message_ends_at_the_time_given_and_is_cleared_early(
    client: TestClient, app: Starlette, database: Database
) -> None:
    with sign_in(app, "supervisor1") as supervisor:
        first = supervisor.put(f"{BASE}/hall-message", json={**MESSAGE, "until": "09:30"}).json()
        assert first["ends_at"] == "2026-11-29T06:30:00Z"  # 09:30 in Damascus
        second = supervisor.put(f"{BASE}/hall-message", json={"ar": "أهلاً", "en": "Welcome"}).json()
        assert supervisor.get(f"{BASE}/wallboard").json()["hall_message"]["ar"] == "أهلاً"
        # Only the current message is spoken: not the one it replaced, nor any other number.
        assert client.get(f"{BASE}/hall-message/{first['seq']}.wav").status_code == 404
        assert client.get(f"{BASE}/hall-message/abc.wav").status_code == 404
        assert supervisor.delete(f"{BASE}/hall-message").status_code == 204
        assert supervisor.get(f"{BASE}/wallboard").json()["hall_message"] is None
        assert client.get(f"{BASE}/hall-message/{second['seq']}.wav").status_code == 404
        again = supervisor.delete(f"{BASE}/hall-message")
        assert (again.status_code, again.json()["error"]["code"]) == (409, "no_hall_message")
    assert logged(database, "hall_message_cleared") == [("staff:supervisor1", {"seq": second["seq"]})]


def test_a_hall_message_is_validated(app: Starlette) -> None:
    with sign_in(app, "supervisor1") as supervisor:
        for body, field in (
            ({"en": "Hello"}, "ar"),
            ({**MESSAGE, "ar": "   "}, "ar"),
            ({**MESSAGE, "en": "x" * 201}, "en"),
            ({**MESSAGE, "en": 5}, "en"),
            ({**MESSAGE, "until": "08:59"}, "until"),  # earlier today
            ({**MESSAGE, "until": "25:00"}, "until"),
            ({**MESSAGE, "colour": "red"}, "colour"),
        ):
            refused = supervisor.put(f"{BASE}/hall-message", json=body)
            error = refused.json()["error"]
            assert (refused.status_code, error["code"], error.get("field")) == (
                422,
                "invalid_input",
                field,
            ), body
        # Line breaks and control characters do not reach the banner or the voice; 200 characters do.
        tidy = supervisor.put(f"{BASE}/hall-message", json={"ar": "سطر\nثانٍ\x07", "en": "y" * 200}).json()
        assert (tidy["ar"], len(tidy["en"])) == ("سطر ثانٍ", 200)


def test_a_hall_message_never_outlasts_its_day(app: Starlette, clock: VirtualClock) -> None:
    clock.advance(14.5 * 3600)  # 23:30 in Damascus
    with sign_in(app, "supervisor1") as supervisor:
        shown = supervisor.put(f"{BASE}/hall-message", json=MESSAGE).json()
    assert shown["ends_at"] == "2026-11-29T21:00:00Z"  # midnight in Damascus
