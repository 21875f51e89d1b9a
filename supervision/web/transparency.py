"""The public transparency page and its JSON, per centre; no sign-in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking import draws
from booking.centre_rules import at_centre
from booking.web.appointments import booking_rules
from booking.web.pages import ARABIC_DIGITS, BABEL_LOCALES
from config.i18n import translations
from config.web.context import now
from config.web.endpoints import operation
from config.web.errors import not_found
from config.web.pages import page_language, render
from config.web.threads import read
from organisation.catalogue import find_centre
from organisation.models import Centre
from supervision.feedback import PublicFeedbackOut, public_feedback
from supervision.transparency import DayFiguresOut, TransparencyOut, TransparencyQuery, figures

Found = tuple[Centre, list[DayFiguresOut], PublicFeedbackOut]


@dataclass(frozen=True)
class DrawHere:
    """A draw naming the centre, as its transparency page lists it."""

    code: str
    state: draws.State
    commitment: str


async def _figures(request: Request, days: int) -> Found | None:
    """The centre of the path, its figures and what citizens said of it; None for an unknown centre."""
    code, at, rules = request.path_params["centre"], now(request), booking_rules(request)

    def work(session: Session) -> Found | None:
        centre = find_centre(session, code=code)
        if centre is None:
            return None
        today = at.astimezone(ZoneInfo(centre.timezone)).date()
        return (
            centre,
            figures(session, centre=centre, today=today, days=days, rules=at_centre(rules, centre).slots),
            public_feedback(session, centre=centre, now=at),
        )

    return await read(request, work, slow=True)


@operation(
    "GET",
    "/api/v1/centres/{centre}/transparency",
    summary="Public figures of a centre, day by day: served, median wait, no-shows, booking places; "
    "the mean rating citizens gave over 30 days",
    tag="catalogue",
    query=TransparencyQuery,
    responses={200: TransparencyOut},
)
async def transparency_api(request: Request, query: TransparencyQuery) -> TransparencyOut:
    found = await _figures(request, query.days)
    if found is None:
        raise not_found(request, "centre", request.path_params["centre"])
    centre, days, feedback = found
    return TransparencyOut(centre=centre.code, days=days, feedback=feedback)


def _draws_at(session: Session, centre: Centre, at: datetime) -> list[DrawHere]:
    """The draws whose places include this centre's, with their state and commitment."""
    return [
        DrawHere(d.code, draws.state(d, at), d.commitment)
        for d in draws.list_draws(session)
        if centre.code in d.centres
    ]


async def transparency_page(request: Request) -> Response:
    """The same figures for anyone, in Arabic or English, the latest day first; the centre's draws."""
    found = await _figures(request, TransparencyQuery().days)
    if found is None:
        return render(request, "not_found.html", {"what": ""}, status=404)
    centre, days, feedback = found
    at = now(request)
    draws_here = await read(request, lambda session: _draws_at(session, centre, at))
    lang = page_language(request)
    digits = ARABIC_DIGITS if lang == "ar" else str.maketrans("", "")
    minutes = translations(lang).gettext("min")
    rows = [
        {
            "day": format_date(d.day, format="EEE d MMM", locale=BABEL_LOCALES[lang]).translate(digits),
            "served": str(d.served).translate(digits),
            "wait": "—"
            if d.median_wait_s is None
            else f"{round(d.median_wait_s / 60)} {minutes}".translate(digits),
            "no_show": "—" if d.no_show_share is None else f"{d.no_show_share:.0%}".translate(digits),
            "places": f"{d.booking_places_taken} / {d.booking_places}".translate(digits),
        }
        for d in reversed(days)
    ]
    context = {"centre": centre, "rows": rows, "feedback": feedback, "draws": draws_here}
    return render(request, "transparency.html", context)


routes = [transparency_api, Route("/transparency/{centre}", transparency_page, methods=["GET"])]
