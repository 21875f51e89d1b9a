"""A supervisor's message on the centre's hall displays (display/hall_messages.py): put it up, or
take it down before its end. Supervisors of the centre and admins; kept in the centre's event log
with its author."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from config.i18n import N_
from config.web.context import now
from config.web.endpoints import operation
from config.web.errors import ApiError
from display.hall_messages import HallMessageIn, HallMessageOut, clear_message, message_end, show_message
from organisation.models import Centre
from organisation.web.managers import managed_change


@operation(
    "PUT",
    "/api/v1/centres/{centre}/hall-message",
    summary="Show a message (Arabic and English) on the centre's hall displays until a time today",
    tag="administration",
    body=HallMessageIn,
    responses={200: HallMessageOut},
    errors=(401, 403),
    security=("session",),
)
async def put_hall_message(request: Request, body: HallMessageIn) -> HallMessageOut:
    """Replaces the message shown; logged as `hall_message`. The displays show it and speak it once."""
    at = now(request)

    def work(session: Session, centre: Centre, actor: str) -> HallMessageOut:
        ends = message_end(centre, now=at, until=body.until)
        if ends is None:
            raise ApiError(422, "invalid_input", N_("field 'until': must be a time later today"))
        return show_message(session, centre=centre, ar=body.ar, en=body.en, ends=ends, actor=actor, now=at)

    return await managed_change(request, work)


@operation(
    "DELETE",
    "/api/v1/centres/{centre}/hall-message",
    summary="Take the hall displays' message down before its end",
    tag="administration",
    responses={204: None},
    errors=(401, 403, 409),
    security=("session",),
)
async def delete_hall_message(request: Request) -> Response:
    """Logged as `hall_message_cleared`; 409 no_hall_message when none is shown."""
    at = now(request)

    def work(session: Session, centre: Centre, actor: str) -> None:
        clear_message(session, centre=centre, actor=actor, now=at)

    await managed_change(request, work)
    return Response(status_code=204)


routes = [put_hall_message, delete_hall_message]
