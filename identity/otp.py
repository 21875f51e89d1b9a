"""One-time codes that prove a citizen holds a phone: six digits from the OS's CSPRNG, sent by SMS,
valid for a few minutes, used once, burnt after a few wrong tries, bound to a phone and a purpose,
and kept only as a keyed hash (its SMS holds it in clear only until sent: sms_gateway/outbox.py).
Sends are capped per phone (hour and day) and per client address."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session, col, select, update

from config.errors import Refused
from config.i18n import N_
from config.throttle import Limit, take
from identity.models import OtpChallenge
from sms_gateway.outbox import enqueue

log = logging.getLogger(__name__)
CODE_DIGITS = 6


class Purpose(StrEnum):
    BOOKING = "booking"
    REMOTE_TICKET = "remote_ticket"
    DRAW = "draw"  # an application to a draw (booking/draws.py)


class Verdict(StrEnum):
    OK = "ok"
    WRONG = "wrong"  # a wrong code (counted; the code burns at the limit)
    NO_CODE = "no_code"  # none asked for, expired, used, or burnt


@dataclass(frozen=True)
class OtpRules:
    ttl: timedelta = timedelta(minutes=10)
    max_wrong: int = 5
    per_phone_hour: int = 3
    per_phone_day: int = 10
    per_address_hour: int = 20


class TooManyCodes(Refused):
    code = "too_many_requests"
    http_status = 429

    def __init__(self, message: str, /, *, retry_after_s: int, **params: object) -> None:
        super().__init__(message, **params)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


def _hash(secret: bytes, phone: str, purpose: Purpose, code: str) -> str:
    return hmac.new(secret, f"{phone}|{purpose.value}|{code}".encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    """A code of CODE_DIGITS digits from the OS's CSPRNG."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def send_code(
    session: Session,
    *,
    phone: str,
    purpose: Purpose,
    address: str,
    language: str,
    rules: OtpRules,
    secret: bytes,
    now: datetime,
    centre_id: int | None = None,
) -> None:
    """Makes a new code for the phone and purpose (older ones stop working) and queues its SMS;
    TooManyCodes when a cap is reached."""
    for_phone = N_("too many codes for this phone; try again in %(seconds)d s")
    caps = (
        (f"otp:phone-hour:{phone}", Limit(rules.per_phone_hour, timedelta(hours=1)), for_phone),
        (f"otp:phone-day:{phone}", Limit(rules.per_phone_day, timedelta(days=1)), for_phone),
        (
            f"otp:address:{address}",
            Limit(rules.per_address_hour, timedelta(hours=1)),
            N_("too many codes for this address; try again in %(seconds)d s"),
        ),
    )
    for key, limit, refusal in caps:
        wait = take(session, key=key, limit=limit, now=now)
        if wait is not None:
            log.warning("OTP refused: cap %s reached", key.split(":")[1])
            raise TooManyCodes(refusal, retry_after_s=wait, seconds=wait)
    session.execute(
        update(OtpChallenge)
        .where(
            col(OtpChallenge.phone) == phone,
            col(OtpChallenge.purpose) == purpose.value,
            col(OtpChallenge.closed_at).is_(None),
        )
        .values(closed_at=now)
    )
    code = new_code()
    challenge = OtpChallenge(
        phone=phone,
        purpose=purpose.value,
        code_hash=_hash(secret, phone, purpose, code),
        created_at=now,
        expires_at=now + rules.ttl,
    )
    session.add(challenge)
    session.flush()
    enqueue(
        session,
        dedupe_key=f"otp:{challenge.id}",
        phone=phone,
        template="otp",
        language=language,
        params={"code": code, "minutes": int(rules.ttl.total_seconds() // 60)},
        now=now,
        centre_id=centre_id,
    )


def check_code(
    session: Session,
    *,
    phone: str,
    purpose: Purpose,
    code: str,
    rules: OtpRules,
    secret: bytes,
    now: datetime,
) -> Verdict:
    """Checks a code against the phone's open challenge for the purpose and uses it up if right.
    The caller commits whatever the verdict: wrong tries must count."""
    challenge = session.exec(
        select(OtpChallenge)
        .where(
            OtpChallenge.phone == phone,
            OtpChallenge.purpose == purpose.value,
            col(OtpChallenge.closed_at).is_(None),
        )
        .order_by(col(OtpChallenge.created_at).desc())
        .with_for_update()
    ).first()
    if challenge is None or challenge.expires_at <= now:
        return Verdict.NO_CODE
    if hmac.compare_digest(challenge.code_hash, _hash(secret, phone, purpose, code)):
        challenge.closed_at = now
        session.add(challenge)
        return Verdict.OK
    challenge.wrong_tries += 1
    if challenge.wrong_tries >= rules.max_wrong:
        challenge.closed_at = now
        log.warning("OTP burnt after %d wrong tries", challenge.wrong_tries)
    session.add(challenge)
    return Verdict.WRONG
