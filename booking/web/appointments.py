"""Booking routes: slots of a service at a centre, book, view, cancel, reschedule, calendar file."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import icalendar
from pydantic import TypeAdapter
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from booking.appointments import (
    BookingRefused,
    BookingRules,
    InvalidNationalId,
    book,
    cancel,
    find_by_token,
    national_id_hash,
    national_rules,
    refuse_full_slot,
    reschedule,
)
from booking.availability import first_free_slot, open_slots
from booking.centre_rules import at_centre
from booking.identities import DEVICE_COOKIE, Identities, address_hash, device_hash, phone_hash
from booking.listings import Listings
from booking.models import Appointment
from booking.schemas import (
    AppointmentIn,
    AppointmentOut,
    AvailabilityOut,
    CentrePlacesOut,
    RescheduleIn,
    SlotOut,
    SlotsQuery,
)
from config.i18n import N_
from config.sql import id_of
from config.web.context import now
from config.web.endpoints import operation
from config.web.errors import ApiError, not_found, refusal
from config.web.threads import read, write
from identity.otp import Purpose, Verdict
from identity.web.otp import phone_field
from identity.web.verified import IDEMPOTENCY_HEADER, PhoneCode, retries, write_once
from organisation.catalogue import find_centre, find_service, list_centres
from organisation.models import Centre, CentreService, Service

SLOTS = TypeAdapter(list[SlotOut])


def booking_rules(request: Request) -> BookingRules:
    """The national booking rules, as configured (a centre's own: booking/centre_rules.py)."""
    return national_rules(request.app.state.settings)


def citizen(request: Request, *, national_id: str, phone: str) -> Identities:
    """Who is asking, as their identities' keyed hashes: the national ID typed (422 if it is not
    one), the verified phone, the browser's cookie and the network the request came from."""
    secret = request.app.state.settings.secret
    try:
        return Identities(
            national_id=national_id_hash(secret, national_id),
            phone=phone,
            phone_hash=phone_hash(secret, phone),
            device=device_hash(secret, request.cookies.get(DEVICE_COOKIE)),
            address=address_hash(secret, request.client.host if request.client else None),
        )
    except InvalidNationalId as exc:
        raise ApiError(422, "invalid_input", f"field 'national_id': {exc}") from None


def _centre_and_service(
    session: Session, request: Request, centre_code: str, service_code: str
) -> tuple[Centre, Service]:
    centre = find_centre(session, code=centre_code)
    if centre is None:
        raise not_found(request, "centre", centre_code)
    service = find_service(session, code=service_code)
    if service is None:
        raise not_found(request, "service", service_code)
    return centre, service


def appointment_out(
    session: Session, appointment: Appointment, *, base_url: str, rules: BookingRules
) -> AppointmentOut:
    centre, service = session.get(Centre, appointment.centre_id), session.get(Service, appointment.service_id)
    assert centre is not None and service is not None
    return AppointmentOut(
        code=appointment.code,
        token=appointment.token,
        centre=centre.code,
        service=service.code,
        start=appointment.start.astimezone(ZoneInfo(centre.timezone)),
        end=appointment.end.astimezone(ZoneInfo(centre.timezone)),
        status=appointment.status,
        manage_url=f"{base_url}/book/manage/{appointment.token}",
        reschedules_left=max(0, rules.max_reschedules - appointment.reschedules),
    )


@operation(
    "GET",
    "/api/v1/centres/{centre}/services/{service}/slots",
    summary="Bookable slots of a service at a centre, with the places left",
    tag="booking",
    query=SlotsQuery,
    responses={200: list[SlotOut]},
)
async def list_slots(request: Request, query: SlotsQuery) -> Response:
    """Slots from `from` (the centre's today by default) for `days` days, within the horizon and the
    minimum notice; a full slot is listed with `available: 0`. Served from this process's snapshot
    (booking/listings.py): a change made through this process shows at once, one made through another
    process within a second; the booking itself is the guard against a full slot."""
    rules, at = booking_rules(request), now(request)
    centre_code, service_code = request.path_params["centre"], request.path_params["service"]

    def work(session: Session) -> bytes:
        centre, service = _centre_and_service(session, request, centre_code, service_code)
        if not service.bookable:
            raise ApiError(
                422, "service_not_bookable", N_("%(service)s cannot be booked"), service=service.code
            )
        first = query.from_ or at.astimezone(ZoneInfo(centre.timezone)).date()
        here = at_centre(rules, centre).slots
        found = open_slots(
            session, centre=centre, service=service, first=first, days=query.days, rules=here, now=at
        )
        return SLOTS.dump_json([SlotOut(start=s.start, end=s.end, available=s.available) for s in found])

    listings: Listings = request.app.state.listings
    key = (centre_code, service_code, query.from_, query.days)
    body = await listings.answer(key, now=at, compute=lambda: read(request, work, shared=True))
    return Response(body, media_type="application/json")


@operation(
    "GET",
    "/api/v1/services/{service}/availability",
    summary="Each centre offering a bookable service, with its first slot that has a place left in the"
    " booking horizon (null: no place at all), so a page can say so before asking for a day",
    tag="booking",
    responses={200: AvailabilityOut},
    errors=(404,),
)
async def availability(request: Request) -> AvailabilityOut:
    """Looks a week at a time from now to the end of the horizon, for each centre."""
    rules, at = booking_rules(request), now(request)
    service_code = request.path_params["service"]

    def work(session: Session) -> AvailabilityOut:
        service = find_service(session, code=service_code)
        if service is None:
            raise not_found(request, "service", service_code)
        if not service.bookable:
            raise ApiError(
                422, "service_not_bookable", N_("%(service)s cannot be booked"), service=service.code
            )
        centres = []
        for centre in list_centres(session):
            if session.get(CentreService, (id_of(centre), id_of(service))) is None:
                continue
            here = at_centre(rules, centre).slots
            free = first_free_slot(session, centre=centre, service=service, rules=here, now=at)
            slot = SlotOut(start=free.start, end=free.end, available=free.available) if free else None
            centres.append(
                CentrePlacesOut(centre=centre.code, first_slot=slot, horizon_days=here.horizon_days)
            )
        return AvailabilityOut(service=service.code, horizon_days=rules.slots.horizon_days, centres=centres)

    return await read(request, work, slow=True)


@operation(
    "POST",
    "/api/v1/appointments",
    summary="Book a slot (phone verified by an OTP of purpose 'booking')",
    tag="booking",
    body=AppointmentIn,
    responses={201: AppointmentOut},
    errors=(401, 404, 409),
    headers=(IDEMPOTENCY_HEADER,),
)
async def create(request: Request, body: AppointmentIn) -> Response:
    """Books; a retry with the same Idempotency-Key gets the first answer."""
    retry = retries(request, body)
    phone = phone_field(body.phone)
    settings, rules, at = request.app.state.settings, booking_rules(request), now(request)
    who = citizen(request, national_id=body.national_id, phone=phone)

    once = retry.scoped(f"appointment:{phone}")

    def check(session: Session) -> None:
        if once.replayed(session) is not None:
            return  # the first answer is given again, whatever the slot holds now
        centre, service = _centre_and_service(session, request, body.centre, body.service)
        try:
            refuse_full_slot(
                session,
                centre=centre,
                service=service,
                start=body.start,
                rules=at_centre(rules, centre),
                now=at,
            )
        except BookingRefused as exc:
            raise refusal(exc) from None

    def work(session: Session) -> AppointmentOut | Verdict:
        stored = once.replayed(session)
        if stored is not None:
            return AppointmentOut.model_validate(stored)
        centre, service = _centre_and_service(session, request, body.centre, body.service)
        here = at_centre(rules, centre)
        refused = PhoneCode(request, phone, Purpose.BOOKING, body.otp).check(session, once, now=at)
        if refused is not None:
            return AppointmentOut.model_validate(refused) if isinstance(refused, dict) else refused
        try:
            appointment = book(
                session,
                centre=centre,
                service=service,
                start=body.start,
                who=who,
                language=body.language,
                rules=here,
                now=at,
            )
        except BookingRefused as exc:
            raise refusal(exc) from None
        out = appointment_out(session, appointment, base_url=settings.base_url, rules=rules)
        once.remember(session, out.model_dump(mode="json"), now=at)
        return out

    # A slot already full is refused by a read, beside the others, not in the queue of writes: at a
    # release most attempts are for the slots gone a moment before. `book` still decides, race-safely.
    await read(request, check)
    result = await write_once(request, work)
    return JSONResponse(result.model_dump(mode="json"), status_code=201)


def _by_token(session: Session, request: Request) -> tuple[Appointment, Centre]:
    appointment = find_by_token(session, request.path_params["token"])
    if appointment is None:
        raise not_found(request, "appointment", "…")
    centre = session.get(Centre, appointment.centre_id)
    assert centre is not None
    return appointment, centre


@operation(
    "GET",
    "/api/v1/appointments/{token}",
    summary="An appointment",
    tag="booking",
    responses={200: AppointmentOut},
)
async def view(request: Request) -> AppointmentOut:
    """The appointment behind a manage link."""
    settings, rules = request.app.state.settings, booking_rules(request)

    def work(session: Session) -> AppointmentOut:
        appointment, _ = _by_token(session, request)
        return appointment_out(session, appointment, base_url=settings.base_url, rules=rules)

    return await read(request, work)


@operation(
    "DELETE",
    "/api/v1/appointments/{token}",
    summary="Cancel an appointment; its place returns to the pool",
    tag="booking",
    responses={200: AppointmentOut},
    errors=(409,),
)
async def delete(request: Request) -> AppointmentOut:
    """Cancels through the manage link."""
    settings, rules, at = request.app.state.settings, booking_rules(request), now(request)

    def work(session: Session) -> AppointmentOut:
        appointment, centre = _by_token(session, request)
        try:
            cancel(session, appointment=appointment, centre=centre, now=at)
        except BookingRefused as exc:
            raise refusal(exc) from None
        return appointment_out(session, appointment, base_url=settings.base_url, rules=rules)

    return await write(request, work)


@operation(
    "POST",
    "/api/v1/appointments/{token}/reschedule",
    summary="Move an appointment to another slot (once)",
    tag="booking",
    body=RescheduleIn,
    responses={200: AppointmentOut},
    errors=(409,),
)
async def move(request: Request, body: RescheduleIn) -> AppointmentOut:
    """Takes the new place before freeing the old one."""
    settings, rules, at = request.app.state.settings, booking_rules(request), now(request)

    def work(session: Session) -> AppointmentOut:
        appointment, centre = _by_token(session, request)
        try:
            reschedule(
                session,
                appointment=appointment,
                centre=centre,
                start=body.start,
                rules=at_centre(rules, centre),
                now=at,
            )
        except BookingRefused as exc:
            raise refusal(exc) from None
        return appointment_out(session, appointment, base_url=settings.base_url, rules=rules)

    return await write(request, work)


@operation(
    "GET",
    "/api/v1/appointments/{token}/calendar.ics",
    summary="The appointment as a calendar file (iCalendar)",
    tag="booking",
    responses={200: None},
)
async def calendar(request: Request) -> Response:
    """An .ics event with the centre, the code and the manage link."""
    settings, at = request.app.state.settings, now(request)

    def work(session: Session) -> bytes:
        appointment, centre = _by_token(session, request)
        service = session.get(Service, appointment.service_id)
        assert service is not None
        arabic = appointment.language == "ar"
        event = icalendar.Event()
        event.add("uid", f"{appointment.token}@dor")
        event.add("dtstamp", at)
        event.add("dtstart", appointment.start)
        event.add("dtend", appointment.end)
        event.add("summary", f"{service.name_ar if arabic else service.name_en} — {centre.code}")
        event.add("location", centre.name_ar if arabic else centre.name_en)
        event.add("geo", (centre.latitude, centre.longitude))
        event.add("description", f"{appointment.code}\n{settings.base_url}/book/manage/{appointment.token}")
        cal = icalendar.Calendar()
        cal.add("prodid", "-//Dor//Appointments//EN")
        cal.add("version", "2.0")
        cal.add_component(event)
        return bytes(cal.to_ical())

    text = await read(request, work)
    return Response(
        text,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="appointment.ics"'},
    )


routes = [list_slots, availability, create, view, delete, move, calendar]
