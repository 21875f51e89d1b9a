"""The transactional outbox: enqueue in the caller's transaction, drain from a job in any process.

A message is claimed with a conditional update (under `FOR UPDATE SKIP LOCKED` on PostgreSQL) that
moves its `next_attempt_at` one lease ahead and stamps a claim token; the sender records the outcome
only if its claim still holds. So two processes never hold one message at once, and a process that
dies mid-send leaves the message to be sent again once its lease is over. That window (the provider
took the message, the process died before recording it) is the one way a message can go out twice.

A message that carries a secret (a one-time code) keeps its text only while it may still be sent:
its body and parameters are erased when it is sent or given up.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from config.db import Database
from sms_gateway.backends import ConsoleBackend, Outgoing, SendError, SmsBackend
from sms_gateway.models import SmsMessage, SmsStatus
from sms_gateway.segments import Encoding
from sms_gateway.templates import render

log = logging.getLogger(__name__)
REPORT_PATH = "/api/v1/sms/reports"
# Templates whose text holds a secret: once such a message has left, nothing may read it again.
SECRET_TEMPLATES = frozenset({"otp"})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: base, 2 x base, 4 x base... capped, until `max_attempts` have failed."""

    max_attempts: int = 8
    base_s: float = 10.0
    cap_s: float = 3600.0
    # How long a claimed message is the claimant's: longer than any send can take.
    lease_s: float = 120.0

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.cap_s, self.base_s * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Message:
    """A message to queue: once per `dedupe_key`, whoever asks again."""

    dedupe_key: str
    phone: str
    template: str
    language: str
    params: Mapping[str, Any]
    centre_id: int | None = None

    def row(self, now: datetime) -> dict[str, Any]:
        rendered = render(self.template, self.language, self.params)
        return {
            "dedupe_key": self.dedupe_key,
            "phone": self.phone,
            "template": self.template,
            "language": self.language,
            "params": dict(self.params),
            "body": rendered.body,
            "encoding": rendered.cost.encoding.value,
            "segments": rendered.cost.segments,
            "centre_id": self.centre_id,
            "status": SmsStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }


def _insert(session: Session) -> Any:
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    return dialect.insert(SmsMessage.__table__).on_conflict_do_nothing(  # type: ignore[attr-defined]
        index_elements=["dedupe_key"]
    )


def enqueue(
    session: Session,
    *,
    dedupe_key: str,
    phone: str,
    template: str,
    language: str,
    params: Mapping[str, Any],
    now: datetime,
    centre_id: int | None = None,
) -> bool:
    """Adds a message unless one with this key exists; True if it was added. TemplateError if the
    message cannot be rendered (unknown template, missing parameter, too long)."""
    row = Message(dedupe_key, phone, template, language, params, centre_id).row(now)
    added = session.execute(_insert(session).values(row).returning(col(SmsMessage.id))).first() is not None
    if added:
        log.info("SMS queued: %s (%s, %d segment(s))", template, language, row["segments"])
    return added


def enqueue_many(session: Session, messages: list[Message], *, now: datetime) -> None:
    """Adds each message unless one with its key exists, in one statement however many: a draw's
    results are one message per applicant."""
    if messages:
        session.execute(_insert(session), [message.row(now) for message in messages])
        log.info("SMS queued: %d messages", len(messages))


def report_signature(secret: bytes, message_id: int) -> str:
    """What authenticates a delivery report for one message: an HMAC of its id."""
    return hmac.new(secret, f"sms-report:{message_id}".encode(), hashlib.sha256).hexdigest()[:32]


def report_url(base_url: str, secret: bytes, message_id: int) -> str:
    return f"{base_url}{REPORT_PATH}/{message_id}?sig={report_signature(secret, message_id)}"


@dataclass(frozen=True)
class Claimed:
    id: int
    phone: str
    body: str
    encoding: str
    attempts: int
    template: str


