"""POST /api/v1/otp: a one-time code by SMS, for booking or for a remote ticket."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from config.sql import id_of
from config.web.context import now
from config.web.endpoints import operation
from config.web.errors import ApiError, not_found, refusal
from config.web.threads import write
from identity.otp import OtpRules, Purpose, TooManyCodes, send_code
from identity.phones import InvalidPhone, normalise_phone
from identity.schemas import OtpIn, OtpOut
from organisation import catalogue


def otp_rules(request: Request) -> OtpRules:
    """The one-time-code rules configured for this application."""
    settings = request.app.state.settings
    return OtpRules(
        ttl=timedelta(seconds=settings.otp_ttl_s),
        max_wrong=settings.otp_max_wrong,
        per_phone_hour=settings.otp_per_phone_hour,
        per_phone_day=settings.otp_per_phone_day,
        per_address_hour=settings.otp_per_address_hour,
    )


def phone_field(raw: str, field: str = "phone") -> str:
    """A typed phone as E.164, or 422 naming the field."""
    try:
        return normalise_phone(raw)
    except InvalidPhone as exc:
        raise ApiError(422, "invalid_input", f"field '{field}': {exc}") from None


@operation(
    "POST",
    "/api/v1/otp",
    summary="Send a one-time code to a phone by SMS",
    tag="booking",
    body=OtpIn,
    responses={202: OtpOut},
    errors=(404, 429),
)
async def request_otp(request: Request, body: OtpIn) -> Response:
    """Queues an SMS with a new code; the phone's earlier codes for this purpose stop working."""
    phone = phone_field(body.phone)
    rules, at, settings = otp_rules(request), now(request), request.app.state.settings
    address = request.client.host if request.client else "unknown"

    def work(session: Session) -> None:
        centre_id = None
        if body.centre is not None:
            centre = catalogue.find_centre(session, code=body.centre)
            if centre is None:
                raise not_found(request, "centre", body.centre)
            centre_id = id_of(centre)
        send_code(
            session,
            phone=phone,
            purpose=Purpose(body.purpose),
            address=address,
            language=body.language,
            rules=rules,
            secret=settings.secret,
            now=at,
            centre_id=centre_id,
        )

    try:
        await write(request, work)
    except TooManyCodes as exc:
        raise refusal(exc) from None
    out = OtpOut(status="queued", expires_in_s=int(rules.ttl.total_seconds()))
    return JSONResponse(out.model_dump(), status_code=202)


routes = [request_otp]
