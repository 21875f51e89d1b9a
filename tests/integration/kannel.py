"""A real Kannel of a test's own: bearerbox, smsbox and Kannel's fake SMSC on free loopback ports.

The fake SMSC (`fakesmsc`) stands for the operator's SMS centre: it takes every message bearerbox
routes to it, prints it on its log, and bearerbox answers each with a "delivered" report (type 1).
A test can disconnect the SMSC alone, or stop all of Kannel and start it again on the same ports.

fakesmsc speaks a line protocol and bearerbox writes a GSM (`text`) message into it raw, so a newline
in such a message ends its line: the fake SMSC cannot carry one, though a real SMSC link can. Tests
that read what it got send GSM texts without newlines (Arabic, UCS-2, is URL-encoded and carries any).
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_to_bytes

import httpx2
import pytest

from sms_gateway.backends import KannelBackend
from tests.integration.helpers import free_port

BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")
FAKESMSC = Path("/usr/lib/kannel/test/fakesmsc")
USERNAME, PASSWORD, ADMIN_PASSWORD = "dor", "pw", "adm"
SENDER = "Dor"
READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
POLL_S = 0.05  # polling interval, always bounded by a deadline

CONFIG = """\
group = core
admin-port = {admin}
admin-password = {admin_password}
admin-interface = 127.0.0.1
smsbox-port = {box}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = {folder}/bearerbox.log
log-level = 0
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = {smsc}
our-host = 127.0.0.1
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
log-file = {folder}/smsbox.log
log-level = 0

group = sendsms-user
username = {username}
password = {password}
max-messages = 3
concatenation = true
"""

# Every line Kannel logs starts so; a message's text may span lines (an OTP holds a newline).
LOG_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[\d+\] \[\d+\] \w+: ", re.MULTILINE)
GOT_MESSAGE = re.compile(r"Got message \d+: <(.*)>\n?\Z", re.DOTALL)
SMSC_ONLINE = re.compile(r"^\s*fake\[fake\].*\(online", re.MULTILINE)
SMSBOX_CONNECTED = re.compile(r"^\s*smsbox:", re.MULTILINE)


@dataclass(frozen=True, order=True)
class Received:
    """One message as the SMS centre got it."""

    sender: str
    phone: str
    text: str


def _decode(kind: str, data: str) -> str:
    """fakesmsc's payload as text: `ucs-2` is URL-encoded UTF-16BE (a bare `+` is the byte 0x20)."""
    if kind == "ucs-2":
        return unquote_to_bytes(data.replace("+", "%20")).decode("utf-16-be")
    if kind == "text":
        return data
    raise AssertionError(
        f"fakesmsc got a line these tests cannot read (a GSM text with a newline?): {kind} {data}"
    )


def parse_fakesmsc_log(log: str) -> list[Received]:
    """The messages a fakesmsc log shows, in order."""
    entries = LOG_ENTRY.split(log)
    received = []
    for entry in entries:
        match = GOT_MESSAGE.match(entry)
        if match:
            sender, phone, kind, data = match.group(1).split(" ", 3)
            received.append(Received(sender, phone, _decode(kind, data)))
    return received


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _end(process: subprocess.Popen[bytes] | None, *, kill: bool = False) -> None:
    """Stops a process (SIGTERM, or SIGKILL if asked or if it lingers) and reaps it."""
    if process is None:
        return
    if process.poll() is None:
        if kill:
            process.kill()
        else:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
    process.wait(timeout=STOP_TIMEOUT_S)


