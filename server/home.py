"""The front page: the centres and the pages Dor serves for them."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from config.i18n import N_
from config.web.pages import render
from config.web.threads import read
from organisation import catalogue

# The pages of DESIGN.md, by path; each is listed once the issue that builds it has landed.
PAGES = (
    (N_("Kiosk"), "/kiosk/{centre}"),
    (N_("Hall display"), "/display/{centre}"),
    (N_("Counter console"), "/counter"),
    (N_("Book an appointment"), "/book"),
    (N_("Draws for scarce places"), "/draws"),
    (N_("Open figures"), "/transparency/{centre}"),
    (N_("Supervisor"), "/supervisor"),
    (N_("Administration"), "/admin"),
)


def served_pages(routes: Sequence[BaseRoute]) -> list[tuple[str, str]]:
    """The pages of PAGES this application serves: (title, path template)."""
    paths = {route.path for route in routes if isinstance(route, Route)}
    return [(title, path) for title, path in PAGES if path in paths]


async def page(request: Request) -> Response:
    """Lists the centres with links to the pages Dor serves for them."""
    centres = await read(request, lambda session: list(catalogue.list_centres(session)))
    pages = served_pages(request.app.routes)
    return render(
        request,
        "home.html",
        {
            "centres": centres,
            "centre_pages": [(t, p) for t, p in pages if "{centre}" in p],
            "other_pages": [(t, p) for t, p in pages if "{centre}" not in p],
            "demo": request.app.state.settings.demo,
        },
    )
