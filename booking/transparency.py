"""The public transparency page of a centre: for today and the days before, how many were served,
the median wait, the share who did not come when called, and the booking places offered against
those taken. Counts and durations only: nothing about a person. No sign-in."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from pydantic import BaseModel, Field
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking.appointments import places_on
from booking.appointments_api import booking_rules
from booking.models import RELEASED, Appointment
from booking.pages import ARABIC_DIGITS, BABEL_LOCALES
from booking.slots import SlotRules
from config.http import Strict, not_found, operation, read
from config.i18n import translations
from config.pages import page_language, render
from queueing.models import Centre, Ticket, id_of
from queueing.service import Channel, find_centre, now


class TransparencyQuery(Strict):
    days: int = Field(default=7, ge=1, le=31, description="today and this many days before it, in all")


class DayFiguresOut(BaseModel):
    day: date
    served: int
    median_wait_s: int | None = Field(description="walk-ins, from arrival to the first call")
    no_show_share: float | None = Field(description="of the tickets called, those who did not come")
    booking_places: int = Field(description="places the booking pages offered for that day")
    booking_places_taken: int = Field(description="appointments for that day, less those cancelled or voided")


class TransparencyOut(BaseModel):
    centre: str
    days: list[DayFiguresOut]


@dataclass(frozen=True)
class _Outcome:
    day: date
    status: str
    channel: str
    waited_s: float | None


def _outcomes(session: Session, centre: Centre, first: date, last: date) -> list[_Outcome]:
    rows = session.execute(
        sa_select(
            col(Ticket.day),
            col(Ticket.status),
            col(Ticket.channel),
            col(Ticket.arrived_at),
            col(Ticket.call_times),
        ).where(col(Ticket.centre_id) == id_of(centre), col(Ticket.day) >= first, col(Ticket.day) <= last)
    ).all()
    return [
        _Outcome(
            day,
            status,
            channel,
            (datetime.fromisoformat(calls[0]) - arrived).total_seconds() if calls else None,
        )
        for day, status, channel, arrived, calls in rows
    ]


def _taken(session: Session, centre: Centre, day: date) -> int:
    zone = ZoneInfo(centre.timezone)
    start = datetime.combine(day, datetime.min.time(), zone)
    return session.exec(
        select(func.count())
        .select_from(Appointment)
        .where(
            Appointment.centre_id == id_of(centre),
            col(Appointment.start) >= start,
            col(Appointment.start) < start + timedelta(days=1),
            col(Appointment.status).not_in(RELEASED),
        )
    ).one()


def figures(
    session: Session, *, centre: Centre, today: date, days: int, rules: SlotRules
) -> list[DayFiguresOut]:
    """The centre's figures for `today` and the `days - 1` days before, oldest first."""
    first = today - timedelta(days=days - 1)
    outcomes = _outcomes(session, centre, first, today)
    # Places from the counters as they are now: a past day whose counters differed shows what they
    # would offer today.
    offered = places_on(
        session,
        centre=centre,
        days=[first + timedelta(days=d) for d in range(days)],
        rules=rules,
        today=today,
    )
    result = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        mine = [o for o in outcomes if o.day == day]
        waits = [o.waited_s for o in mine if o.channel in Channel.WALK_INS and o.waited_s is not None]
        served = sum(1 for o in mine if o.status == "done")
        absent = sum(1 for o in mine if o.status == "no_show")
        result.append(
            DayFiguresOut(
                day=day,
                served=served,
                median_wait_s=round(statistics.median(waits)) if waits else None,
                no_show_share=round(absent / (served + absent), 3) if served + absent else None,
                booking_places=sum(sum(places.values()) for places in offered[day].values()),
                booking_places_taken=_taken(session, centre, day),
            )
        )
    return result


async def _figures(request: Request, days: int) -> tuple[Centre, list[DayFiguresOut]] | None:
    """The centre of the path and its figures; None for an unknown centre."""
    code, at, rules = request.path_params["centre"], now(request), booking_rules(request).slots

    def work(session: Session) -> tuple[Centre, list[DayFiguresOut]] | None:
        centre = find_centre(session, code=code)
        if centre is None:
            return None
        today = at.astimezone(ZoneInfo(centre.timezone)).date()
        return centre, figures(session, centre=centre, today=today, days=days, rules=rules)

    return await read(request, work, slow=True)


@operation(
    "GET",
    "/api/v1/centres/{centre}/transparency",
    summary="Public figures of a centre, day by day: served, median wait, no-shows, booking places",
    tag="catalogue",
    query=TransparencyQuery,
    responses={200: TransparencyOut},
)
async def transparency_api(request: Request, query: TransparencyQuery) -> TransparencyOut:
    found = await _figures(request, query.days)
    if found is None:
        raise not_found(request, "centre", request.path_params["centre"])
    centre, days = found
    return TransparencyOut(centre=centre.code, days=days)


async def transparency_page(request: Request) -> Response:
    """The same figures for anyone, in Arabic or English, the latest day first."""
    found = await _figures(request, TransparencyQuery().days)
    if found is None:
        return render(request, "not_found.html", {"what": ""}, status=404)
    centre, days = found
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
    return render(request, "transparency.html", {"centre": centre, "rows": rows})


routes = [transparency_api, Route("/transparency/{centre}", transparency_page, methods=["GET"])]
