"""The SMS outbox on SQLite and PostgreSQL: one row per logical message, each sent once however many
senders drain at once, retried with backoff then failed, and delivery reports that must be signed."""

import logging
import threading
import time
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from config.settings import Settings
from organisation.models import Centre
from server.app import create_app
from sms_gateway.backends import ConsoleBackend, Outgoing, SendError
from sms_gateway.models import SmsMessage, SmsStatus
from sms_gateway.outbox import RetryPolicy, apply_report, claim, drain, enqueue, report_signature
from tests.conftest import VirtualClock, sign_in

PHONE = "+963944123456"
SECRET = Settings(dev=True).secret


class Recorder:
    """A provider that takes every message and remembers it (or refuses all, with an answer)."""

    name = "recorder"

    def __init__(self, refuse_with: str | None = None) -> None:
        self.sent: list[Outgoing] = []
        self.refuse_with = refuse_with
        self.lock = threading.Lock()

    def send(self, message: Outgoing) -> str | None:
        if self.refuse_with is not None:
            raise SendError(self.refuse_with)
        with self.lock:
            self.sent.append(message)
        return f"p-{message.reference}"

    def close(self) -> None:
        pass


LINK = "https://dor.gov.sy/t/x"  # the tracker link every message about a ticket ends with


def add(
    database: Database, clock: VirtualClock, key: str, template: str = "called", **params: object
) -> bool:
    with database.write() as session:
        return enqueue(
            session,
            dedupe_key=key,
            phone=PHONE,
            template=template,
            language="ar",
            params={"link": LINK, **(params or {"number": "A-001", "counter": 1})},
            now=clock(),
        )


def messages(database: Database) -> list[SmsMessage]:
    with database.read() as session:
        return list(session.exec(select(SmsMessage).order_by(SmsMessage.id)).all())


def run(database: Database, backend: object, clock: VirtualClock, retry: RetryPolicy | None = None) -> object:
    return drain(
        database,
        backend,  # type: ignore[arg-type]
        clock=clock,
        retry=retry or RetryPolicy(),
        base_url="http://dor.test",
        secret=SECRET,
    )


def test_a_logical_message_is_queued_once(database: Database, clock: VirtualClock) -> None:
    assert add(database, clock, "ticket:1:called") is True
    assert add(database, clock, "ticket:1:called") is False
    [message] = messages(database)
    assert (message.status, message.body, message.segments) == (
        "pending",
        f"الرقم A-001: تفضل إلى الشباك 1.\n{LINK}",
        1,
    )


