"""A server killed with SIGKILL while tickets are being issued loses no ticket it answered 201 for,
and numbering carries on after the restart."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import func
from sqlmodel import col, select

from config.db import Database
from organisation.models import Centre
from queueing.models import Ticket
from tests.integration.helpers import (
    CENTRE,
    issue_ticket,
    prepared_database,
    running_servers,
    start_server,
)

pytestmark = pytest.mark.slow

REQUESTS = 200
THREADS = 50
KILL_AFTER = 80  # 201 answers before the kill


def _sequence(number: str) -> int:
    """A-081 -> 81."""
    return int(number.split("-", 1)[1])


def test_kill_9_loses_no_issued_ticket(backend: str, tmp_path: Path) -> None:
    with prepared_database(backend, tmp_path) as prepared:
        issued: list[tuple[str, str]] = []  # (number, token) of every 201
        unexpected: list[str] = []
        lock = threading.Lock()
        killed = threading.Event()
        cut_off: list[Exception] = []

        server = start_server(prepared.url, tmp_path, name="doomed")
        try:
            limits = httpx2.Limits(max_connections=THREADS, max_keepalive_connections=THREADS)
            with httpx2.Client(base_url=server.url, timeout=30.0, limits=limits) as http:

                def one(_: int) -> None:
                    try:
                        response = issue_ticket(http)
                    except httpx2.TransportError as exc:
                        with lock:
                            if not killed.is_set():
                                unexpected.append(f"before the kill: {exc!r}")
                            elif not isinstance(exc, httpx2.ConnectError):
                                cut_off.append(exc)  # was in flight when the server died
                        return
                    with lock:
                        if response.status_code != 201:
                            unexpected.append(f"{response.status_code}: {response.text[:200]}")
                            return
                        body = response.json()
                        issued.append((body["number"], body["token"]))
                        if len(issued) == KILL_AFTER:
                            killed.set()
                            server.kill()  # while the other threads' requests are in flight

                with ThreadPoolExecutor(THREADS) as pool:
                    list(pool.map(one, range(REQUESTS)))
        finally:
            server.kill()

        assert not unexpected, unexpected
        assert killed.is_set(), f"only {len(issued)} tickets were issued; the server was never killed"
        assert cut_off, "no request was in flight when the server was killed"
        print(f"{backend}: {len(issued)} issued, {len(cut_off)} cut off by the kill")

        with (
            running_servers(prepared.url, tmp_path, 1) as [restarted],
            httpx2.Client(base_url=restarted.url, timeout=30.0) as http,
        ):
            for number, token in issued:
                response = http.get(f"/api/v1/tickets/{token}")
                assert response.status_code == 200, (number, response.status_code, response.text)
                assert response.json()["number"] == number
            after = issue_ticket(http)
            assert after.status_code == 201, after.text
            next_number = after.json()["number"]

        database = Database(prepared.url)
        try:
            with database.read() as session:
                centre = session.exec(select(Centre).where(Centre.code == CENTRE)).one()
                rows = session.exec(
                    select(col(Ticket.day), col(Ticket.number)).where(Ticket.centre_id == centre.id)
                ).all()
                duplicates = session.exec(
                    select(col(Ticket.day), col(Ticket.number), func.count())
                    .group_by(col(Ticket.centre_id), col(Ticket.day), col(Ticket.number))
                    .having(func.count() > 1)
                ).all()
        finally:
            database.dispose()

        assert not duplicates, duplicates
        assert len(rows) >= len(issued) + 1
        seen = [_sequence(n) for n, _ in issued] + [_sequence(n) for _, n in rows if n != next_number]
        assert _sequence(next_number) > max(seen), (next_number, max(seen))

        if prepared.sqlite_path is not None:
            with sqlite3.connect(prepared.sqlite_path) as connection:
                assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            connection.close()
