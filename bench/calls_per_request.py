"""Python function calls and SQL statements per request: Dor's issue and counter cycle beside a bare
Starlette endpoint, in one process.

    .venv/bin/python bench/calls_per_request.py [--backend sqlite|postgresql] [--requests 200]

On these machines the CPU time of one request varies by 2x from run to run; the number of Python
function calls it makes does not (within a few per cent: caches refilled, the odd slow path), and it
tracks Dor's CPU per request, which is what stands between Dor and the bare endpoint's throughput
(bench/ticket_engine.py measures that under load). So this benchmark counts: a profiling hook on
every thread counts Python calls (sys.setprofile "call" events, the test client's own included) while
the requests run, and an engine hook counts SQL statements.

Dor runs in this process (`create_app` on a fresh migrated, demo-seeded database: a temporary SQLite
file, or a PostgreSQL database created and dropped), always open, jobs off, driven by Starlette's
TestClient one request at a time:

- baseline  GET /status of a bare Starlette app answering {"status": "ok"}, through a TestClient too
- issue     POST /api/v1/centres/DAM-01/tickets {"service": "CR", "channel": "kiosk"} as the kiosk
- cycle     next + start + finish at counter 1 of DAM-01 as agent1, per request (3 per cycle)

Each is warmed up with 20 requests (not counted), then counted over `--requests`. The ratio is the
operation's calls per request over the baseline's: how many times the bare request's Python work
one request of Dor costs, client included. It is not the throughput target's ratio, which also
counts what no Python call shows (SQLite's fsync, the database server, the event loop under load).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import psycopg
from sqlalchemy import event
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from config.db import Database
from config.settings import Settings
from organisation.seed import seed_demo
from server import schema
from server.app import create_app

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
KIOSK = {"Authorization": "Bearer demo-kiosk-DAM-01"}
COUNTER = "/api/v1/centres/DAM-01/counters/1"
WARM_UP = 20


class Tally:
    """Python calls on every thread, and SQL statements, counted while `on`."""

    def __init__(self) -> None:
        self.on = False
        self.calls = 0
        self.statements = 0

    def profile(self, _frame: FrameType, what: str, _arg: Any) -> None:
        if self.on and what == "call":
            self.calls += 1

    def statement(self, *_args: Any) -> None:
        if self.on:
            self.statements += 1

    def count(self, requests: int, send: Callable[[], None], warm_up: int = WARM_UP) -> tuple[float, float]:
        """Calls and statements per request over `requests` sends (each one request)."""
        for _ in range(warm_up):
            send()
        self.calls = self.statements = 0
        self.on = True
        try:
            for _ in range(requests):
                send()
        finally:
            self.on = False
        return self.calls / requests, self.statements / requests


@contextmanager
def database_url(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/dor.sqlite3"
        return
    name = f"dor_calls_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield PG_URL.format(name=name)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def expect(status: int, response: Any) -> None:
    if response.status_code != status:
        raise SystemExit(
            f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
        )


def issue(client: TestClient) -> None:
    body = {"service": "CR", "channel": "kiosk"}
    expect(201, client.post("/api/v1/centres/DAM-01/tickets", json=body, headers=KIOSK))


def bare_app() -> Starlette:
    async def status(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/status", status)])


def measure(backend: str, requests: int) -> list[tuple[str, float, float]]:
    tally = Tally()
    # Before any thread starts: threads started later (the app's workers) inherit the hook.
    threading.setprofile(tally.profile)
    sys.setprofile(tally.profile)
    try:
        with database_url(backend) as url, tempfile.TemporaryDirectory() as data:
            database = Database(url)
            schema.upgrade(database)
            with database.write() as session:
                seed_demo(session, now=datetime.now(UTC))
            event.listen(database.engine, "before_cursor_execute", tally.statement)
            settings = Settings(database_url=url, dev=True, always_open=True, jobs=False, data_dir=data)
            rows = []
            with TestClient(bare_app()) as bare:
                calls, _ = tally.count(requests, lambda: expect(200, bare.get("/status")))
                rows.append(("baseline GET /status (bare Starlette)", calls, 0.0))
            with TestClient(create_app(settings, database=database)) as client:
                rows.append(("issue POST /tickets", *tally.count(requests, lambda: issue(client))))
                login = client.post("/api/v1/auth/login", json={"username": "agent1", "password": "demo"})
                expect(200, login)
                client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
                expect(200, client.post(f"{COUNTER}/open"))
                steps = iter(["next", "start", "finish"] * (requests + WARM_UP))

                def step() -> None:
                    expect(200, client.post(f"{COUNTER}/{next(steps)}"))

                counted = tally.count(3 * requests, step, warm_up=21)  # whole cycles
                rows.append(("cycle next/start/finish (per request)", *counted))
            database.dispose()
            return rows
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    rows = measure(args.backend, args.requests)
    baseline = rows[0][1]
    print(f"{args.backend}, {args.requests} requests each, counted after {WARM_UP} to warm up")
    print(f"| {'operation':<40} | {'Python calls/req':>16} | {'SQL stmts/req':>13} | {'x bare':>10} |")
    print(f"| {'-' * 40} | {'-' * 16} | {'-' * 13} | {'-' * 10} |")
    for name, calls, statements in rows:
        print(f"| {name:<40} | {calls:>16,.0f} | {statements:>13.1f} | {calls / baseline:>10.2f} |")


if __name__ == "__main__":
    main()
