"""The kiosk of a centre and the agent's counter console. The pages are shells; everything they do
goes through the API, which checks every action."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from config.sql import id_of
from config.web.pages import render
from config.web.threads import read
from organisation.catalogue import find_centre, services_of
from organisation.models import Centre, Service
from organisation.web.pages import signed_in, to_login

PAUSE_REASONS = ("break", "prayer", "meeting", "system_problem", "training")


async def counter_page(request: Request) -> Response:
    """The agent's console: choose a counter of the centre, then work it."""
    me = await signed_in(request)
    if me is None:
        return to_login(request)
    return render(request, "counter.html", {"me": me.staff, "pause_reasons": PAUSE_REASONS})


async def kiosk_page(request: Request) -> Response:
    """The kiosk of a centre; the device token is kept by the kiosk's browser (see kiosk.js)."""
    code = request.path_params["centre"]

    def work(session: Session) -> tuple[Centre, Sequence[Service]] | None:
        centre = find_centre(session, code=code)
        return None if centre is None else (centre, services_of(session, centre_id=id_of(centre)))

    found = await read(request, work)
    if found is None:
        return render(request, "not_found.html", {"what": code}, status=404)
    centre, services = found
    # The letters of the centre's ticket numbers, for the check-in keypad (a remote ticket's number).
    prefixes = "".join(sorted({service.prefix for service in services}))
    return render(request, "kiosk.html", {"centre": centre, "prefixes": prefixes})


routes = [
    Route("/kiosk/{centre}", kiosk_page, methods=["GET"], name="kiosk"),
    Route("/counter", counter_page, methods=["GET"], name="counter"),
]
