"""What remote tickets and appointments share: a citizen's request from a phone verified by a one-time
code, which the client may send again under an `Idempotency-Key` and get the first answer.

All of it happens in the request's one write transaction: the stored answer to the key is replayed if
there is one; the code is checked (a wrong try is committed, so that it counts); the work is done and
its answer stored under the key. A twin request under the same key that commits first makes this one's
store fail on the key; it then runs again, and replays the twin's answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.requests import Request

from config.i18n import N_
from config.idempotency import MAX_KEY_LENGTH, KeyReused, fingerprint, remember, replay
from config.web.errors import ApiError
from config.web.threads import write
from identity.otp import Purpose, Verdict, check_code
from identity.phones import to_ascii_digits
from identity.web.otp import otp_rules

IDEMPOTENCY_HEADER = "Idempotency-Key"
T = TypeVar("T")


@dataclass(frozen=True)
class Retries:
    """How a request is told from its retries: its key (scoped to who sends it) and what it asks."""

    key: str | None
    digest: str

    def scoped(self, caller: str) -> Retries:
        """The key as `caller`'s: two callers may make up the same key."""
        return Retries(f"{caller}:{self.key}" if self.key else None, self.digest)

    def replayed(self, session: Session) -> dict[str, Any] | None:
        """The first answer to this key, if one was stored; 422 if the key came with another request."""
        if self.key is None:
            return None
        try:
            stored = replay(session, key=self.key, fingerprint=self.digest)
        except KeyReused as exc:
            raise ApiError(422, "idempotency_key_reused", str(exc)) from None
        return stored[1] if stored else None

    def remember(self, session: Session, answer: dict[str, Any], *, now: datetime) -> None:
        """Stores the answer (201) under the key, in the caller's transaction."""
        if self.key is not None:
            remember(session, key=self.key, fingerprint=self.digest, status=201, body=answer, now=now)


def retries(request: Request, body: BaseModel) -> Retries:
    """The request's `Idempotency-Key` (1 to 100 characters, 422 otherwise) and what it asks."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return Retries(None, "")
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise ApiError(
            422, "invalid_input", f"header '{IDEMPOTENCY_HEADER}': 1 to {MAX_KEY_LENGTH} characters"
        )
    return Retries(key, fingerprint(request.url.path, body.model_dump(mode="json")))


@dataclass(frozen=True)
class PhoneCode:
    """A one-time code presented for a phone, with the rules it is checked by."""

    request: Request
    phone: str  # E.164
    purpose: Purpose
    code: str  # as typed: Arabic-Indic digits are accepted

    def check(self, session: Session, retries: Retries, *, now: datetime) -> dict[str, Any] | Verdict | None:
        """None when the code is right. Otherwise, a twin under the same key may have used the code
        while this request waited for the database: the twin's stored answer; or the verdict, which
        the work returns (not raises) so that its transaction commits the wrong try."""
        verdict = check_code(
            session,
            phone=self.phone,
            purpose=self.purpose,
            code=to_ascii_digits(self.code).strip(),
            rules=otp_rules(self.request),
            secret=self.request.app.state.settings.secret,
            now=now,
        )
        if verdict is Verdict.OK:
            return None
        return retries.replayed(session) or verdict


async def write_once(request: Request, work: Callable[[Session], T | Verdict]) -> T:
    """Runs `work` in a write transaction, again if a twin under the same key committed first (the
    second run replays the twin's answer); a wrong or spent code is a 401."""
    try:
        outcome = await write(request, work)
    except IntegrityError:
        outcome = await write(request, work)
    if isinstance(outcome, Verdict):
        if outcome is Verdict.WRONG:
            raise ApiError(401, "otp_invalid", N_("field 'otp': wrong code"))
        raise ApiError(401, "otp_invalid", N_("field 'otp': no valid code: ask for a new one"))
    return outcome