class Kannel:
    """bearerbox + smsbox + fakesmsc, configured in `folder`; ports stay the same across restarts."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        ports: list[int] = []
        while len(ports) < 4:
            port = free_port()
            if port not in ports:
                ports.append(port)
        self.admin_port, self.box_port, self.smsc_port, self.sendsms_port = ports
        self.config = folder / "kannel.conf"
        self.config.write_text(
            CONFIG.format(
                admin=self.admin_port,
                admin_password=ADMIN_PASSWORD,
                box=self.box_port,
                smsc=self.smsc_port,
                sendsms=self.sendsms_port,
                folder=folder,
                username=USERNAME,
                password=PASSWORD,
            )
        )
        self.bearerbox: subprocess.Popen[bytes] | None = None
        self.smsbox: subprocess.Popen[bytes] | None = None
        self.smsc: subprocess.Popen[bytes] | None = None
        # One log per fakesmsc run: what the SMS centre received over all of them.
        self.smsc_logs: list[Path] = []
        self.admin = httpx2.Client(timeout=2.0)

    @property
    def url(self) -> str:
        """The DOR_SMS_URL that points Dor at this Kannel."""
        return f"kannel://{USERNAME}:{PASSWORD}@127.0.0.1:{self.sendsms_port}"

    def backend(self) -> KannelBackend:
        return KannelBackend(
            host="127.0.0.1", port=self.sendsms_port, username=USERNAME, password=PASSWORD, sender=SENDER
        )

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with (self.folder / f"{name}.out").open("ab") as output:
            return subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT, cwd=self.folder)

    def status(self) -> str:
        """bearerbox's status page ("" while it does not answer)."""
        try:
            response = self.admin.get(
                f"http://127.0.0.1:{self.admin_port}/status.txt", params={"password": ADMIN_PASSWORD}
            )
        except httpx2.TransportError:
            return ""
        return response.text if response.status_code == 200 else ""

    def _wait(
        self, what: str, ready: Callable[[], object], processes: list[subprocess.Popen[bytes] | None]
    ) -> None:
        """Polls `ready` until it holds; fails with Kannel's logs if a process dies or time runs out."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not ready():
            for process in processes:
                if process is not None and process.poll() is not None:
                    raise AssertionError(
                        f"Kannel: {process.args!r} exited ({process.returncode}) while waiting for {what}\n"
                        + self.logs()
                    )
            if time.monotonic() > deadline:
                raise AssertionError(f"Kannel: no {what} within {READY_TIMEOUT_S} s\n{self.logs()}")
            time.sleep(POLL_S)

    def start(self) -> None:
        """Starts bearerbox, the fake SMSC and smsbox, in that order, each once the one before is up."""
        missing = [str(path) for path in (BEARERBOX, SMSBOX, FAKESMSC) if not path.exists()]
        if missing:
            pytest.fail(
                f"Kannel is not installed ({', '.join(missing)} missing): run `make deps`",
                pytrace=False,
            )
        self.bearerbox = self._spawn("bearerbox", str(BEARERBOX), "-v", "1", str(self.config))
        self._wait("bearerbox status page", lambda: self.status() != "", [self.bearerbox])
        self.start_smsc()
        self.smsbox = self._spawn("smsbox", str(SMSBOX), "-v", "1", str(self.config))
        self._wait(
            "smsbox",
            lambda: SMSBOX_CONNECTED.search(self.status()) and self._accepts(self.sendsms_port),
            [self.bearerbox, self.smsbox],
        )

    def stop(self) -> None:
        """Stops all of Kannel (the fake SMSC goes too: it cannot outlive its bearerbox)."""
        for process in (self.smsbox, self.smsc, self.bearerbox):
            _end(process)
        self.smsbox = self.smsc = self.bearerbox = None

    def start_smsc(self) -> None:
        """Connects the fake SMS centre; returns once bearerbox shows it online."""
        log = self.folder / f"fakesmsc-{len(self.smsc_logs) + 1}.log"
        self.smsc_logs.append(log)
        # -m 0: it sends no message of its own, it only receives.
        args = ["-H", "127.0.0.1", "-r", str(self.smsc_port), "-i", "0", "-m", "0", "1 2 text x"]
        with log.open("wb") as output:
            self.smsc = subprocess.Popen(
                [str(FAKESMSC), *args], stdout=subprocess.DEVNULL, stderr=output, cwd=self.folder
            )
        self._wait("fake SMSC online", lambda: SMSC_ONLINE.search(self.status()), [self.bearerbox, self.smsc])

    def stop_smsc(self) -> None:
        """Disconnects the fake SMS centre; returns once bearerbox no longer counts it online."""
        _end(self.smsc)
        self.smsc = None
        self._wait("fake SMSC offline", lambda: not SMSC_ONLINE.search(self.status()), [self.bearerbox])

    def received(self) -> list[Received]:
        """Every message the fake SMS centre has received, over all its runs."""
        return [
            message
            for log in self.smsc_logs
            if log.exists()
            for message in parse_fakesmsc_log(log.read_text(encoding="utf-8", errors="replace"))
        ]

    def wait_received(self, count: int) -> list[Received]:
        """What the SMS centre has received once it holds at least `count` messages."""
        self._wait(f"{count} message(s) at the fake SMSC", lambda: len(self.received()) >= count, [])
        return self.received()

    def close(self) -> None:
        """Kills whatever still runs: for teardown, pass or fail."""
        for process in (self.smsbox, self.smsc, self.bearerbox):
            _end(process, kill=True)
        self.smsbox = self.smsc = self.bearerbox = None
        self.admin.close()

    @staticmethod
    def _accepts(port: int) -> bool:
        with socket.socket() as probe:
            probe.settimeout(1.0)
            return probe.connect_ex(("127.0.0.1", port)) == 0

    def logs(self) -> str:
        """The end of each process's log, for a failure message."""
        logs = [self.folder / "bearerbox.out", self.folder / "smsbox.out", *self.smsc_logs[-1:]]
        return "\n".join(f"--- {log.name}\n{_tail(log)}" for log in logs)


@contextmanager
def running_kannel(folder: Path) -> Iterator[Kannel]:
    """A started Kannel; every one of its processes is killed on the way out, even on failure."""
    folder.mkdir(parents=True, exist_ok=True)
    kannel = Kannel(folder)
    try:
        kannel.start()
        yield kannel
    finally:
        kannel.close()
