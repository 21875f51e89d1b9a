"""Draw routes for everyone: the draws, their published records, applying and an application's
status, accepting or declining a place offered (booking/draws.py, booking/draw_results.py). The
admins' are booking/web/draw_admin.py."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from booking.appointments import BookingRefused
from booking.draw_applications import ApplicationCaps, applications, apply, find_application
from booking.draw_record import published, published_places
from booking.draws import find_draw, list_draws, places_left, state
from booking.models import ApplicationStatus, Appointment, Draw, DrawApplication
from booking.schemas import (
    DrawApplicationIn,
    DrawApplicationOut,
    DrawOfferOut,
    DrawOut,
    DrawPlacesOut,
    DrawRecordEntry,
    DrawRecordExcluded,
    DrawRecordOut,
    DrawRecordPlace,
)
from booking.waiting_list import accept, decline
from booking.web.appointments import appointment_out, booking_rules, citizen
from config.web.context import now
from config.web.endpoints import operation
from config.web.errors import ApiError, not_found, refusal
from config.web.threads import read, write
from identity.otp import Purpose, Verdict
from identity.web.otp import phone_field
from identity.web.verified import IDEMPOTENCY_HEADER, PhoneCode, retries, write_once
from organisation.catalogue import find_centre
from organisation.models import Service


def draw_out(session: Session, request: Request, draw: Draw) -> DrawOut:
    service = session.get(Service, draw.service_id)
    assert service is not None
    at = now(request)
    drawn = draw.drawn_at is not None
    per_day: Counter[tuple[str, date]] = Counter()
    for place in published_places(draw) if drawn else places_left(session, draw):
        per_day[place.centre, place.day] += place.places
    counts = _outcomes(session, draw) if drawn else {}
    return DrawOut(
        code=draw.code,
        service=service.code,
        centres=draw.centres,
        opens_at=draw.opens_at,
        closes_at=draw.closes_at,
        first_day=draw.first_day,
        last_day=draw.last_day,
        state=state(draw, at),
        commitment=draw.commitment,
        seed=draw.seed if drawn else None,
        list_digest=draw.list_digest,
        applications=applications(session, draw),
        places=[DrawPlacesOut(centre=c, day=d, places=n) for (c, d), n in sorted(per_day.items())],
        places_total=sum(per_day.values()),
        winners=counts.get("winners") if drawn else None,
        waiting=counts.get("waiting") if drawn else None,
        offer_hours=draw.offer_hours,
        record_url=f"{request.app.state.settings.base_url}/api/v1/draws/{draw.code}/record",
    )


def _outcomes(session: Session, draw: Draw) -> dict[str, int]:
    """How many the draw gave a place, and how many it put on the waiting list."""
    drawn = session.exec(
        select(col(DrawApplication.waiting).is_(None), func.count())
        .where(DrawApplication.draw_id == draw.id, col(DrawApplication.rank).is_not(None))
        .group_by(col(DrawApplication.waiting).is_(None))
    ).all()
    counts = dict(drawn)
    return {"winners": counts.get(True, 0), "waiting": counts.get(False, 0)}


def draw_of_path(session: Session, request: Request) -> Draw:
    code = request.path_params["draw"]
    draw = find_draw(session, code)
    if draw is None:
        raise not_found(request, "draw", code)
    return draw


@operation(
    "GET",
    "/api/v1/draws",
    summary="Every draw, the latest window first: its service, centres, days, places, window and the"
    " commitment to its seed",
    tag="draws",
    responses={200: list[DrawOut]},
)
async def list_route(request: Request) -> list[DrawOut]:
    def work(session: Session) -> list[DrawOut]:
        return [draw_out(session, request, draw) for draw in list_draws(session)]

    return await read(request, work, slow=True)


@operation(
    "GET",
    "/api/v1/draws/{draw}",
    summary="A draw: its places, window and commitment; once drawn, its seed and list digest",
    tag="draws",
    responses={200: DrawOut},
)
async def view_route(request: Request) -> DrawOut:
    def work(session: Session) -> DrawOut:
        return draw_out(session, request, draw_of_path(session, request))

    return await read(request, work)


@operation(
    "GET",
    "/api/v1/draws/{draw}/record",
    summary="A drawn draw's record: the seed, the places, every application by pseudonym with its choices"
    " and result, and those excluded with why; `dor draw verify` re-runs it",
    tag="draws",
    responses={200: DrawRecordOut},
    errors=(409,),
)
async def record_route(request: Request) -> DrawRecordOut:
    def work(session: Session) -> DrawRecordOut:
        draw = draw_of_path(session, request)
        found = published(session, draw)
        if found is None:
            raise ApiError(409, "draw_not_drawn", "%(draw)s has not been drawn yet", draw=draw.code)
        record = found.record
        outcomes = {o.pseudonym: o for o in record.outcomes}
        return DrawRecordOut(
            draw=draw.code,
            service=found.service,
            commitment=record.commitment,
            seed=record.seed.hex(),
            list_digest=draw.list_digest or "",
            places=[
                DrawRecordPlace(centre=p.centre, day=p.day, start=p.start, places=p.places)
                for p in record.places
            ],
            applications=[
                DrawRecordEntry(
                    pseudonym=a.pseudonym,
                    choices=[str(c) for c in a.choices],
                    rank=outcomes[a.pseudonym].rank,
                    centre=outcomes[a.pseudonym].centre,
                    start=outcomes[a.pseudonym].start,
                    waiting=outcomes[a.pseudonym].waiting,
                )
                for a in record.applications
            ],
            excluded=[DrawRecordExcluded(pseudonym=p, reason=r) for p, r in found.excluded],
        )

    return await read(request, work, slow=True)


def application_out(session: Session, request: Request, application: DrawApplication) -> DrawApplicationOut:
    settings = request.app.state.settings
    draw = session.get(Draw, application.draw_id)
    assert draw is not None
    appointment = session.get(Appointment, application.appointment_id) if application.appointment_id else None
    offer = None
    if application.status == ApplicationStatus.OFFERED.value and application.offer_centre:
        centre = find_centre(session, code=application.offer_centre)
        assert centre is not None and application.offer_start and application.offer_expires_at
        zone = ZoneInfo(centre.timezone)
        offer = DrawOfferOut(
            centre=centre.code,
            start=application.offer_start.astimezone(zone),
            expires_at=application.offer_expires_at.astimezone(zone),
        )
    return DrawApplicationOut(
        draw=draw.code,
        pseudonym=application.pseudonym,
        token=application.token,
        status=application.status,
        choices=application.choices,
        excluded_reason=application.excluded_reason,
        rank=application.rank,
        waiting=application.waiting,
        offer=offer,
        appointment=appointment_out(
            session, appointment, base_url=settings.base_url, rules=booking_rules(request)
        )
        if appointment
        else None,
        status_url=f"{settings.base_url}/draws/applications/{application.token}",
    )


@operation(
    "POST",
    "/api/v1/draws/{draw}/applications",
    summary="Apply to an open draw (phone verified by an OTP of purpose 'draw'): one application per"
    " national ID; applying early gains nothing",
    tag="draws",
    body=DrawApplicationIn,
    responses={201: DrawApplicationOut},
    errors=(401, 404, 409),
    headers=(IDEMPOTENCY_HEADER,),
)
async def apply_route(request: Request, body: DrawApplicationIn) -> Response:
    """A retry with the same Idempotency-Key gets the first answer."""
    retry = retries(request, body)
    phone = phone_field(body.phone)
    settings, rules, at = request.app.state.settings, booking_rules(request), now(request)
    caps = ApplicationCaps(
        per_phone=settings.broker_phone_identities, per_device=settings.broker_device_identities
    )
    who = citizen(request, national_id=body.national_id, phone=phone)

    def work(session: Session) -> DrawApplicationOut | Verdict:
        once = retry.scoped(f"draw:{phone}")
        stored = once.replayed(session)
        if stored is not None:
            return DrawApplicationOut.model_validate(stored)
        draw = draw_of_path(session, request)
        refused = PhoneCode(request, phone, Purpose.DRAW, body.otp).check(session, once, now=at)
        if refused is not None:
            return DrawApplicationOut.model_validate(refused) if isinstance(refused, dict) else refused
        try:
            application = apply(
                session,
                draw=draw,
                who=who,
                choices=body.choices,
                language=body.language,
                caps=caps,
                rules=rules,
                secret=settings.secret,
                now=at,
            )
        except BookingRefused as exc:
            raise refusal(exc) from None
        out = application_out(session, request, application)
        once.remember(session, out.model_dump(mode="json"), now=at)
        return out

    result = await write_once(request, work)
    return JSONResponse(result.model_dump(mode="json"), status_code=201)


def _application_of_path(session: Session, request: Request) -> DrawApplication:
    application = find_application(session, request.path_params["token"])
    if application is None:
        raise not_found(request, "application", "…")
    return application


@operation(
    "GET",
    "/api/v1/draw-applications/{token}",
    summary="An application: its pseudonym, choices and, once drawn, its result, offer or appointment",
    tag="draws",
    responses={200: DrawApplicationOut},
)
async def application_route(request: Request) -> DrawApplicationOut:
    def work(session: Session) -> DrawApplicationOut:
        return application_out(session, request, _application_of_path(session, request))

    return await read(request, work)


@operation(
    "POST",
    "/api/v1/draw-applications/{token}/accept",
    summary="Take the place offered from the waiting list, before its deadline: an appointment",
    tag="draws",
    responses={200: DrawApplicationOut},
    errors=(409,),
)
async def accept_route(request: Request) -> DrawApplicationOut:
    rules, at = booking_rules(request), now(request)

    def work(session: Session) -> DrawApplicationOut:
        application = _application_of_path(session, request)
        try:
            accept(session, application=application, rules=rules, now=at)
        except BookingRefused as exc:
            raise refusal(exc) from None
        return application_out(session, request, application)

    return await write(request, work)


@operation(
    "POST",
    "/api/v1/draw-applications/{token}/decline",
    summary="Give the place offered back: it goes to the next on the waiting list",
    tag="draws",
    responses={200: DrawApplicationOut},
    errors=(409,),
)
async def decline_route(request: Request) -> DrawApplicationOut:
    at = now(request)

    def work(session: Session) -> DrawApplicationOut:
        application = _application_of_path(session, request)
        try:
            decline(session, application=application, now=at)
        except BookingRefused as exc:
            raise refusal(exc) from None
        return application_out(session, request, application)

    return await write(request, work)


async def short_link(request: Request) -> Response:
    """The link an SMS carries (short, to fit the message) to an application's status page."""
    return RedirectResponse(f"/draws/applications/{request.path_params['token']}", status_code=302)


routes: Sequence[Route] = [
    list_route,
    view_route,
    record_route,
    apply_route,
    application_route,
    accept_route,
    decline_route,
    Route("/d/{token}", short_link, methods=["GET"]),
]
