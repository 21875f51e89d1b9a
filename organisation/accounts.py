"""Staff sign-in: server-side sessions, CSRF tokens, and who may act where; device tokens."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from config.secrets import hash_token, verify_password
from config.sql import id_of
from organisation.models import Device, Role, Staff, StaffSession
from organisation.snapshot import organisation

SESSION_BYTES = 32  # 256-bit session ids
# Hashing a password that is not there still costs the time of a real check, so the answer's
# timing does not tell an unknown user from a wrong password.
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$C2kacRVFzvUtpHmzHkMjwQ$iumpUB+Czqn5sGFdmDYTbw2czuU59lK+iSG0rNfpvlc"
)


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class SignedIn:
    """An authenticated member of staff and the centres they may act in (None: every centre)."""

    staff: Staff
    session: StaffSession
    centre_ids: frozenset[int] | None

    @property
    def role(self) -> Role:
        return Role(self.staff.role)

    def may_act_in(self, centre_id: int) -> bool:
        return self.centre_ids is None or centre_id in self.centre_ids

    @property
    def actor(self) -> str:
        return f"staff:{self.staff.username}"


def password_hash_of(session: Session, *, username: str) -> str | None:
    """The password hash of an active account, None for an unknown or disabled one."""
    staff = session.exec(select(Staff).where(Staff.username == username, col(Staff.active).is_(True))).first()
    return staff.password_hash if staff is not None else None


def password_matches(password_hash: str | None, password: str) -> bool:
    """Checks the password against the account's hash (`password_hash_of`): slow by design, so the
    caller runs it outside any transaction. An unknown account costs the same as a known one."""
    return verify_password(password_hash or _DUMMY_HASH, password) and password_hash is not None


def open_session(
    session: Session, *, username: str, password_hash: str, now: datetime
) -> tuple[str, SignedIn] | None:
    """Opens a session for an account whose password was checked against `password_hash`; None if
    the account was disabled or given another password meanwhile. Returns its raw id (the cookie)."""
    staff = session.exec(
        select(Staff).where(
            Staff.username == username, col(Staff.active).is_(True), Staff.password_hash == password_hash
        )
    ).first()
    if staff is None:
        return None
    raw_id = secrets.token_urlsafe(SESSION_BYTES)
    record = StaffSession(
        id_hash=hash_token(raw_id),
        staff_id=id_of(staff),
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
    )
    session.add(record)
    return raw_id, SignedIn(staff, record, _centres(session, staff))


def authenticate(
    session: Session, *, raw_id: str, now: datetime, policy: SessionPolicy, touch: bool = True
) -> SignedIn | None:
    """The live session behind a cookie; None when unknown, ended, expired or the account is disabled.

    `touch` counts the request as activity; a page's background refresh does not, so an unattended
    console still times out.
    """
    record = session.get(StaffSession, hash_token(raw_id))
    if record is None or record.ended_at is not None:
        return None
    if now - record.last_seen_at > policy.idle or now - record.created_at > policy.absolute:
        return None
    staff = organisation(session).staff.get(record.staff_id)
    if staff is None or not staff.active:
        return None
    if touch and now - record.last_seen_at > timedelta(seconds=30):  # keep writes rare on busy consoles
        record.last_seen_at = now
        session.add(record)
    return SignedIn(staff, record, _centres(session, staff))


def csrf_matches(signed_in: SignedIn, token: str | None) -> bool:
    """The CSRF token sent with a mutating request is this session's."""
    # Compared as bytes: compare_digest raises on a str with non-ASCII characters, which a header may hold.
    return token is not None and hmac.compare_digest(signed_in.session.csrf_token.encode(), token.encode())


def logout(session: Session, *, raw_id: str, now: datetime) -> None:
    """Ends the session on the server: the cookie stops working at once."""
    record = session.get(StaffSession, hash_token(raw_id))
    if record is not None and record.ended_at is None:
        record.ended_at = now
        session.add(record)


def _centres(session: Session, staff: Staff) -> frozenset[int] | None:
    if staff.role == Role.ADMIN:
        return None
    return organisation(session).staff_centres.get(id_of(staff), frozenset())


def find_device(session: Session, *, token: str) -> Device | None:
    """The live (not revoked) device holding this token (the organisation's copy: read it only)."""
    return organisation(session).devices.get(hash_token(token))
