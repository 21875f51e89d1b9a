"""One-time codes at rest: the verifier keeps a keyed hash, and the SMS that carries a code keeps it
only until it is sent or given up; the console backend of demo mode keeps it for /demo/sms."""

import pytest
from sqlalchemy import MetaData, select
from starlette.testclient import TestClient

from config.db import Database
from config.settings import Settings
from sms_gateway.backends import ConsoleBackend, Outgoing, SendError
from sms_gateway.models import SmsMessage, SmsStatus
from sms_gateway.outbox import DrainResult, RetryPolicy, drain, enqueue
from tests.conftest import VirtualClock

PHONE = "+963944123456"
CODE = "735194"


class Phone:
    """A provider that hands every message to a phone (or refuses it, while `refusing`)."""

    name = "phone"

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.refusing = False

    def send(self, message: Outgoing) -> str | None:
        if self.refusing:
            raise SendError("provider HTTP 503")
        self.texts.append(message.text)
        return f"p-{message.reference}"

    def close(self) -> None:
        pass


def stored(database: Database) -> str:
    """Every value of every row of every table in the database, as text."""
    with database.read() as session:
        tables = MetaData()
        tables.reflect(bind=session.connection())
        cells = [
            str(value)
            for table in tables.sorted_tables
            for row in session.execute(select(table))
            for value in row
        ]
    return "\n".join(cells)


def send(database: Database, backend: object, clock: VirtualClock, max_attempts: int = 8) -> DrainResult:
    return drain(
        database,
        backend,  # type: ignore[arg-type]
        clock=clock,
        retry=RetryPolicy(max_attempts=max_attempts, base_s=10),
        base_url="http://dor.test",
        secret=Settings(dev=True).secret,
    )


def outbox(database: Database) -> SmsMessage:
    with database.read() as session:
        return session.exec(select(SmsMessage)).scalars().one()


@pytest.fixture
def asked(client: TestClient, database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A remote-ticket code for PHONE, queued; its code is CODE, which nothing held before."""
    assert CODE not in stored(database)
    monkeypatch.setattr("identity.otp.new_code", lambda: CODE)
    response = client.post("/api/v1/otp", json={"phone": PHONE, "purpose": "remote_ticket"})
    assert response.status_code == 202
    assert CODE in outbox(database).body  # waiting to be sent, the SMS must hold it


def test_once_an_otp_is_sent_no_row_of_any_table_holds_its_code(
    asked: None, database: Database, clock: VirtualClock
) -> None:
    phone = Phone()
    assert send(database, phone, clock) == DrainResult(sent=1)
    assert CODE in phone.texts[0]
    assert CODE not in stored(database)
    message = outbox(database)
    assert (message.status, message.body, message.params, message.segments) == (SmsStatus.SENT, "", {}, 1)


def test_the_code_still_works_once_its_sms_is_erased(
    asked: None, client: TestClient, database: Database, clock: VirtualClock
) -> None:
    send(database, Phone(), clock)
    response = client.post(
        "/api/v1/centres/DAM-01/tickets",
        json={"service": "CR", "channel": "remote", "phone": PHONE, "otp": CODE},
    )
    assert response.status_code == 201, response.text


def test_an_otp_keeps_its_text_while_it_waits_for_a_retry(
    asked: None, database: Database, clock: VirtualClock
) -> None:
    phone = Phone()
    phone.refusing = True
    assert send(database, phone, clock) == DrainResult(retried=1)
    assert CODE in outbox(database).body  # the next attempt must still send it

    phone.refusing = False
    clock.advance(10)
    assert send(database, phone, clock) == DrainResult(sent=1)
    assert CODE not in stored(database)


def test_an_otp_given_up_after_its_last_attempt_is_erased(
    asked: None, database: Database, clock: VirtualClock
) -> None:
    phone = Phone()
    phone.refusing = True
    assert send(database, phone, clock, max_attempts=1) == DrainResult(failed=1)
    assert outbox(database).status == SmsStatus.FAILED
    assert CODE not in stored(database)


def test_a_message_without_a_secret_keeps_its_text_for_support(
    database: Database, clock: VirtualClock
) -> None:
    with database.write() as session:
        enqueue(
            session,
            dedupe_key="ticket:1:called",
            phone=PHONE,
            template="called",
            language="en",
            params={"number": "A-001", "counter": 1, "link": "https://dor.gov.sy/t/x"},
            now=clock(),
        )
    send(database, Phone(), clock)
    message = outbox(database)
    assert (message.status, message.body) == (
        SmsStatus.SENT,
        "Number A-001: please go to counter 1.\nhttps://dor.gov.sy/t/x",
    )


def test_the_console_of_demo_mode_keeps_the_code_for_the_demo_page(
    asked: None, client: TestClient, database: Database, clock: VirtualClock
) -> None:
    assert send(database, ConsoleBackend(), clock) == DrainResult(sent=1)
    assert outbox(database).status == SmsStatus.SENT
    assert CODE in client.get("/demo/sms").text
