"""The SMS outbox through a real Kannel (bearerbox, smsbox, Kannel's fake SMSC) to a live Dor that takes
Kannel's delivery reports: Arabic arrives intact, and neither a disconnected SMSC nor a stopped Kannel
loses or duplicates a message. Each test runs on SQLite and on PostgreSQL, as conftest parametrises."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from config.db import Database
from config.settings import Settings
from server.app import create_app
from sms_gateway.models import SmsMessage, SmsStatus
from sms_gateway.outbox import DrainResult, RetryPolicy, drain, enqueue
from sms_gateway.templates import render
from tests.browser.conftest import LiveServer
from tests.conftest import VirtualClock
from tests.integration.helpers import free_port
from tests.integration.kannel import SENDER, Kannel, Received, running_kannel

pytestmark = pytest.mark.slow
PHONE = "+963944123456"
RETRY = RetryPolicy()
REPORT_TIMEOUT_S = 20.0


@pytest.fixture
def kannel(tmp_path: Path) -> Iterator[Kannel]:
    with running_kannel(tmp_path / "kannel") as running:
        yield running


@pytest.fixture
def dor(database: Database, clock: VirtualClock, tmp_path: Path) -> Iterator[LiveServer]:
    """Dor served on a free port, so that smsbox can call its delivery-report URL."""
    port = free_port()
    settings = Settings(
        database_url=database.url.render_as_string(hide_password=False),
        dev=True,
        port=port,
        data_dir=str(tmp_path / "data"),
        jobs=False,  # the test drains the outbox itself
    )
    server = LiveServer(create_app(settings, database=database, clock=clock), clock, database, port)
    server.start()
    yield server
    server.stop()


def queue_otp(database: Database, clock: VirtualClock, *, key: str, code: str, phone: str = PHONE) -> str:
    """Queues an Arabic OTP; returns the text the phone should get."""
    params = {"code": code, "minutes": 10}
    with database.write() as session:
        assert enqueue(
            session,
            dedupe_key=key,
            phone=phone,
            template="otp",
            language="ar",
            params=params,
            now=clock(),
        )
    return render("otp", "ar", params).body


def send_due(database: Database, kannel: Kannel, clock: VirtualClock, dor: LiveServer) -> DrainResult:
    backend = kannel.backend()
    try:
        secret = dor.app.state.settings.secret
        return drain(database, backend, clock=clock, retry=RETRY, base_url=dor.url, secret=secret)
    finally:
        backend.close()


def outbox(database: Database) -> list[SmsMessage]:
    with database.read() as session:
        return list(session.exec(select(SmsMessage).order_by(col(SmsMessage.id))).all())


def wait_until_delivered(database: Database) -> list[SmsMessage]:
    """The outbox once every message is delivered, as Kannel's reports to the live Dor say."""
    deadline = time.monotonic() + REPORT_TIMEOUT_S
    while (messages := outbox(database)) and any(m.status != SmsStatus.DELIVERED for m in messages):
        assert time.monotonic() < deadline, [(m.id, m.status, m.last_error) for m in messages]
        time.sleep(0.05)  # polling interval, bounded by the deadline
    return messages


def test_an_arabic_otp_reaches_the_smsc_intact_and_is_reported_delivered(
    database: Database, clock: VirtualClock, kannel: Kannel, dor: LiveServer
) -> None:
    text = queue_otp(database, clock, key="otp:1", code="482913")

    assert send_due(database, kannel, clock, dor) == DrainResult(sent=1)
    # Kannel's report may beat the drain's own bookkeeping: `delivered` already is fine.
    [message] = outbox(database)
    assert message.status in (SmsStatus.SENT, SmsStatus.DELIVERED)

    assert kannel.wait_received(1) == [Received(SENDER, PHONE, text)]
    [message] = wait_until_delivered(database)
    assert (message.attempts, message.last_error) == (1, None)


def test_with_the_smsc_disconnected_kannel_keeps_the_message_until_it_reconnects(
    database: Database, clock: VirtualClock, kannel: Kannel, dor: LiveServer
) -> None:
    kannel.stop_smsc()
    text = queue_otp(database, clock, key="otp:1", code="482913")

    assert send_due(database, kannel, clock, dor) == DrainResult(sent=1)
    [message] = outbox(database)
    assert message.status == SmsStatus.SENT  # smsbox took it; no SMSC, so no report can come yet
    assert kannel.received() == []

    kannel.start_smsc()
    assert kannel.wait_received(1) == [Received(SENDER, PHONE, text)]
    wait_until_delivered(database)
    assert kannel.received() == [Received(SENDER, PHONE, text)]


def test_with_kannel_down_messages_wait_for_their_backoff_then_go_once(
    database: Database, clock: VirtualClock, kannel: Kannel, dor: LiveServer
) -> None:
    kannel.stop()
    phones = [f"+96394412345{n}" for n in range(5)]
    texts = [
        queue_otp(database, clock, key=f"otp:{n}", code=f"48291{n}", phone=phone)
        for n, phone in enumerate(phones)
    ]
    started = clock()

    assert send_due(database, kannel, clock, dor) == DrainResult(retried=5)
    backoff = RETRY.delay(1)
    for message in outbox(database):
        assert (message.status, message.attempts) == (SmsStatus.PENDING, 1)
        assert "kannel" in (message.last_error or "")
        assert message.next_attempt_at == started + backoff

    clock.advance(backoff.total_seconds() - 1)
    assert send_due(database, kannel, clock, dor) == DrainResult()
    assert {m.attempts for m in outbox(database)} == {1}

    kannel.start()
    clock.advance(1)
    assert send_due(database, kannel, clock, dor) == DrainResult(sent=5)
    assert send_due(database, kannel, clock, dor) == DrainResult()

    expected = sorted(Received(SENDER, phone, text) for phone, text in zip(phones, texts, strict=True))
    assert sorted(kannel.wait_received(5)) == expected
    delivered = wait_until_delivered(database)
    assert [m.attempts for m in delivered] == [2] * 5
    assert sorted(kannel.received()) == expected  # still five: none came twice
