"""Draw routes for admins: opening a draw, and screening its applications before the close
(booking/draws.py). The public ones are booking/web/draws.py."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from booking.appointments import BookingRefused
from booking.brokers import Booking, identity_flags, widest_first
from booking.draw_applications import exclude
from booking.draws import DrawSpec, open_draw
from booking.identities import applicant_identities
from booking.models import ApplicationStatus, Draw, DrawApplication
from booking.schemas import DrawExclusionIn, DrawFlagOut, DrawIn, DrawOut, DrawRecordExcluded
from booking.web.appointments import booking_rules
from booking.web.brokers import broker_rules
from booking.web.draws import draw_of_path, draw_out
from config.i18n import N_
from config.web.context import now
from config.web.endpoints import operation
from config.web.errors import ApiError, not_found, refusal
from config.web.threads import read, write
from organisation.catalogue import find_centre, find_service
from organisation.models import Role
from organisation.web.credentials import credentials, require_role, require_staff, session_policy


@operation(
    "POST",
    "/api/v1/draws",
    summary="Open a draw (admins): its slots are set apart from booking and the commitment to its seed"
    " is published at once",
    tag="draws",
    body=DrawIn,
    responses={201: DrawOut},
    errors=(401, 403, 409),
    security=("session",),
)
async def open_route(request: Request, body: DrawIn) -> Response:
    creds, at, policy, rules = (
        credentials(request),
        now(request),
        session_policy(request),
        booking_rules(request),
    )

    def work(session: Session) -> DrawOut:
        admin = require_staff(session, creds, now=at, policy=policy)
        require_role(admin, Role.ADMIN)
        service = find_service(session, code=body.service)
        if service is None:
            raise _unknown("service", body.service)
        centres = []
        for index, code in enumerate(body.centres):
            centre = find_centre(session, code=code)
            if centre is None:
                raise _unknown(f"centres.{index}", code)
            centres.append(centre)
        spec = DrawSpec(
            code=body.code,
            service=service,
            centres=centres,
            opens_at=body.opens_at,
            closes_at=body.closes_at,
            first_day=body.first_day,
            last_day=body.last_day,
            offer_hours=body.offer_hours,
            reason=body.reason,
        )
        try:
            draw = open_draw(session, spec=spec, rules=rules, actor=admin.actor, now=at)
        except BookingRefused as exc:
            raise refusal(exc) from None
        return draw_out(session, request, draw)

    out = await write(request, work)
    return JSONResponse(out.model_dump(mode="json"), status_code=201)


def _unknown(field: str, code: str) -> ApiError:
    return ApiError(
        422, "invalid_input", N_("field '%(field)s': no such code: %(code)s"), field=field, code=code
    )


def _admin_of_draw(session: Session, request: Request) -> tuple[Draw, str]:
    admin = require_staff(session, credentials(request), now=now(request), policy=session_policy(request))
    require_role(admin, Role.ADMIN)
    return draw_of_path(session, request), admin.actor


@operation(
    "GET",
    "/api/v1/draws/{draw}/flags",
    summary="Applications that share a phone, a browser or a network address beyond the broker rules"
    " (admins), to exclude before the close",
    tag="draws",
    responses={200: list[DrawFlagOut]},
    errors=(401, 403),
    security=("session",),
)
async def flags_route(request: Request) -> list[DrawFlagOut]:
    secret, rules = request.app.state.settings.secret, broker_rules(request)

    def work(session: Session) -> list[DrawFlagOut]:
        draw, _ = _admin_of_draw(session, request)
        rows = session.exec(select(DrawApplication).where(DrawApplication.draw_id == draw.id)).all()
        bookings = [_as_booking(a, secret) for a in rows]
        return [
            DrawFlagOut(
                reason=flag.reason.value,
                identity=str(flag.identity),
                identities=flag.identities,
                pseudonyms=[b.code for b in flag.bookings],
                excluded=[b.code for b in flag.bookings if b.status == ApplicationStatus.EXCLUDED.value],
            )
            for flag in widest_first(identity_flags(bookings, rules))
        ]

    return await read(request, work, slow=True)


def _as_booking(application: DrawApplication, secret: bytes) -> Booking:
    """An application as broker detection reads a booking: its pseudonym for a code, its identities."""
    return Booking(
        code=application.pseudonym,
        centre="",
        service="",
        start=application.created_at,
        created_at=application.created_at,
        released_at=application.created_at,
        status=application.status,
        identities=applicant_identities(application, secret),
    )


@operation(
    "POST",
    "/api/v1/draws/{draw}/applications/{pseudonym}/exclude",
    summary="Take an application out of a draw before its close (admins), with why: published beside"
    " its pseudonym and logged",
    tag="draws",
    body=DrawExclusionIn,
    responses={200: DrawRecordExcluded},
    errors=(401, 403, 404, 409),
    security=("session",),
)
async def exclude_route(request: Request, body: DrawExclusionIn) -> DrawRecordExcluded:
    at, name = now(request), request.path_params["pseudonym"]

    def work(session: Session) -> DrawRecordExcluded:
        draw, actor = _admin_of_draw(session, request)
        try:
            application = exclude(session, draw=draw, pseudonym=name, reason=body.reason, actor=actor, now=at)
        except BookingRefused as exc:
            if exc.code == "not_found":
                raise not_found(request, "application", name) from None
            raise refusal(exc) from None
        return DrawRecordExcluded(pseudonym=application.pseudonym, reason=application.excluded_reason or "")

    return await write(request, work)


routes: Sequence[Route] = [open_route, flags_route, exclude_route]
