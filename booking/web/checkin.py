"""Check-in at the kiosk: an appointment's code or QR, or a remote ticket's tracker QR, or a remote
ticket's number with the last four digits of its phone."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from booking.checkin import CheckInRefused, Window, check_in, check_in_by_number, check_in_remote
from config.i18n import N_
from config.schemas import Strict
from config.sql import id_of
from config.throttle import Limit, clear, record_failure, retry_after
from config.web.context import now
from config.web.endpoints import operation
from config.web.errors import ApiError, not_found, refusal
from config.web.threads import write
from organisation.catalogue import find_centre
from organisation.models import DeviceKind
from organisation.web.credentials import credentials, require_device
from queueing.schemas import TicketOut
from queueing.service import scanned_token, ticket_view, typed_number
from queueing.web.context import policy_config

# Five wrong codes in a row slow a kiosk down for half a minute; they never lock it.
WRONG_CODES = Limit(failures=5, window=timedelta(seconds=30))


class CheckInIn(Strict):
    code: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="an appointment's code typed (Arabic-Indic digits accepted) or its confirmation's "
        "QR scanned, or a remote ticket's tracker QR scanned",
    )
    number: str | None = Field(
        default=None,
        max_length=10,
        description="instead of `code`: a remote ticket's number as printed (A-012; `a12` and "
        "Arabic-Indic digits accepted), with `phone_last4`",
        examples=["A-012"],
    )
    phone_last4: str | None = Field(
        default=None,
        pattern=r"^[0-9٠-٩۰-۹]{4}$",
        description="with `number`: the last four digits of the phone the remote ticket was taken with",
        examples=["4567"],
    )


def asked(body: CheckInIn) -> str | tuple[str, str]:
    """The code typed or scanned, or the ticket number and phone digits typed; a body that is
    neither, or both, is refused naming the input to fix."""
    if body.code is not None:
        if body.number is not None or body.phone_last4 is not None:
            raise ApiError(
                422, "invalid_input", N_("field 'number': send either a code or a number, not both")
            )
        return body.code
    if body.number is None:
        raise ApiError(422, "invalid_input", N_("field 'code': send a code, or a ticket number"))
    number = typed_number(body.number)
    if number is None:
        raise ApiError(
            422,
            "invalid_input",
            N_("field 'number': %(typed)s is not a ticket number like A-012"),
            typed=body.number,
        )
    if body.phone_last4 is None:
        raise ApiError(
            422, "invalid_input", N_("field 'phone_last4': give the last four digits of the ticket's phone")
        )
    return number, body.phone_last4


@operation(
    "POST",
    "/api/v1/centres/{centre}/check-in",
    summary="Check in at the kiosk: an appointment becomes a ticket with appointment priority (201); "
    "a remote ticket's holder is in the hall, so it may be called (200): by its tracker QR as `code`, or "
    "by `number` and `phone_last4` (a wrong phone is answered as an unknown number, and counts as a "
    "wrong code)",
    tag="booking",
    body=CheckInIn,
    responses={200: TicketOut, 201: TicketOut},
    errors=(401, 403, 409, 429),
    security=("device",),
)
async def check_in_route(request: Request, body: CheckInIn) -> Response:
    """Turns the appointment with this code into a ticket, or lets a remote ticket be called."""
    code = request.path_params["centre"]
    what = asked(body)
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
    grace = timedelta(seconds=settings.remote_check_in_grace_s)

    def work(session: Session) -> tuple[TicketOut, int] | CheckInRefused | int:
        centre = find_centre(session, code=code)
        if centre is None:
            raise not_found(request, "centre", code)
        device = require_device(session, creds, kind=DeviceKind.KIOSK, centre_id=id_of(centre))
        key = f"checkin:device:{device.id}"
        wait = retry_after(session, key=key, limit=WRONG_CODES, now=at)
        if wait:
            return wait
        actor = f"device:{device.id}"
        token = scanned_token(what) if isinstance(what, str) else None
        try:
            if isinstance(what, tuple):  # a remote ticket's number: nothing is created
                number, last4 = what
                ticket = check_in_by_number(
                    session, centre=centre, number=number, phone_last4=last4, actor=actor, now=at, grace=grace
                )
            elif token is None:
                ticket = check_in(
                    session,
                    centre=centre,
                    typed_code=what,
                    window=window,
                    actor=actor,
                    now=at,
                    ignore_hours=settings.always_open,
                )
            else:  # a remote ticket's tracker QR: nothing is created, the ticket may now be called
                ticket = check_in_remote(
                    session, centre=centre, token=token, actor=actor, now=at, grace=grace
                )
        except CheckInRefused as refused:
            if refused.code == "unknown_code":
                record_failure(session, key=key, limit=WRONG_CODES, now=at)
            return refused
        clear(session, key=key)
        view = ticket_view(session, ticket, centre=centre, policy=policy, base_url=settings.base_url, now=at)
        created = isinstance(what, str) and token is None  # an appointment became a ticket
        return view, 201 if created else 200

    result = await write(request, work)
    if isinstance(result, int):
        raise ApiError(
            429,
            "too_many_attempts",
            N_("too many unknown codes; wait %(seconds)d s"),
            headers={"Retry-After": str(result)},
            seconds=result,
        )
    if isinstance(result, CheckInRefused):
        raise refusal(result)
    view, status = result
    return JSONResponse(view.model_dump(mode="json"), status_code=status)


routes = [check_in_route]
