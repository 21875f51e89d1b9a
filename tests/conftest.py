"""Fixtures: every test gets a fresh database, on SQLite and again on a real PostgreSQL."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from argon2 import PasswordHasher
from sqlalchemy import MetaData, Table, create_engine, text, update
from sqlalchemy.pool import NullPool
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from config.settings import Settings
from organisation import accounts
from organisation.models import Staff
from organisation.seed import seed_demo
from server import schema
from server.app import create_app
from sms_gateway.models import SmsMessage
from tests.integration.helpers import drop_templates

POSTGRES_ADMIN = os.environ.get("DOR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
# Still argon2, with the cheapest parameters: sign-ins in tests take microseconds, not 0.1 s.
CHEAP_ARGON2 = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
SEED_TIME = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
BACKENDS = ["sqlite", "postgresql"]


@dataclass
class Template:
    """A migrated (and perhaps seeded) database that each test copies."""

    backend: str
    location: str  # SQLite file path, or PostgreSQL database name
    # PostgreSQL: the template's rows and sequences, and the copies finished tests gave back. A copy
    # is used again once its rows are put back as the template's (10-30 ms): making a new one
    # (`CREATE DATABASE … TEMPLATE`) took 0.05 s on an idle server and 0.3 s among running tests.
    contents: Contents | None = None
    free: list[str] = field(default_factory=list)

    def clone(self, tmp_path: Path) -> tuple[str, str]:
        """A fresh copy: its URL, and its name to give back afterwards (PostgreSQL)."""
        if self.backend == "sqlite":
            target = tmp_path / "dor.sqlite3"
            shutil.copyfile(self.location, target)
            return f"sqlite:///{target}", ""
        assert self.contents is not None
        # Each test's copy is a new database to the application, however often it is used: what the
        # application keeps by database (booking/places.py's past days) must not be another test's.
        fresh = f"?application_name=dor-test-{uuid.uuid4().hex[:12]}"
        while self.free:
            name = self.free.pop()
            if self.contents.restore(name):
                return _pg_url(name) + fresh, name
            _drop(name)  # a test changed its schema (a migration's downgrade)
        name = f"dor_test_{uuid.uuid4().hex[:12]}"
        _admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.location}"')
        return _pg_url(name) + fresh, name


@dataclass
class Contents:
    """What a PostgreSQL template holds, to put back in a copy a test has used."""

    revision: str
    tables: list[Table]  # parents first
    rows: dict[str, list[dict[str, Any]]]
    sequences: dict[str, int | None]  # None: never used

    @classmethod
    def of(cls, url: str) -> Contents:
        engine = create_engine(url)
        try:
            metadata = MetaData()
            metadata.reflect(engine)
            tables = [t for t in metadata.sorted_tables if t.name != "alembic_version"]
            with engine.connect() as connection:
                revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
                rows = {t.name: [dict(r._mapping) for r in connection.execute(t.select())] for t in tables}
                sequences: dict[str, int | None] = dict(
                    connection.execute(
                        text("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")
                    ).all()
                )
        finally:
            engine.dispose()
        return cls(revision, tables, rows, sequences)

    def restore(self, name: str) -> bool:
        """Puts the template's rows and sequences back in the copy `name`; False if its schema is no
        longer the template's."""
        engine = create_engine(_pg_url(name), poolclass=NullPool)
        try:
            with engine.begin() as connection:
                revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
                if revision != self.revision:
                    return False
                for table in reversed(self.tables):
                    connection.execute(table.delete())
                for table in self.tables:
                    if self.rows[table.name]:
                        connection.execute(table.insert(), self.rows[table.name])
                for sequence, value in self.sequences.items():
                    connection.execute(
                        text("SELECT setval(CAST(:name AS regclass), :value, :called)"),
                        {"name": sequence, "value": value or 1, "called": value is not None},
                    )
        finally:
            engine.dispose()
        return True


def _pg_url(name: str) -> str:
    base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}"