def test_drain_sends_each_message_once_and_logs_it_on_the_console(
    database: Database, clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    add(database, clock, "a")
    add(database, clock, "b", number="A-002", counter=2)
    with caplog.at_level(logging.INFO, logger="sms_gateway.backends"):
        first = run(database, ConsoleBackend(), clock)
        second = run(database, ConsoleBackend(), clock)
    assert (first.sent, second.sent) == (2, 0)  # type: ignore[attr-defined]
    assert f"to {PHONE}: الرقم A-002: تفضل إلى الشباك 2." in caplog.text
    assert [m.status for m in messages(database)] == ["sent", "sent"]
    assert all(m.backend == "console" and m.sent_at == clock() for m in messages(database))


def test_concurrent_senders_never_send_a_message_twice(database: Database, clock: VirtualClock) -> None:
    for n in range(60):
        add(database, clock, f"m{n}", number=f"A-{n:03d}", counter=1)
    recorder = Recorder()
    start = threading.Barrier(4)

    def sender() -> None:
        start.wait()
        while drain(
            database,
            recorder,
            clock=clock,
            retry=RetryPolicy(),
            base_url="http://dor.test",
            secret=SECRET,
            batch=7,
        ).sent:
            pass

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    references = [m.reference for m in recorder.sent]
    assert len(references) == 60
    assert len(set(references)) == 60
    assert {m.status for m in messages(database)} == {"sent"}


def test_failures_back_off_exponentially_then_fail_keeping_the_answer(
    database: Database, clock: VirtualClock
) -> None:
    add(database, clock, "x")
    refusing = Recorder(refuse_with="<html>502 Bad Gateway</html>")
    retry = RetryPolicy(max_attempts=3, base_s=10, cap_s=3600)
    start = clock()
    run(database, refusing, clock, retry)
    [message] = messages(database)
    assert (message.status, message.attempts, message.next_attempt_at) == (
        "pending",
        1,
        start + timedelta(seconds=10),
    )
    assert message.last_error == "<html>502 Bad Gateway</html>"
    clock.advance(9)
    assert run(database, refusing, clock, retry).retried == 0  # type: ignore[attr-defined]  # not due yet
    clock.advance(1)
    run(database, refusing, clock, retry)
    [message] = messages(database)
    assert (message.attempts, message.next_attempt_at) == (2, clock() + timedelta(seconds=20))
    clock.advance(20)
    result = run(database, refusing, clock, retry)
    [message] = messages(database)
    assert result.failed == 1  # type: ignore[attr-defined]
    assert (message.status, message.attempts, message.finished_at) == ("failed", 3, clock())
    assert message.last_error == "<html>502 Bad Gateway</html>"
    clock.advance(3600)
    assert run(database, Recorder(), clock, retry).sent == 0  # type: ignore[attr-defined]  # failed is final


def test_a_sender_that_dies_mid_send_leaves_the_message_to_another_after_its_lease(
    database: Database, clock: VirtualClock
) -> None:
    add(database, clock, "orphan")
    retry = RetryPolicy(lease_s=120)
    with database.write() as session:  # claimed, then the process dies before sending
        assert len(claim(session, now=clock(), batch=10, lease=timedelta(seconds=120), token="dead")) == 1
    recorder = Recorder()
    assert run(database, recorder, clock, retry).sent == 0  # type: ignore[attr-defined]
    clock.advance(121)
    assert run(database, recorder, clock, retry).sent == 1  # type: ignore[attr-defined]
    assert [m.reference for m in recorder.sent] == [messages(database)[0].id]


def _report(client: TestClient, message_id: int, kannel: int, sig: str | None = None) -> tuple[int, str]:
    signature = sig if sig is not None else report_signature(SECRET, message_id)
    response = client.get(f"/api/v1/sms/reports/{message_id}?sig={signature}&kannel={kannel}")
    return response.status_code, response.text


def _sent_message(database: Database, clock: VirtualClock) -> int:
    add(database, clock, "dlr")
    run(database, Recorder(), clock)
    [message] = messages(database)
    assert message.id is not None
    return message.id


def test_a_delivery_report_marks_the_message_delivered(
    client: TestClient, database: Database, clock: VirtualClock
) -> None:
    message_id = _sent_message(database, clock)
    assert _report(client, message_id, kannel=8)[0] == 200  # accepted by the SMSC: progress only
    assert messages(database)[0].status == "sent"
    status, body = _report(client, message_id, kannel=1)
    assert (status, messages(database)[0].status) == (200, "delivered")
    assert '"delivered"' in body
    assert _report(client, message_id, kannel=2)[0] == 200  # late or repeated reports change nothing
    assert messages(database)[0].status == "delivered"


def test_a_failure_report_marks_the_message_failed(
    client: TestClient, database: Database, clock: VirtualClock
) -> None:
    message_id = _sent_message(database, clock)
    response = client.post(
        f"/api/v1/sms/reports/{message_id}?sig={report_signature(SECRET, message_id)}",
        json={"status": "failed", "detail": "absent subscriber"},
    )
    [message] = messages(database)
    assert (response.status_code, message.status, message.last_error) == (200, "failed", "absent subscriber")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/sms/reports/{id}?sig=0000&kannel=1", 403),  # bad signature
        ("/api/v1/sms/reports/{other}?sig={sig}&kannel=1", 403),  # another message's signature
        ("/api/v1/sms/reports/99999?sig={sig99999}&kannel=1", 404),  # signed, but no such message
        ("/api/v1/sms/reports/{id}?sig={sig}&kannel=banana", 422),
        ("/api/v1/sms/reports/{id}?sig={sig}", 422),
        ("/api/v1/sms/reports/abc?sig={sig}&kannel=1", 403),
        ("/api/v1/sms/reports/{id}?sig=%C3%A9t%C3%A9&kannel=1", 403),  # not even ASCII
    ],
)
def test_bad_delivery_reports_change_nothing(
    client: TestClient, database: Database, clock: VirtualClock, path: str, status: int
) -> None:
    message_id = _sent_message(database, clock)
    url = path.format(
        id=message_id,
        other=message_id + 1,
        sig=report_signature(SECRET, message_id),
        sig99999=report_signature(SECRET, 99999),
    )
    response = client.get(url)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"]
    assert messages(database)[0].status == SmsStatus.SENT.value


