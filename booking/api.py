"""Booking routes. For now: check-in at the kiosk (the booking pages come with the booking issue)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from booking.checkin import CheckInRefused, Window, check_in
from config.http import ApiError, Strict, not_found, operation
from queueing.events import write_and_publish
from queueing.models import DeviceKind, id_of
from queueing.schemas import TicketOut
from queueing.service import (
    Limit,
    clear,
    credentials,
    find_centre,
    now,
    policy_config,
    record_failure,
    require_device,
    retry_after,
    ticket_view,
)

# Five wrong codes in a row slow a kiosk down for half a minute; they never lock it.
WRONG_CODES = Limit(failures=5, window=timedelta(seconds=30))


class CheckInIn(Strict):
    code: str = Field(
        min_length=1,
        max_length=200,
        description="typed (Arabic-Indic digits accepted), or the confirmation's QR scanned",
    )


@operation(
    "POST",
    "/api/v1/centres/{centre}/check-in",
    summary="Check in an appointment at the kiosk: it becomes a ticket with appointment priority",
    tag="booking",
    body=CheckInIn,
    responses={201: TicketOut},
    errors=(401, 403, 409, 429),
    security=("device",),
)
async def check_in_route(request: Request, body: CheckInIn) -> Response:
    """Turns the appointment with this code into a ticket."""
    code = request.path_params["centre"]
    creds, at, policy, settings = (
        credentials(request),
        now(request),
        policy_config(request),
        request.app.state.settings,
    )
    window = Window(
        early=timedelta(seconds=settings.checkin_early_s),
        late=timedelta(seconds=settings.checkin_late_s),
        late_becomes_walk_in=settings.late_checkin == "walk_in",
    )

    def work(session: Session) -> TicketOut | tuple[str, str] | int:
        centre = find_centre(session, code=code)
        if centre is None:
            raise not_found(request, "centre", code)
        device = require_device(session, creds, kind=DeviceKind.KIOSK, centre_id=id_of(centre))
        key = f"checkin:device:{device.id}"
        wait = retry_after(session, key=key, limit=WRONG_CODES, now=at)
        if wait:
            return wait
        try:
            ticket = check_in(
                session,
                centre=centre,
                typed_code=body.code,
                window=window,
                actor=f"device:{device.id}",
                now=at,
                ignore_hours=settings.always_open,
            )
        except CheckInRefused as refusal:
            if refusal.code == "unknown_code":
                record_failure(session, key=key, limit=WRONG_CODES, now=at)
            return refusal.code, str(refusal)
        clear(session, key=key)
        return ticket_view(session, ticket, centre=centre, policy=policy, base_url=settings.base_url, now=at)

    result = await write_and_publish(request, work)
    if isinstance(result, int):
        raise ApiError(
            429,
            "too_many_attempts",
            f"too many unknown codes; wait {result} s",
            headers={"Retry-After": str(result)},
        )
    if isinstance(result, tuple):
        reason, message = result
        raise ApiError(404 if reason == "unknown_code" else 409, reason, message)
    return JSONResponse(result.model_dump(mode="json"), status_code=201)


routes = [check_in_route]
