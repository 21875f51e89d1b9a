"""Staff sign-in and sign-out (shared/API.md, Staff)."""

from __future__ import annotations

import logging

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from config.http import ApiError, operation, write
from queueing.accounts import SignedIn, login, logout
from queueing.models import Centre
from queueing.schemas import Done, LoginIn, LoginOut
from queueing.web import SESSION_COOKIE, credentials, now, require_staff, session_policy

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
    errors=(401,),
)
async def sign_in(request: Request, body: LoginIn) -> Response:
    """Checks the password; an unknown user and a wrong password get the same answer."""
    at = now(request)

    def work(session: Session) -> tuple[str, LoginOut] | None:
        result = login(session, username=body.username, password=body.password, now=at)
        if result is None:
            return None
        raw_id, signed_in = result
        answer = LoginOut(
            username=signed_in.staff.username,
            role=signed_in.staff.role,
            centres=_centre_codes(session, signed_in),
            csrf_token=signed_in.session.csrf_token,
        )
        return raw_id, answer

    result = await write(request, work)
    if result is None:
        log.info(
            "failed sign-in for %r from %s", body.username, request.client.host if request.client else "?"
        )
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
        require_staff(session, creds, now=at, policy=policy)
        logout(session, raw_id=creds.cookie or "", now=at)

    await write(request, work)
    response = JSONResponse(Done(status="signed_out").model_dump())
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


routes = [sign_in, sign_out]
