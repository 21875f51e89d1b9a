"""Real `dor` processes for the integration tests: a database prepared by the CLI, servers on free ports."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx2
import psycopg
from websockets.sync.client import ClientConnection

POSTGRES_ADMIN = os.environ.get("DOR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
DOR = [sys.executable, "-m", "server.cli"]
ROOT = Path(__file__).resolve().parents[2]
CENTRE = "DAM-01"
KIOSK = {"Authorization": f"Bearer demo-kiosk-{CENTRE}"}
STARTUP_TIMEOUT_S = 60.0
CLI_TIMEOUT_S = 120.0


def _environment(**extra: str) -> dict[str, str]:
    """The test runner's environment without any DOR_* setting of its own, plus `extra`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DOR_")}
    environment.update(extra)
    return environment


def _admin(sql: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
        connection.execute(sql.encode())


def _pg_url(name: str) -> str:
    base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}"


def run_cli(url: str, *args: str) -> None:
    """Runs `dor <args>` against the database at `url`; fails the test if it does not succeed."""
    result = subprocess.run(
        [*DOR, *args],
        env=_environment(DOR_DATABASE_URL=url, DOR_DEV="1"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, f"dor {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


@dataclass
class PreparedDatabase:
    backend: str
    url: str
    sqlite_path: Path | None = None


# `dor migrate` and `dor seed --demo` take seconds: they prepare one template per test process and
# backend, which each test copies.
_templates: dict[str, str] = {}  # backend: a SQLite file, or a PostgreSQL database


def _template(backend: str) -> str:
    if backend not in _templates:
        if backend == "sqlite":
            location = str(Path(tempfile.mkdtemp(prefix="dor-it-")) / "template.sqlite3")
            url = f"sqlite:///{location}"
        else:
            location = f"dor_it_tpl_{os.getpid()}"
            _admin(f'DROP DATABASE IF EXISTS "{location}" WITH (FORCE)')
            _admin(f'CREATE DATABASE "{location}"')
            url = _pg_url(location)
        _templates[backend] = location  # dropped at the end of the session even if the CLI fails
        run_cli(url, "migrate")
        run_cli(url, "seed", "--demo")
    return _templates[backend]


def drop_templates() -> None:
    """Drops the templates of this test process (tests/conftest.py, at the end of the session)."""
    for backend, location in _templates.items():
        if backend == "sqlite":
            shutil.rmtree(Path(location).parent)
        else:
            _admin(f'DROP DATABASE IF EXISTS "{location}" WITH (FORCE)')
    _templates.clear()


@contextmanager
def prepared_database(backend: str, tmp_path: Path) -> Iterator[PreparedDatabase]:
    """A fresh copy of a database migrated and demo-seeded by the real CLI; a PostgreSQL one is dropped
    after."""
    template = _template(backend)
    if backend == "sqlite":
        path = tmp_path / "dor.sqlite3"
        shutil.copyfile(template, path)
        database = PreparedDatabase(backend, f"sqlite:///{path}", path)
        name = ""
    else:
        name = f"dor_it_{uuid.uuid4().hex[:12]}"
        _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        database = PreparedDatabase(backend, _pg_url(name))
    try:
        yield database
    finally:
        if name:
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """One `dor serve` process."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    log_file: IO[bytes] | None = field(repr=False, default=None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL, no goodbyes: what a crash looks like."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        if self.log_file is not None:
            self.log_file.close()

    def stop(self) -> None:
        """Asks the server to stop (SIGTERM); kills it if it lingers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.log_file is not None:
            self.log_file.close()


def start_server(url: str, log_dir: Path, *, name: str = "server", **settings: str) -> Server:
    """Starts `dor serve` on a free port and waits until GET /healthz answers 200."""
    for _attempt in range(3):  # the free port may be taken between probe and bind
        port = free_port()
        log_path = log_dir / f"{name}-{port}.log"
        log = log_path.open("wb")
        process = subprocess.Popen(
            [*DOR, "serve"],
            env=_environment(
                DOR_DATABASE_URL=url,
                DOR_DEV="1",
                DOR_ALWAYS_OPEN="true",
                DOR_PORT=str(port),
                DOR_LOG_LEVEL="WARNING",
                **settings,
            ),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        server = Server(process, port, log_path, log)
        try:
            if _wait_healthy(server):
                return server
        except BaseException:
            server.kill()
            raise
        server.stop()
    raise AssertionError(f"dor serve did not start; its log:\n{server.log_tail()}")


def _wait_healthy(server: Server) -> bool:
    """Polls /healthz until 200; False if the process died (a port clash, say)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    with httpx2.Client(base_url=server.url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                return False
            try:
                if client.get("/healthz").status_code == 200:
                    return True
            except httpx2.TransportError:
                pass
            time.sleep(0.05)  # polling interval, bounded by the deadline
    raise AssertionError(f"dor serve was not healthy within {STARTUP_TIMEOUT_S} s:\n{server.log_tail()}")


@contextmanager
def running_servers(url: str, log_dir: Path, count: int, **settings: str) -> Iterator[list[Server]]:
    """`count` servers on one database, with these settings; every one of them is stopped (or
    killed) on the way out."""
    servers: list[Server] = []
    try:
        # Started at once: each takes one to two seconds, mostly its imports.
        with ThreadPoolExecutor(count) as pool:
            starting = [
                pool.submit(start_server, url, log_dir, name=f"server{index}", **settings)
                for index in range(count)
            ]
        servers.extend(future.result() for future in starting if future.exception() is None)
        for future in starting:
            future.result()  # a server that did not start fails the test, once the others are known
        yield servers
    finally:
        for server in servers:
            server.stop()


def issue_ticket(client: httpx2.Client, service: str = "CR") -> httpx2.Response:
    """A kiosk ticket at DAM-01."""
    return client.post(
        f"/api/v1/centres/{CENTRE}/tickets", json={"service": service, "channel": "kiosk"}, headers=KIOSK
    )


def sign_in(base_url: str, username: str, password: str) -> httpx2.Client:
    """An HTTP client signed in as a member of staff, sending its CSRF token on every request."""
    client = httpx2.Client(base_url=base_url, timeout=60.0)
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client


def next_call(display: ClientConnection, *, within: float) -> dict:  # type: ignore[type-arg]
    """The next `called` event on a display, waiting at most `within` seconds."""
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        message = json.loads(display.recv(timeout=left))
        if message["type"] == "called":
            return message  # type: ignore[no-any-return]
    raise AssertionError(f"no call reached the display within {within} s")


class Link:
    """A TCP link from one process to another (a centre node's to the central) that a test can cut:
    every connection through it is closed and new ones are refused until it is mended. With
    `hold_push_answers`, the central's answer to a push never reaches the node: the push is taken,
    and the node is left not knowing it (`push_answer_held` is set then)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.hold_push_answers = False
        self.push_answer_held = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.mend()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def mend(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            if self._listener is not None:
                # Closing alone would leave it listening while a thread waits in accept() (Linux).
                with contextlib.suppress(OSError):
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                inbound, _ = listener.accept()
            except OSError:  # cut
                return
            try:
                outbound = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                inbound.close()
                continue
            with self._lock:
                self._sockets += [inbound, outbound]
            pushing = threading.Event()  # this connection's last request is a push
            threading.Thread(target=self._requests, args=(inbound, outbound, pushing), daemon=True).start()
            threading.Thread(target=self._answers, args=(outbound, inbound, pushing), daemon=True).start()

    @staticmethod
    def _requests(source: socket.socket, sink: socket.socket, pushing: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if data.startswith((b"GET ", b"POST ")):
                    pushing.set() if data.startswith(b"POST /api/v1/node/log") else pushing.clear()
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def _answers(self, source: socket.socket, sink: socket.socket, pushing: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if self.hold_push_answers and pushing.is_set():
                    self.push_answer_held.set()
                    continue
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
