"""Sign-in throttling (config/throttle.py, organisation/web/sign_in.py): an account's limit holds however many
attempts arrive at once, and a flood from one address does not refuse the staff behind it."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter as Tally
from datetime import timedelta
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import func
from sqlmodel import select
from starlette.testclient import TestClient

from config.db import Database
from config.throttle import KEEP, Limit, Throttle, forget, take
from eventlog.models import Event
from tests.conftest import BACKENDS, OPEN_HOURS, VirtualClock
from tests.integration.helpers import prepared_database, running_servers

LOGIN = "/api/v1/auth/login"
ATTEMPTS = 40
PER_USER = 5  # DOR_LOGIN_FAILURES_PER_USER as shipped
PER_ADDRESS = 20  # DOR_LOGIN_FAILURES_PER_ADDRESS as shipped


def _failed_sign_ins(database: Database) -> int:
    """The failures the servers logged: one per password checked and found wrong."""
    with database.read() as session:
        query = select(func.count()).select_from(Event).where(Event.type == "sign_in_failed")
        return int(session.exec(query).one())


def _sign_in(client: TestClient, username: str, password: str = "wrong") -> int:
    return client.post(LOGIN, json={"username": username, "password": password}).status_code


def _throttle_the_address(client: TestClient) -> None:
    """Every failure an address is allowed, each for a made-up username (so that no account's own
    limit stops them first). Tests sign in from one address, the test client's."""
    for n in range(PER_ADDRESS):
        assert _sign_in(client, f"ghost{n}") == 401


# The account's limit.


def test_a_refused_attempt_is_not_checked(client: TestClient, database: Database) -> None:
    assert [_sign_in(client, "agent1") for _ in range(8)] == [401] * PER_USER + [429] * 3
    assert _failed_sign_ins(database) == PER_USER


async def _attempts(urls: list[str], count: int) -> Tally[int]:
    """`count` wrong passwords for agent1, all in flight at once, spread over the servers."""
    clients = [httpx2.AsyncClient(base_url=u, timeout=60.0, trust_env=False) for u in urls]
    try:
        body = {"username": "agent1", "password": "not-the-password"}
        sends = [clients[n % len(clients)].post(LOGIN, json=body) for n in range(count)]
        async with asyncio.timeout(120):
            answers = await asyncio.gather(*sends)
        return Tally(a.status_code for a in answers)
    finally:
        for client in clients:
            await client.aclose()


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_wrong_passwords_check_at_most_the_limit(backend: str, tmp_path: Path) -> None:
    """Two real processes and real argon2 (0.1 s a check, which is the race's window): of 40 attempts
    at once, five are checked (401) and the others refused unchecked (429)."""
    with prepared_database(backend, tmp_path) as prepared:
        with running_servers(prepared.url, tmp_path, 2) as servers:
            statuses = asyncio.run(_attempts([s.url for s in servers], ATTEMPTS))
        database = Database(prepared.url)
        try:
            checked = _failed_sign_ins(database)
        finally:
            database.dispose()
    assert statuses == {401: PER_USER, 429: ATTEMPTS - PER_USER}, statuses
    assert checked == PER_USER


# The address's limit.


def test_a_flooded_address_still_signs_in_another_accounts_right_password(client: TestClient) -> None:
    _throttle_the_address(client)
    assert _sign_in(client, "agent1", "demo") == 200


def test_from_a_throttled_address_each_account_is_checked_once_a_window(
    client: TestClient, database: Database
) -> None:
    _throttle_the_address(client)
    assert _sign_in(client, "ghost-new") == 401
    refused = client.post(LOGIN, json={"username": "ghost-new", "password": "wrong"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_attempts"
    assert 0 < int(refused.headers["Retry-After"]) <= 900
    assert _failed_sign_ins(database) == PER_ADDRESS + 1


def test_an_address_below_its_limit_leaves_each_account_its_own(client: TestClient) -> None:
    for n in range(PER_ADDRESS - PER_USER):
        assert _sign_in(client, f"ghost{n}") == 401
    assert [_sign_in(client, "ghost-new") for _ in range(PER_USER + 1)] == [401] * PER_USER + [429]


def test_a_throttled_address_has_its_tries_back_after_the_window(
    client: TestClient, clock: VirtualClock
) -> None:
    _throttle_the_address(client)
    assert [_sign_in(client, "agent2") for _ in range(2)] == [401, 429]
    clock.advance(901)
    assert [_sign_in(client, "agent2") for _ in range(2)] == [401, 401]


# `take`: the OTP send caps and the sign-in's attempts.

HOUR = Limit(failures=3, window=timedelta(hours=1))


def test_take_refuses_past_the_limit_without_counting(database: Database) -> None:
    with database.write() as session:
        taken = [take(session, key="k", limit=HOUR, now=OPEN_HOURS) for _ in range(5)]
        assert taken == [None, None, None, 3600, 3600]
        row = session.get(Throttle, "k")
        assert row is not None and row.failures == HOUR.failures


def test_take_starts_a_new_window_when_the_last_is_over(database: Database) -> None:
    later = OPEN_HOURS + HOUR.window
    with database.write() as session:
        for _ in range(HOUR.failures):
            take(session, key="k", limit=HOUR, now=OPEN_HOURS)
        assert take(session, key="k", limit=HOUR, now=later - timedelta(seconds=1)) == 1
        assert take(session, key="k", limit=HOUR, now=later) is None
        row = session.get(Throttle, "k")
        assert row is not None and (row.failures, row.window_started_at) == (1, later)


def test_take_holds_when_uses_arrive_together(database: Database) -> None:
    """Each thread has its own connection and transaction: the database, not Python, settles them."""
    threads = 20
    start = threading.Barrier(threads)
    taken: list[int | None] = []

    def use() -> None:
        start.wait()
        with database.write() as session:
            wait = take(session, key="otp:address:192.0.2.1", limit=HOUR, now=OPEN_HOURS)
        taken.append(wait)  # list.append is atomic

    workers = [threading.Thread(target=use) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert Tally(taken) == {None: HOUR.failures, 3600: threads - HOUR.failures}


def test_counts_are_forgotten_once_their_windows_are_over(client: TestClient, database: Database) -> None:
    """Usernames and addresses are the caller's to make up: their counts do not outlive the windows."""
    _throttle_the_address(client)
    with database.write() as session:
        assert forget(session, before=OPEN_HOURS) == 0  # every window is still running
        assert forget(session, before=OPEN_HOURS + KEEP) == PER_ADDRESS + 1  # each username, the address
        assert session.exec(select(func.count()).select_from(Throttle)).one() == 0
