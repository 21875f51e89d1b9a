"""Spoken calls are made only for calls that were made, and their disk cache stays within its bound."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from config.settings import Settings
from display.announcements import prune
from server.app import create_app
from tests.conftest import VirtualClock, sign_in, take_ticket

COUNTER_1 = "/api/v1/centres/DAM-01/counters/1"
KEEP = 3


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def app(database: Database, clock: VirtualClock, data_dir: Path) -> Starlette:
    settings = Settings(
        database_url=database.url.render_as_string(hide_password=False),
        dev=True,
        data_dir=str(data_dir),
        jobs=False,
        announcement_cache_files=KEEP,
    )
    return create_app(settings, database=database, clock=clock)


@pytest.fixture
def agent(client: TestClient, app: Starlette) -> Iterator[TestClient]:
    """agent1 at counter 1 of DAM-01, open."""
    with sign_in(app, "agent1") as signed_in:
        assert signed_in.post(f"{COUNTER_1}/open").status_code == 200
        yield signed_in


def call_next(client: TestClient, agent: TestClient) -> str:
    """A new ticket, called to counter 1: its number."""
    take_ticket(client)
    response = agent.post(f"{COUNTER_1}/next")
    assert response.status_code == 200, response.text
    return str(response.json()["ticket"]["number"])


def finish(agent: TestClient) -> None:
    assert agent.post(f"{COUNTER_1}/start").status_code == 200
    assert agent.post(f"{COUNTER_1}/finish").status_code == 200


def audio(client: TestClient, number: str, counter: int) -> int:
    return client.get(f"/api/v1/centres/DAM-01/announcements/{number}.wav?counter={counter}").status_code


def cached(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "audio").glob("*")) if (data_dir / "audio").exists() else []


def test_a_call_that_was_not_made_is_404_and_writes_nothing(
    client: TestClient, agent: TestClient, data_dir: Path
) -> None:
    take_ticket(client)  # waiting, not called
    response = client.get("/api/v1/centres/DAM-01/announcements/A-001.wav?counter=1")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert [audio(client, f"A-{n:03d}", 1) for n in range(2, 6)] == [404] * 4
    assert cached(data_dir) == []


@pytest.mark.parametrize(
    ("number", "answer"),
    [
        ("A-%00", (422, "invalid_input")),  # no path parameter may hold a NUL (config/web/endpoints.py)
        ("A-0001%27%20OR%201=1", (404, "not_found")),
        ("A-" + "1" * 300, (404, "not_found")),
        ("a-001", (404, "not_found")),
    ],
)
def test_a_number_that_no_ticket_can_have_is_refused(
    client: TestClient, number: str, answer: tuple[int, str], data_dir: Path
) -> None:
    response = client.get(f"/api/v1/centres/DAM-01/announcements/{number}.wav?counter=1")
    assert (response.status_code, response.json()["error"]["code"]) == answer
    assert cached(data_dir) == []


def test_a_call_is_announced_only_at_the_counter_it_was_made_to(
    client: TestClient, agent: TestClient, data_dir: Path
) -> None:
    number = call_next(client, agent)
    assert audio(client, number, 2) == 404
    assert cached(data_dir) == []
    assert audio(client, number, 1) == 200
    assert len(cached(data_dir)) == 1


def test_yesterdays_call_is_not_announced(client: TestClient, agent: TestClient, clock: VirtualClock) -> None:
    number = call_next(client, agent)
    clock.advance(24 * 3600)
    assert audio(client, number, 1) == 404


def test_the_cache_never_holds_more_than_its_bound(
    client: TestClient, agent: TestClient, data_dir: Path
) -> None:
    for _ in range(KEEP + 3):
        number = call_next(client, agent)
        assert audio(client, number, 1) == 200
        assert audio(client, number, 1) == 200  # the second from the cache
        assert 1 <= len(cached(data_dir)) <= KEEP
        finish(agent)
    assert len(cached(data_dir)) == KEEP
    assert all(path.suffix == ".wav" for path in cached(data_dir))  # no temporary file left behind


def test_pruning_removes_the_oldest_first_and_keeps_the_newest(tmp_path: Path) -> None:
    for n, name in enumerate(["a", "b", "c", "d", "new"]):
        path = tmp_path / f"{name}.wav"
        path.write_bytes(b"")
        # "new" has the oldest time: a clock tick shared with older files must not prune it.
        os.utime(path, ns=(0, (n + 1) * 10**9 if name != "new" else 0))
    (tmp_path / "x.tmp").write_bytes(b"")
    prune(tmp_path, keep=3, newest="new.wav")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.wav", "d.wav", "new.wav", "x.tmp"]
