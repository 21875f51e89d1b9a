"""The kiosk of a centre and the agent's counter console. The pages are shells; everything they do
goes through the API, which checks every action."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from config.web.pages import render
from config.web.threads import read
from organisation.catalogue import find_centre
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
    centre = await read(request, lambda session: find_centre(session, code=code))
    if centre is None:
        return render(request, "not_found.html", {"what": code}, status=404)
    return render(request, "kiosk.html", {"centre": centre})


routes = [
    Route("/kiosk/{centre}", kiosk_page, methods=["GET"], name="kiosk"),
    Route("/counter", counter_page, methods=["GET"], name="counter"),
]