def claim(session: Session, *, now: datetime, batch: int, lease: timedelta, token: str) -> list[Claimed]:
    """Takes up to `batch` due messages for this sender."""
    due = (
        sa_select(col(SmsMessage.id))
        .where(col(SmsMessage.status) == SmsStatus.PENDING.value, col(SmsMessage.next_attempt_at) <= now)
        .order_by(col(SmsMessage.next_attempt_at), col(SmsMessage.id))
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    rows = session.execute(
        update(SmsMessage)
        .where(
            col(SmsMessage.id).in_(due.scalar_subquery()),
            col(SmsMessage.status) == SmsStatus.PENDING.value,
            col(SmsMessage.next_attempt_at) <= now,
        )
        .values(next_attempt_at=now + lease, attempts=col(SmsMessage.attempts) + 1, claim=token)
        .returning(
            col(SmsMessage.id),
            col(SmsMessage.phone),
            col(SmsMessage.body),
            col(SmsMessage.encoding),
            col(SmsMessage.attempts),
            col(SmsMessage.template),
        )
    ).all()
    return [Claimed(*row) for row in rows]


def _mine(message_id: int, token: str) -> Any:
    return update(SmsMessage).where(
        col(SmsMessage.id) == message_id,
        col(SmsMessage.claim) == token,
        col(SmsMessage.status) == SmsStatus.PENDING.value,
    )


@dataclass
class DrainResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def drain(
    database: Database,
    backend: SmsBackend,
    *,
    clock: Callable[[], datetime],
    retry: RetryPolicy,
    base_url: str,
    secret: bytes,
    batch: int = 50,
) -> DrainResult:
    """Sends what is due, records each outcome; safe to run in several processes at once."""
    token = secrets.token_hex(8)
    with database.write() as session:
        claimed = claim(
            session, now=clock(), batch=batch, lease=timedelta(seconds=retry.lease_s), token=token
        )
    result = DrainResult()
    # The console backend sends nothing: in demo and development the outbox row is the only copy of
    # the message, and /demo/sms shows it as the phone would. Every other backend hands it to a phone.
    keeps_secrets = isinstance(backend, ConsoleBackend)
    for message in claimed:
        forget = _erasure(message, keeps_secrets=keeps_secrets)
        outgoing = Outgoing(
            reference=message.id,
            phone=message.phone,
            text=message.body,
            encoding=Encoding(message.encoding),
            report_url=report_url(base_url, secret, message.id),
        )
        try:
            provider_id = backend.send(outgoing)
        except SendError as exc:
            _record_failure(database, message, token, exc.answer, clock(), retry, result, forget=forget)
            continue
        _record_sent(database, message.id, token, backend.name, provider_id, clock(), forget=forget)
        result.sent += 1
    if claimed:
        log.info("SMS outbox: %d sent, %d to retry, %d failed", result.sent, result.retried, result.failed)
    return result


def _erasure(message: Claimed, *, keeps_secrets: bool) -> dict[str, Any]:
    """The values that erase the message's text once it has left, if the text holds a secret."""
    if message.template in SECRET_TEMPLATES and not keeps_secrets:
        return {"body": "", "params": {}}  # as the retention job leaves an old message
    return {}


def _record_sent(
    database: Database,
    message_id: int,
    token: str,
    backend: str,
    provider_id: str | None,
    now: datetime,
    *,
    forget: Mapping[str, Any],
) -> None:
    status = col(SmsMessage.status)
    with database.write() as session:
        done = session.execute(
            update(SmsMessage)
            .where(col(SmsMessage.id) == message_id, col(SmsMessage.claim) == token)
            .values(
                # A delivery report may have come before this record: its outcome stands.
                status=case((status == SmsStatus.PENDING.value, SmsStatus.SENT.value), else_=status),
                last_error=case((status == SmsStatus.FAILED.value, col(SmsMessage.last_error)), else_=None),
                sent_at=func.coalesce(col(SmsMessage.sent_at), now),
                backend=backend,
                provider_id=provider_id,
                claim=None,
                **forget,
            )
        )
    if not done.rowcount:  # type: ignore[attr-defined]
        # The lease ran out before the provider answered, and another sender has claimed it.
        log.warning("SMS #%d: sent, but no longer claimed by this sender", message_id)


def _record_failure(
    database: Database,
    message: Claimed,
    token: str,
    answer: str,
    now: datetime,
    retry: RetryPolicy,
    result: DrainResult,
    *,
    forget: Mapping[str, Any],
) -> None:
    if message.attempts >= retry.max_attempts:
        values: dict[str, Any] = {"status": SmsStatus.FAILED.value, "finished_at": now, **forget}
        result.failed += 1
        log.error("SMS #%d failed after %d attempts: %s", message.id, message.attempts, answer)
    else:
        values = {"next_attempt_at": now + retry.delay(message.attempts)}
        result.retried += 1
        log.warning("SMS #%d attempt %d failed, will retry: %s", message.id, message.attempts, answer)
    with database.write() as session:
        session.execute(_mine(message.id, token).values(last_error=answer, claim=None, **values))


def apply_report(session: Session, *, message_id: int, delivered: bool, detail: str, now: datetime) -> bool:
    """Records a delivery report; False if the message already had its final state."""
    message = session.get(SmsMessage, message_id, with_for_update=True)
    if message is None or message.status in (SmsStatus.DELIVERED.value, SmsStatus.FAILED.value):
        return False
    message.status = (SmsStatus.DELIVERED if delivered else SmsStatus.FAILED).value
    message.finished_at = now
    message.sent_at = message.sent_at or now
    message.last_error = None if delivered else detail[:500]
    session.add(message)
    log.info("SMS #%d %s by delivery report", message_id, message.status)
    return True


def backlog(session: Session) -> int:
    """How many messages wait to be sent (or retried)."""
    return session.exec(
        select(func.count()).select_from(SmsMessage).where(SmsMessage.status == SmsStatus.PENDING.value)
    ).one()
