"""The pages of the draws (booking/draws.py): the public list, a draw's page (its facts and
commitment; the application form while it is open; its results, a page at a time, once drawn), an
applicant's status page, and the admins' page. They show the API's shapes, rendered in; what they
change goes through the API."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from sqlalchemy import ColumnElement
from sqlmodel import Session, col, func, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from booking import draw_applications, draws
from booking.lottery import Choice
from booking.models import ApplicationStatus, Draw, DrawApplication
from booking.schemas import DrawApplicationOut, DrawOut
from booking.web.draws import application_out, draw_out
from booking.web.pages import BABEL_LOCALES
from config.i18n import translations
from config.sql import id_of
from config.web.pages import page_language, render
from config.web.threads import read
from identity.phones import to_ascii_digits
from organisation.catalogue import list_centres, services_of
from organisation.models import Centre, Role, Service
from organisation.web.pages import signed_in, to_login

PAGE_SIZE = 100  # rows of a drawn draw's results per page
ZONE = "Asia/Damascus"  # the centres' zone, for a draw's window (each centre also has its own)


@dataclass(frozen=True)
class Names:
    """The catalogue's names, by code, for the codes the API's shapes hold."""

    centres: dict[str, Centre]
    services: dict[str, Service]

    def centre(self, code: str, lang: str) -> str:
        centre = self.centres.get(code)
        return code if centre is None else centre.name_ar if lang == "ar" else centre.name_en

    def service(self, code: str, lang: str) -> str:
        service = self.services.get(code)
        return code if service is None else service.name_ar if lang == "ar" else service.name_en

    def zone(self, code: str) -> ZoneInfo:
        centre = self.centres.get(code)
        return ZoneInfo(centre.timezone if centre else ZONE)


def _names(session: Session) -> Names:
    centres = {c.code: c for c in list_centres(session)}
    services = {s.code: s for s in session.exec(select(Service)).all()}
    return Names(centres, services)


class Words:
    """Days and times in the page's language, as Babel writes them (Latin digits: the templates'
    `local` puts them in the page's digits)."""

    def __init__(self, lang: str, names: Names) -> None:
        self.lang, self.names, self.locale = lang, names, BABEL_LOCALES[lang]

    def day(self, day: date) -> str:
        return format_date(day, format="EEE d MMM", locale=self.locale)

    def short_day(self, day: date) -> str:
        return format_date(day, format="EEE d/M", locale=self.locale)

    def long_day(self, day: date) -> str:
        return format_date(day, format="full", locale=self.locale)

    def moment(self, at: datetime, centre: str | None = None) -> str:
        zone = self.names.zone(centre) if centre else ZoneInfo(ZONE)
        comma = "،" if self.lang == "ar" else ","
        return format_datetime(at, format=f"EEEE d MMMM y{comma} HH:mm", tzinfo=zone, locale=self.locale)

    def short_moment(self, at: datetime, centre: str) -> str:
        comma = "،" if self.lang == "ar" else ","
        return format_datetime(
            at, format=f"EEE d/M{comma} HH:mm", tzinfo=self.names.zone(centre), locale=self.locale
        )

    def centre(self, code: str) -> str:
        return self.names.centre(code, self.lang)

    def service(self, code: str) -> str:
        return self.names.service(code, self.lang)


def _places_table(draw: DrawOut) -> tuple[list[date], dict[tuple[str, date], int]]:
    """The draw's days, and the places per centre and day."""
    places = {(p.centre, p.day): p.places for p in draw.places}
    days = sorted({p.day for p in draw.places})
    return days, places


async def draws_page(request: Request) -> Response:
    """Every draw, the latest first."""

    def work(session: Session) -> tuple[list[DrawOut], Names]:
        return [draw_out(session, request, d) for d in draws.list_draws(session)], _names(session)

    found, names = await read(request, work)
    return render(request, "draws.html", {"draws": found, "words": Words(page_language(request), names)})


@dataclass(frozen=True)
class Results:
    """One page of a drawn draw's results, in drawn order, or those whose pseudonym holds `query`."""

    rows: list[DrawApplication]
    page: int
    pages: int
    found: int
    query: str
    excluded: list[DrawApplication]


def _search(text: str) -> str:
    """What a searcher typed, as the pseudonyms are written: upper case, ASCII digits, no spaces."""
    return to_ascii_digits(text).strip().upper().replace(" ", "")[:19]


