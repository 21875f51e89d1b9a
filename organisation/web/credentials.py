"""What queueing's routes share: who is calling, the engine's refusals as HTTP answers, the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session
from starlette.requests import Request

from config.i18n import N_
from config.web.errors import ApiError
from organisation.accounts import SessionPolicy, SignedIn, authenticate, csrf_matches, find_device
from organisation.models import Device, DeviceKind, Role

SESSION_COOKIE = "dor_session"
CSRF_HEADER = "x-csrf-token"
# Sent by pages' automatic refreshes: they are not the person's activity (idle timeout).
BACKGROUND_HEADER = "x-dor-background"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Credentials:
    """What a request presents: a staff session cookie, a CSRF token, a device bearer token."""

    cookie: str | None
    csrf: str | None
    bearer: str | None
    mutating: bool
    background: bool = False


def credentials(request: Request) -> Credentials:
    """Reads the credentials off a request (nothing is checked yet)."""
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    return Credentials(
        cookie=request.cookies.get(SESSION_COOKIE),
        csrf=request.headers.get(CSRF_HEADER),
        bearer=token.strip() if scheme.lower() == "bearer" and token.strip() else None,
        mutating=request.method in MUTATING,
        background=request.headers.get(BACKGROUND_HEADER) == "1",
    )


def session_policy(request: Request) -> SessionPolicy:
    settings = request.app.state.settings
    return SessionPolicy(
        idle=timedelta(seconds=settings.session_idle_s),
        absolute=timedelta(seconds=settings.session_absolute_s),
    )


def require_staff(
    session: Session,
    creds: Credentials,
    *,
    now: datetime,
    policy: SessionPolicy,
    centre_id: int | None = None,
) -> SignedIn:
    """The signed-in staff member, allowed in `centre_id`; 401 / 403 otherwise (CSRF included)."""
    signed_in = (
        authenticate(session, raw_id=creds.cookie, now=now, policy=policy, touch=not creds.background)
        if creds.cookie
        else None
    )
    if signed_in is None:
        raise ApiError(401, "unauthorized", N_("sign in first"))
    if creds.mutating and not csrf_matches(signed_in, creds.csrf):
        raise ApiError(403, "csrf_failed", "missing or wrong X-CSRF-Token header")
    if centre_id is not None and not signed_in.may_act_in(centre_id):
        raise ApiError(403, "forbidden", N_("you do not work at this centre"))
    return signed_in


def require_role(signed_in: SignedIn, *roles: Role) -> None:
    if signed_in.role not in roles:
        raise ApiError(
            403, "forbidden", N_("this needs the role %(roles)s"), roles=" / ".join(r.value for r in roles)
        )


def require_device(session: Session, creds: Credentials, *, kind: DeviceKind, centre_id: int) -> Device:
    """The device of this kind and centre behind the bearer token; 401 / 403 otherwise."""
    device = find_device(session, token=creds.bearer) if creds.bearer else None
    if device is None:
        raise ApiError(
            401,
            "unauthorized",
            f"a valid {kind.value} device token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if device.kind != kind.value or device.centre_id != centre_id:
        raise ApiError(403, "forbidden", f"this token is not a {kind.value} of this centre")
    return device
