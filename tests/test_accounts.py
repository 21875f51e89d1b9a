"""Staff sign-in: sessions on the server, CSRF, timeouts, throttling, disabled accounts."""

from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from config.secrets import hash_token
from organisation.models import StaffSession
from tests.conftest import VirtualClock, sign_in

LOGIN = "/api/v1/auth/login"


def test_login_returns_role_centres_csrf_and_an_httponly_cookie(client: TestClient) -> None:
    response = client.post(LOGIN, json={"username": "supervisor1", "password": "demo"})
    assert response.status_code == 200
    body = response.json()
    assert (body["username"], body["role"], body["centres"]) == (
        "supervisor1",
        "supervisor",
        ["DAM-01", "DAM-02"],
    )
    assert len(body["csrf_token"]) >= 32
    cookie = response.headers["set-cookie"]
    assert "dor_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain HTTP here; set over HTTPS


def test_the_session_cookie_is_secure_over_https(app: Starlette) -> None:
    with TestClient(app, base_url="https://dor.example") as secure:
        response = secure.post(LOGIN, json={"username": "agent1", "password": "demo"})
        assert "Secure" in response.headers["set-cookie"]


def test_only_a_hash_of_the_session_id_is_stored(client: TestClient, database: Database) -> None:
    client.post(LOGIN, json={"username": "agent1", "password": "demo"})
    raw = client.cookies["dor_session"]
    with database.read() as session:
        stored = session.exec(select(StaffSession)).one()
    assert stored.id_hash == hash_token(raw)
    assert raw not in stored.id_hash


def test_each_login_gets_a_new_session_id(client: TestClient) -> None:
    client.post(LOGIN, json={"username": "agent1", "password": "demo"})
    first = client.cookies["dor_session"]
    client.post(LOGIN, json={"username": "agent1", "password": "demo"})
    assert client.cookies["dor_session"] != first


def test_unknown_user_and_wrong_password_get_the_same_answer(client: TestClient) -> None:
    wrong = client.post(LOGIN, json={"username": "agent1", "password": "nope"})
    unknown = client.post(LOGIN, json={"username": "nobody", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_logout_kills_the_session_on_the_server(app: Starlette) -> None:
    with sign_in(app, "agent1") as agent:
        cookie = agent.cookies["dor_session"]
        assert agent.post("/api/v1/auth/logout").status_code == 200
        with TestClient(app) as replay:  # someone who kept a copy of the cookie
            replay.cookies.set("dor_session", cookie)
            assert replay.get("/api/v1/auth/me").status_code == 401


def test_a_disabled_account_stops_working_at_once(app: Starlette) -> None:
    with sign_in(app, "agent2") as agent, sign_in(app, "admin") as admin:
        assert agent.get("/api/v1/auth/me").status_code == 200
        assert admin.post("/api/v1/staff/agent2/disable").status_code == 200
        assert agent.get("/api/v1/auth/me").status_code == 401
        assert agent.post(LOGIN, json={"username": "agent2", "password": "demo"}).status_code == 401


def test_idle_sessions_expire(app: Starlette, clock: VirtualClock) -> None:
    with sign_in(app, "agent1") as agent:
        clock.advance(29 * 60)
        assert agent.get("/api/v1/auth/me").status_code == 200  # activity: the idle clock restarts
        clock.advance(29 * 60)
        assert agent.get("/api/v1/auth/me").status_code == 200
        clock.advance(31 * 60)
        assert agent.get("/api/v1/auth/me").status_code == 401


def test_background_refreshes_do_not_keep_a_session_alive(app: Starlette, clock: VirtualClock) -> None:
    with sign_in(app, "agent1") as agent:
        for _ in range(4):
            clock.advance(10 * 60)
            agent.get("/api/v1/centres/DAM-01/counters", headers={"X-Dor-Background": "1"})
        assert agent.get("/api/v1/auth/me").status_code == 401


def test_sessions_end_after_the_absolute_limit_however_busy(app: Starlette, clock: VirtualClock) -> None:
    with sign_in(app, "agent1") as agent:
        for _ in range(47):  # busy every 15 minutes for 11 h 45 min
            clock.advance(15 * 60)
            assert agent.get("/api/v1/auth/me").status_code == 200
        clock.advance(15 * 60 + 1)  # 12 h after sign-in
        assert agent.get("/api/v1/auth/me").status_code == 401


def test_me_says_when_the_session_ends(app: Starlette) -> None:
    with sign_in(app, "agent1") as agent:
        me = agent.get("/api/v1/auth/me").json()
        assert me["idle_timeout_s"] == 1800
        assert me["expires_at"] == "2026-11-29T06:30:00Z"
        assert me["session_ends_at"] == "2026-11-29T18:00:00Z"


def test_an_expired_session_keeps_the_agents_counter(
    client: TestClient, app: Starlette, clock: VirtualClock
) -> None:
    with sign_in(app, "agent1") as agent:
        agent.post("/api/v1/centres/DAM-01/counters/1/open")
        clock.advance(2 * 3600)
        assert agent.post("/api/v1/centres/DAM-01/counters/1/next").status_code == 401
    with sign_in(app, "agent1") as again:
        counters = {c["number"]: c for c in again.get("/api/v1/centres/DAM-01/counters").json()}
        assert (counters[1]["status"], counters[1]["agent"]) == ("open", "agent1")
        assert again.post("/api/v1/centres/DAM-01/counters/1/next").status_code == 204


def test_repeated_failures_for_a_username_are_throttled(client: TestClient, clock: VirtualClock) -> None:
    for _ in range(5):
        assert client.post(LOGIN, json={"username": "agent1", "password": "guess"}).status_code == 401
    throttled = client.post(LOGIN, json={"username": "agent1", "password": "demo"})
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "too_many_attempts"
    assert 0 < int(throttled.headers["Retry-After"]) <= 900
    clock.advance(901)
    assert client.post(LOGIN, json={"username": "agent1", "password": "demo"}).status_code == 200


def test_a_success_clears_the_username_count(client: TestClient) -> None:
    for _ in range(4):
        client.post(LOGIN, json={"username": "agent1", "password": "guess"})
    assert client.post(LOGIN, json={"username": "agent1", "password": "demo"}).status_code == 200
    for _ in range(4):
        client.post(LOGIN, json={"username": "agent1", "password": "guess"})
    assert client.post(LOGIN, json={"username": "agent1", "password": "demo"}).status_code == 200


def test_a_mutating_request_without_csrf_token_is_403(app: Starlette) -> None:
    with sign_in(app, "agent1") as agent:
        response = agent.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "forged"})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "csrf_failed"


def test_a_nul_character_in_the_username_is_refused_not_a_crash(client: TestClient) -> None:
    """PostgreSQL cannot store NUL in text; the answer is a 4xx, never a 500."""
    response = client.post(LOGIN, json={"username": "agent\u0000", "password": "demo"})
    assert response.status_code in (401, 422)
    assert response.json()["error"]["code"] in ("invalid_credentials", "invalid_input")