def _results(session: Session, draw: Draw, page: int, query: str) -> Results:
    ranked: list[ColumnElement[bool]] = [
        col(DrawApplication.draw_id) == id_of(draw),
        col(DrawApplication.rank).is_not(None),
    ]
    if query:
        ranked.append(col(DrawApplication.pseudonym).contains(query, autoescape=True))
    found = session.exec(select(func.count()).select_from(DrawApplication).where(*ranked)).one()
    pages = max(1, math.ceil(found / PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = session.exec(
        select(DrawApplication)
        .where(*ranked)
        .order_by(col(DrawApplication.rank))
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    excluded = session.exec(
        select(DrawApplication)
        .where(
            DrawApplication.draw_id == id_of(draw),
            DrawApplication.status == ApplicationStatus.EXCLUDED.value,
        )
        .order_by(col(DrawApplication.pseudonym))
    ).all()
    return Results(list(rows), page, pages, found, query, list(excluded))


def _page_number(request: Request) -> int:
    raw = to_ascii_digits(request.query_params.get("page", "1"))
    return int(raw) if raw.isdigit() and len(raw) < 7 else 1


async def draw_page(request: Request) -> Response:
    """A draw for anyone: its facts and commitment, then what its state allows."""
    code = request.path_params["code"]
    query, page = _search(request.query_params.get("q", "")), _page_number(request)

    def work(session: Session) -> tuple[DrawOut, Names, Results | None] | None:
        draw = draws.find_draw(session, code)
        if draw is None:
            return None
        out = draw_out(session, request, draw)
        results = _results(session, draw, page, query) if out.state == "drawn" else None
        return out, _names(session), results

    found = await read(request, work)
    if found is None:
        return render(request, "not_found.html", {"what": ""}, status=404)
    draw, names, results = found
    days, places = _places_table(draw)
    offered = {centre: [day for day in days if places.get((centre, day), 0) > 0] for centre in draw.centres}
    words = Words(page_language(request), names)
    context = {
        "draw": draw,
        "words": words,
        "days": days,
        "places": places,
        "offered": {c: [d.isoformat() for d in ds] for c, ds in offered.items()},
        "day_labels": {d.isoformat(): words.long_day(d) for d in days},
        # The record on this site, whatever the base URL the API writes (the command shows that one).
        "record_path": urlsplit(draw.record_url).path,
        "results": results,
    }
    return render(request, "draw.html", context)


async def application_page(request: Request) -> Response:
    """An applicant's own page, by the link its application gave: where it stands."""
    token = request.path_params["token"]

    def work(session: Session) -> tuple[DrawApplicationOut, DrawOut, Names] | None:
        application = draw_applications.find_application(session, token)
        if application is None:
            return None
        draw = session.get(Draw, application.draw_id)
        assert draw is not None
        return (
            application_out(session, request, application),
            draw_out(session, request, draw),
            _names(session),
        )

    found = await read(request, work)
    if found is None:
        return render(request, "not_found.html", {"what": ""}, status=404)
    application, draw, names = found
    context = {
        "application": application,
        "draw": draw,
        "words": Words(page_language(request), names),
        "choices": [(c.centre, c.day) for c in map(Choice.parse, application.choices)],
        # The appointment's own page, on this site whatever the base URL the API writes.
        "manage_path": urlsplit(application.appointment.manage_url).path if application.appointment else "",
    }
    return render(request, "draw_application.html", context)


def _offering(session: Session) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The bookable services, and the centres with the bookable services each offers."""
    services: dict[str, dict[str, Any]] = {}
    centres = []
    for centre in list_centres(session):
        offered = [s for s in services_of(session, centre_id=id_of(centre)) if s.bookable]
        for service in offered:
            services.setdefault(
                service.code, {"code": service.code, "name": {"ar": service.name_ar, "en": service.name_en}}
            )
        centres.append(
            {
                "code": centre.code,
                "name": {"ar": centre.name_ar, "en": centre.name_en},
                "timezone": centre.timezone,
                "services": [s.code for s in offered],
            }
        )
    return sorted(services.values(), key=lambda s: str(s["code"])), centres


async def admin_draws_page(request: Request) -> Response:
    """Admins open draws here, and exclude flagged applications before a draw closes."""
    me = await signed_in(request)
    if me is None:
        return to_login(request)
    if me.role != Role.ADMIN:
        return RedirectResponse("/admin", status_code=303)
    services, centres = await read(request, _offering)
    gettext = translations(page_language(request)).gettext
    return render(
        request,
        "draws_admin.html",
        {"me": me.staff, "services": services, "centres": centres, "zone_name": gettext("Damascus time")},
    )


routes = [
    Route("/draws", draws_page, methods=["GET"], name="draws"),
    Route("/draws/applications/{token}", application_page, methods=["GET"], name="draw_application"),
    Route("/draws/{code}", draw_page, methods=["GET"], name="draw"),
    Route("/admin/draws", admin_draws_page, methods=["GET"], name="admin_draws"),
]
