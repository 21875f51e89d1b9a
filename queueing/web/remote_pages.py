"""The citizen's remote ticket: take a place in a centre's queue from a phone, verified by an SMS
code, then follow it on the tracker. The page is a shell over the tickets API; the kiosk shows its QR
code when a nearby centre has a much shorter wait."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from config.sql import id_of
from config.web.errors import not_found
from config.web.pages import render
from config.web.qr import qr_svg_response
from config.web.threads import read
from organisation.catalogue import find_centre, services_of
from organisation.models import Centre, Service


def _centre_and_services(session: Session, code: str) -> tuple[Centre, list[Service]] | None:
    """The centre and the services it takes walk-in tickets for, or None for an unknown centre."""
    centre = find_centre(session, code=code)
    if centre is None:
        return None
    return centre, [s for s in services_of(session, centre_id=id_of(centre)) if s.walk_in]


async def remote_page(request: Request) -> Response:
    """A walk-in service with its wait now, the phone and its SMS code, then the ticket's tracker."""
    code = request.path_params["centre"]
    found = await read(request, lambda session: _centre_and_services(session, code))
    if found is None:
        return render(request, "not_found.html", {"what": code}, status=404)
    centre, services = found
    return render(request, "remote.html", {"centre": centre, "services": services})


async def remote_qr(request: Request) -> Response:
    """An SVG QR code of the centre's remote ticket page (shown by other centres' kiosks)."""
    code = request.path_params["centre"]
    base_url = request.app.state.settings.base_url
    found = await read(request, lambda session: find_centre(session, code=code) is not None)
    if not found:
        raise not_found(request, "centre", code)
    return qr_svg_response(f"{base_url}/remote/{code}")


routes = [
    Route("/remote/{centre}", remote_page, methods=["GET"], name="remote"),
    Route("/remote/{centre}/qr.svg", remote_qr, methods=["GET"], name="remote_qr"),
]