def test_the_server_drains_the_outbox_by_itself(
    settings: Settings, database: Database, clock: VirtualClock
) -> None:
    running = settings.model_copy(update={"jobs": True, "sms_drain_interval_s": 0.1})
    add(database, clock, "background")
    with TestClient(create_app(running, database=database, clock=clock)):
        deadline = time.monotonic() + 20
        while messages(database)[0].status == "pending" and time.monotonic() < deadline:
            time.sleep(0.05)  # polling the job's result, bounded by the deadline
    assert messages(database)[0].status == "sent"


def test_demo_mode_lists_the_messages_it_would_have_sent(
    client: TestClient, database: Database, clock: VirtualClock
) -> None:
    add(database, clock, "page", number="B-007", counter=4)
    page = client.get("/demo/sms?lang=en")
    assert page.status_code == 200
    assert "الرقم B-007: تفضل إلى الشباك 4." in page.text
    assert PHONE in page.text


def test_outside_demo_mode_there_is_no_message_page(settings: Settings, database: Database) -> None:
    production = settings.model_copy(update={"dev": False, "secret_key": SecretStr("s" * 40)})
    with TestClient(create_app(production, database=database)) as client:
        assert client.get("/demo/sms").status_code == 404


def test_the_daily_segment_count_per_centre_is_reported(
    client: TestClient, app: Starlette, database: Database, clock: VirtualClock
) -> None:
    with database.write() as session:
        centre = session.exec(select(Centre).where(Centre.code == "DAM-01")).one()
        for n, (language, centre_name) in enumerate(
            [("ar", "مركز " * 26), ("ar", "المزة"), ("en", "Mezzeh")]
        ):
            enqueue(
                session,
                dedupe_key=f"usage-{n}",
                phone=PHONE,
                template="turn_near",
                language=language,
                params={"number": "A-001", "ahead": 3, "centre": centre_name, "link": LINK},
                now=clock(),
                centre_id=centre.id,
            )
    with sign_in(app, "supervisor1") as supervisor:
        report = supervisor.get("/api/v1/centres/DAM-01/sms/usage?from=2026-11-28&to=2026-11-30")
        assert report.status_code == 200, report.text
        assert report.json() == [
            {"day": "2026-11-28", "messages": 0, "segments": 0, "delivered": 0, "failed": 0},
            {"day": "2026-11-29", "messages": 3, "segments": 3 + 1 + 1, "delivered": 0, "failed": 0},
            {"day": "2026-11-30", "messages": 0, "segments": 0, "delivered": 0, "failed": 0},
        ]
        backwards = supervisor.get("/api/v1/centres/DAM-01/sms/usage?from=2026-11-30&to=2026-11-01")
        too_long = supervisor.get("/api/v1/centres/DAM-01/sms/usage?from=2025-01-01&to=2026-11-30")
        assert (backwards.status_code, too_long.status_code) == (422, 422)
        assert "'from'" in backwards.json()["error"]["message"]
        assert (
            supervisor.get("/api/v1/centres/RIF-01/sms/usage?from=2026-11-29&to=2026-11-29").status_code
            == 403
        )


def test_a_delivery_report_faster_than_the_senders_record_stands(
    database: Database, clock: VirtualClock
) -> None:
    add(database, clock, "race")
    run(database, Recorder(refuse_with="kannel unreachable"), clock)  # a first attempt failed
    clock.advance(10)

    class ReportsFirst(Recorder):
        name = "fast"

        def send(self, message: Outgoing) -> str | None:
            with database.write() as session:  # Kannel's report arrives before send() returns
                apply_report(session, message_id=message.reference, delivered=True, detail="", now=clock())
            return "p-42"

    run(database, ReportsFirst(), clock)
    [message] = messages(database)
    assert (message.status, message.backend, message.provider_id) == ("delivered", "fast", "p-42")
    assert (message.last_error, message.claim, message.attempts) == (None, None, 2)
