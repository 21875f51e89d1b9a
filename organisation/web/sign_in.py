"""Staff sign-in and sign-out (shared/API.md, Staff)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from config.throttle import Limit, clear, record_failure, retry_after, take
from config.web.context import now
from config.web.endpoints import operation
from config.web.errors import ApiError
from config.web.threads import hashing, read, write
from eventlog.log import append_national_event
from organisation.accounts import (
    SignedIn,
    find_device,
    logout,
    open_session,
    password_hash_of,
    password_matches,
)
from organisation.models import Centre
from organisation.schemas import DeviceMe, Done, LoginIn, LoginOut, MeOut
from organisation.snapshot import organisation
from organisation.web.credentials import SESSION_COOKIE, credentials, require_staff, session_policy

log = logging.getLogger(__name__)


def _centre_codes(session: Session, signed_in: SignedIn) -> list[str]:
    query = select(Centre.code).order_by(Centre.code)
    if signed_in.centre_ids is not None:
        query = query.where(Centre.id.in_(signed_in.centre_ids))  # type: ignore[union-attr]
    return list(session.exec(query).all())


@operation(
    "POST",
    "/api/v1/auth/login",
    summary="Sign in; sets the session cookie and returns the CSRF token",
    tag="staff",
    body=LoginIn,
    responses={200: LoginOut},
    errors=(401, 429),
)
async def sign_in(request: Request, body: LoginIn) -> Response:
    """Checks the password; an unknown user and a wrong password get the same answer."""
    at, settings = now(request), request.app.state.settings
    window = timedelta(seconds=settings.login_window_s)
    address = request.client.host if request.client else "unknown"
    user_key, address_key = f"login:user:{body.username.lower()}", f"login:address:{address}"
    per_user = Limit(settings.login_failures_per_user, window)
    per_address = Limit(settings.login_failures_per_address, window)
    from_throttled_address = Limit(
        min(settings.login_failures_per_user, settings.login_failures_per_user_from_throttled_address), window
    )

    def reserve(session: Session) -> int | None:
        # An attempt is counted as a failure before its password is checked, in a transaction of its
        # own that commits at once: attempts arriving together cannot all pass before one is counted,
        # and no lock is held through the check (argon2, 0.1 s), which would queue every sign-in to
        # the account and hold a write thread each meanwhile. A success clears the count.
        throttled_address = retry_after(session, key=address_key, limit=per_address, now=at) is not None
        limit = from_throttled_address if throttled_address else per_user
        return take(session, key=user_key, limit=limit, now=at)

    def finish(session: Session, checked: str | None) -> tuple[str, LoginOut] | None:
        opened = None
        if checked is not None:
            opened = open_session(session, username=body.username, password_hash=checked, now=at)
        if opened is None:
            # Counted, not refused: refusing the address would refuse every member of staff behind
            # it. Past its limit, it gets fewer tries per account instead (`reserve`).
            record_failure(session, key=address_key, limit=per_address, now=at)
            append_national_event(
                session,
                type="sign_in_failed",
                actor="anonymous",
                at=at,
                data={"username": body.username[:64], "address": address},
            )
            return None
        clear(session, key=user_key)
        raw_id, signed_in = opened
        append_national_event(
            session, type="signed_in", actor=signed_in.actor, at=at, data={"address": address}
        )
        answer = LoginOut(
            username=signed_in.staff.username,
            role=signed_in.staff.role,
            centres=_centre_codes(session, signed_in),
            csrf_token=signed_in.session.csrf_token,
        )
        return raw_id, answer

    wait = await write(request, reserve)
    if wait is not None:
        log.warning("sign-in throttled for %r from %s", body.username, address)
        raise ApiError(
            429,
            "too_many_attempts",
            f"too many failed sign-ins; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    # The password is checked between two short transactions, on the hashing thread: a flood of
    # guesses queues there, and holds neither a transaction nor a thread that tickets need.
    stored = await read(request, lambda session: password_hash_of(session, username=body.username))
    matches = await hashing(password_matches, stored, body.password)
    result = await write(request, lambda session: finish(session, stored if matches else None))
    if result is None:
        log.info("failed sign-in for %r from %s", body.username, address)
        raise ApiError(401, "invalid_credentials", "wrong username or password")
    raw_id, answer = result
    response = JSONResponse(answer.model_dump())
    response.set_cookie(
        SESSION_COOKIE,
        raw_id,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=request.app.state.settings.session_absolute_s,
        path="/",
    )
    return response


@operation(
    "POST",
    "/api/v1/auth/logout",
    summary="Sign out; the session ends on the server",
    tag="staff",
    responses={200: Done},
    errors=(401, 403),
    security=("session",),
)
async def sign_out(request: Request) -> Response:
    """Ends the session: its cookie stops working at once."""
    creds, at, policy = credentials(request), now(request), session_policy(request)

    def work(session: Session) -> None:
        signed_in = require_staff(session, creds, now=at, policy=policy)
        logout(session, raw_id=creds.cookie or "", now=at)
        append_national_event(session, type="signed_out", actor=signed_in.actor, at=at, data={})

    await write(request, work)
    response = JSONResponse(Done(status="signed_out").model_dump())
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@operation(
    "GET",
    "/api/v1/auth/me",
    summary="The signed-in account, its CSRF token and when its session ends",
    tag="staff",
    responses={200: MeOut},
    errors=(401,),
    security=("session",),
)
async def me(request: Request) -> MeOut:
    """Pages use it to learn who is signed in and to warn before the session expires."""
    creds, at, policy = credentials(request), now(request), session_policy(request)

    def work(session: Session) -> MeOut:
        signed_in = require_staff(session, creds, now=at, policy=policy)
        record = signed_in.session
        return MeOut(
            username=signed_in.staff.username,
            display_name=signed_in.staff.display_name,
            role=signed_in.staff.role,
            centres=_centre_codes(session, signed_in),
            csrf_token=record.csrf_token,
            idle_timeout_s=int(policy.idle.total_seconds()),
            expires_at=min(record.last_seen_at + policy.idle, record.created_at + policy.absolute),
            session_ends_at=record.created_at + policy.absolute,
        )

    return await write(request, work)


@operation(
    "GET",
    "/api/v1/devices/me",
    summary="The kiosk or display behind a device token (401 once revoked)",
    tag="devices",
    responses={200: DeviceMe},
    errors=(401,),
    security=("device",),
)
async def device_me(request: Request) -> DeviceMe:
    """Lets a kiosk check its token at start-up and show "out of service" when it is revoked."""
    creds = credentials(request)

    def work(session: Session) -> DeviceMe:
        device = find_device(session, token=creds.bearer) if creds.bearer else None
        centre = organisation(session).centres_by_id.get(device.centre_id) if device else None
        if device is None or centre is None:
            raise ApiError(
                401, "unauthorized", "unknown or revoked device token", headers={"WWW-Authenticate": "Bearer"}
            )
        return DeviceMe(
            id=device.id or 0,
            kind=device.kind,
            name=device.name,
            centre=centre.code,
            has_printer=bool(device.printer_url),
        )

    return await read(request, work)


routes = [sign_in, sign_out, me, device_me]
