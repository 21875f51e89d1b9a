"""The citizen's booking pages: book a slot step by step, then see, move or cancel it by its link.
The pages are shells over the booking API; the catalogue is rendered in, so the first step needs no
request."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking.appointments import BookingRules, find_by_token
from booking.centre_rules import at_centre
from booking.identities import DEVICE_COOKIE, DEVICE_COOKIE_MAX_AGE_S, new_device_id
from booking.models import Appointment, AppointmentStatus
from booking.web.appointments import booking_rules
from config.i18n import N_, translations
from config.sql import id_of
from config.web.errors import ApiError, not_found
from config.web.pages import page_language, render
from config.web.qr import qr_svg_response
from config.web.threads import read
from organisation.catalogue import list_centres, services_of
from organisation.models import Centre, Service
from queueing.models import Ticket

ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")  # the transparency page's figures use it too
BABEL_LOCALES = {"ar": "ar_SY", "en": "en_GB"}


def _catalogue(session: Session, rules: BookingRules) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The bookable services (each once, with its documents and fee) and the centres offering them,
    each with how many days ahead it may be booked."""
    services: dict[str, dict[str, Any]] = {}
    centres: list[dict[str, Any]] = []
    for centre in list_centres(session):
        offered = [s for s in services_of(session, centre_id=id_of(centre)) if s.bookable]
        for service in offered:
            services.setdefault(
                service.code,
                {
                    "code": service.code,
                    "name": {"ar": service.name_ar, "en": service.name_en},
                    "description": {"ar": service.description_ar, "en": service.description_en},
                    "documents": service.required_documents,
                    "fee": service.fee,
                    "icon": service.icon,
                },
            )
        centres.append(
            {
                "code": centre.code,
                "name": {"ar": centre.name_ar, "en": centre.name_en},
                "governorate": centre.governorate,
                "lat": centre.latitude,
                "lon": centre.longitude,
                "services": [s.code for s in offered],
                "horizon_days": at_centre(rules, centre).slots.horizon_days,
            }
        )
    return sorted(services.values(), key=lambda s: str(s["code"])), centres


async def book_page(request: Request) -> Response:
    """Step by step: a service and what to bring, a centre, a day and a time, the phone, the ID."""
    rules = booking_rules(request)
    services, centres = await read(request, lambda session: _catalogue(session, rules))
    gettext = translations(page_language(request)).gettext
    for centre in centres:
        centre["governorate"] = gettext(centre["governorate"])
    response = render(request, "book.html", {"services": services, "centres": centres})
    if DEVICE_COOKIE not in request.cookies:
        # Marks this browser, so broker detection can see many IDs booked from one (booking/brokers.py).
        response.set_cookie(
            DEVICE_COOKIE,
            new_device_id(),
            max_age=DEVICE_COOKIE_MAX_AGE_S,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return response


async def manage_page(request: Request) -> Response:
    """Where the confirmation's link and QR code lead: the appointment, to cancel or move."""
    token = request.path_params["token"]

    def work(session: Session) -> tuple[Appointment, Centre, Service, str | None] | None:
        appointment = find_by_token(session, token)
        if appointment is None:
            return None
        centre, service = (
            session.get(Centre, appointment.centre_id),
            session.get(Service, appointment.service_id),
        )
        assert centre is not None and service is not None
        ticket = session.get(Ticket, appointment.ticket_id) if appointment.ticket_id else None
        return appointment, centre, service, ticket.token if ticket else None

    found = await read(request, work)
    if found is None:
        return render(request, "not_found.html", {"what": ""}, status=404)
    appointment, centre, service, ticket_token = found
    language = page_language(request)
    start = appointment.start.astimezone(ZoneInfo(centre.timezone))
    end = appointment.end.astimezone(ZoneInfo(centre.timezone))
    context = {
        "appointment": appointment,
        "centre": centre,
        "service": service,
        "token": token,
        "ticket_token": ticket_token,
        "day": format_date(start.date(), format="full", locale=BABEL_LOCALES[language]),
        "time": f"{start:%H:%M} – {end:%H:%M}",
        "reschedules_left": max(0, booking_rules(request).max_reschedules - appointment.reschedules),
    }
    return render(request, "manage.html", context)


async def manage_qr(request: Request) -> Response:
    """An SVG QR code of the appointment's manage link (shown at the kiosk to check in); 410 once
    the appointment can no longer be checked in, so no old screenshot of it looks valid."""
    token = request.path_params["token"]
    base_url = request.app.state.settings.base_url

    def status_of(session: Session) -> str | None:
        appointment = find_by_token(session, token)
        return appointment.status if appointment else None

    status = await read(request, status_of)
    if status is None:
        raise not_found(request, "appointment", "…")
    if status != AppointmentStatus.BOOKED.value:
        raise ApiError(410, "appointment_not_active", N_("this appointment is %(status)s"), status=status)
    response = qr_svg_response(f"{base_url}/book/manage/{token}")
    # The picture stops being valid when the appointment is cancelled: a browser asks again each time.
    response.headers["Cache-Control"] = "no-cache"
    return response


routes = [
    Route("/book", book_page, methods=["GET"], name="book"),
    Route("/book/manage/{token}", manage_page, methods=["GET"], name="manage_booking"),
    Route("/book/manage/{token}/qr.svg", manage_qr, methods=["GET"], name="manage_booking_qr"),
]