def _admin(sql: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
        connection.execute(sql.encode())


def _build_template(backend: str, folder: Path, *, seeded: bool) -> Template:
    label = "seeded" if seeded else "empty"
    if backend == "sqlite":
        path = folder / f"template-{label}.sqlite3"
        url, location = f"sqlite:///{path}", str(path)
    else:
        location = f"dor_tpl_{label}_{os.getpid()}"
        _admin(f'DROP DATABASE IF EXISTS "{location}"')
        _admin(f'CREATE DATABASE "{location}"')
        url = _pg_url(location)
    database = Database(url)
    schema.upgrade(database)
    if seeded:
        with database.write() as session:
            seed_demo(session, now=SEED_TIME)
            session.execute(update(Staff).values(password_hash=CHEAP_ARGON2.hash("demo")))
    if backend == "sqlite":
        with database.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    return Template(backend, location, Contents.of(url) if backend == "postgresql" else None)


class Templates:
    """Builds each template once per test session, on first use, and drops them at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.built: dict[tuple[str, bool], Template] = {}

    def get(self, backend: str, *, seeded: bool) -> Template:
        if (backend, seeded) not in self.built:
            self.built[(backend, seeded)] = _build_template(backend, self.folder, seeded=seeded)
        return self.built[(backend, seeded)]

    def drop(self) -> None:
        """Drops the copies and the templates."""
        for template in self.built.values():
            for name in template.free:
                _drop(name)
            if template.backend == "postgresql":
                _drop(template.location)


def _drop(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    store = Templates(tmp_path_factory.mktemp("templates"))
    yield store
    store.drop()


def pytest_sessionfinish() -> None:
    drop_templates()  # those the integration tests prepared with the CLI


@pytest.fixture(autouse=True)
def cheap_dummy_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sign-in as nobody checks its password against a dummy hash at full cost (0.1-0.5 s); in the
    app under test it is as cheap as the demo passwords."""
    monkeypatch.setattr(accounts, "_DUMMY_HASH", CHEAP_ARGON2.hash("x"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _database(templates: Templates, backend: str, tmp_path: Path, seeded: bool) -> Iterator[Database]:
    template = templates.get(backend, seeded=seeded)
    url, name = template.clone(tmp_path)
    database = Database(url)
    yield database
    database.dispose()
    if name:
        template.free.append(name)


@pytest.fixture
def empty_database(templates: Templates, backend: str, tmp_path: Path) -> Iterator[Database]:
    """A migrated database with no rows."""
    yield from _database(templates, backend, tmp_path, seeded=False)


@pytest.fixture
def database(templates: Templates, backend: str, tmp_path: Path) -> Iterator[Database]:
    """A migrated database holding the demo organisation."""
    yield from _database(templates, backend, tmp_path, seeded=True)


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database.url.render_as_string(hide_password=False),
        dev=True,
        data_dir=str(tmp_path / "data"),
        jobs=False,  # tests drain the SMS outbox themselves, on the virtual clock
    )


class VirtualClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


# Sunday 29 November 2026, 09:00 in Damascus: the demo centres are open.
OPEN_HOURS = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
KIOSK = {"Authorization": "Bearer demo-kiosk-DAM-01"}


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(OPEN_HOURS)


@pytest.fixture
def app(settings: Settings, database: Database, clock: VirtualClock) -> Starlette:
    return create_app(settings, database=database, clock=clock)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def sign_in(
    app: Starlette, username: str, password: str = "demo", *, through: TestClient | None = None
) -> TestClient:
    """A client signed in as `username`, sending its CSRF token with every request; `through` a
    client whose lifespan runs (see `sharing`), or else on its own."""
    client = sharing(TestClient(app, raise_server_exceptions=False), through)
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client


def sharing(client: TestClient, running: TestClient | None) -> TestClient:
    """`client`, sending its requests through the event loop of `running` (a client inside its `with`,
    whose lifespan runs), as a real server's clients share its loop. Outside a `with`, a TestClient
    starts a thread and a loop for every request (about 20 ms each)."""
    if running is not None:
        assert running.portal is not None, "the running client is inside its `with`"
        client.portal = running.portal
    return client


@pytest.fixture
def agent(client: TestClient, app: Starlette) -> Iterator[TestClient]:
    """agent1 of DAM-01, signed in (the app's lifespan is running through `client`)."""
    with sign_in(app, "agent1") as signed_in:
        yield signed_in


def take_ticket(client: TestClient, service: str = "CR", **extra: object) -> dict:  # type: ignore[type-arg]
    """Issues a kiosk ticket at DAM-01 and returns its view."""
    response = client.post(
        "/api/v1/centres/DAM-01/tickets",
        json={"service": service, "channel": "kiosk", **extra},
        headers=KIOSK,
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


PHONE = "+963944123456"


def take_remote_ticket(
    client: TestClient, database: Database, phone: str = PHONE, language: str = "ar", centre: str = "DAM-01"
) -> dict:  # type: ignore[type-arg]
    """Takes a remote CR ticket as a phone would: asks for a code, reads it from the console SMS."""
    assert client.post("/api/v1/otp", json={"phone": phone, "purpose": "remote_ticket"}).status_code == 202
    with database.read() as session:
        body = session.exec(
            select(SmsMessage.body).where(SmsMessage.template == "otp").order_by(col(SmsMessage.id).desc())
        ).first()
    assert body is not None
    response = client.post(
        f"/api/v1/centres/{centre}/tickets",
        json={
            "service": "CR",
            "channel": "remote",
            "phone": phone,
            "otp": re.findall(r"\d{6}", body)[0],
            "language": language,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]
