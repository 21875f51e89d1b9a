"""A centre's week of opening hours: read it, see what a new week would leave outside its hours,
and change it with a reason (supervision/opening_hours.py). Supervisors of the centre and admins."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from config.schemas import Strict
from config.web.context import now
from config.web.endpoints import operation
from organisation.models import WEEKDAYS, Centre
from organisation.web.managers import managed_change, managed_read
from organisation.week import Week
from supervision.opening_hours import Outside, change_hours, outside_hours
from supervision.web.wallboard import supervising

# The order of the screen's rows: the working week first (Sunday to Thursday in Syria).
SCREEN_ORDER = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


class HoursIn(Strict):
    week: Week = Field(
        description="each weekday's opening spans, local time, like [['08:00', '14:00']]; "
        "at most two; a day left out or [] is closed"
    )
    reason: str = Field(min_length=3, max_length=200, description="why: kept in the audit chain")


class PreviewIn(Strict):
    week: Week = Field(description="the week that would be saved")


class OutsideDayOut(BaseModel):
    day: date
    appointments: int


class OutsideOut(BaseModel):
    total: int = Field(
        description="appointments booked from now on that the week's hours do not cover: they stay "
        "booked and are served; close their days instead if the centre cannot serve them"
    )
    days: list[OutsideDayOut]

    @classmethod
    def of(cls, outside: Outside) -> OutsideOut:
        return cls(
            total=outside.total,
            days=[OutsideDayOut(day=day, appointments=n) for day, n in outside.days.items()],
        )


class HoursOut(BaseModel):
    centre: str
    timezone: str
    week: dict[str, list[list[str]]] = Field(
        description="every weekday (mon … sun): its opening spans in the centre's time; [] when closed"
    )
    outside: OutsideOut


class SavedOut(HoursOut):
    changed: bool = Field(description="false when the week was already this one (nothing logged)")


def _week_out(opening_hours: dict[str, list[list[str]]]) -> dict[str, list[list[str]]]:
    return {day: [list(span) for span in opening_hours.get(day, [])] for day in WEEKDAYS}


@operation(
    "GET",
    "/api/v1/centres/{centre}/hours",
    summary="The centre's week of opening hours, and the booked appointments it does not cover",
    tag="administration",
    responses={200: HoursOut},
    errors=(401, 403),
    security=("session",),
)
async def get_hours(request: Request) -> HoursOut:
    at = now(request)

    def compute(session: Session, centre: Centre) -> HoursOut:
        return HoursOut(
            centre=centre.code,
            timezone=centre.timezone,
            week=_week_out(centre.opening_hours),
            outside=OutsideOut.of(outside_hours(session, centre=centre, hours=centre.opening_hours, now=at)),
        )

    return await managed_read(request, compute)


@operation(
    "POST",
    "/api/v1/centres/{centre}/hours/preview",
    summary="What a new week would leave outside its hours: the booked appointments, by day "
    "(nothing is changed)",
    tag="administration",
    body=PreviewIn,
    responses={200: OutsideOut},
    errors=(401, 403),
    security=("session",),
)
async def preview_hours(request: Request, body: PreviewIn) -> OutsideOut:
    at = now(request)

    def compute(session: Session, centre: Centre) -> OutsideOut:
        hours = body.week.opening_hours()
        return OutsideOut.of(outside_hours(session, centre=centre, hours=hours, now=at))

    return await managed_read(request, compute)


@operation(
    "PUT",
    "/api/v1/centres/{centre}/hours",
    summary="Change the centre's week of opening hours: new slots follow it; appointments already "
    "booked outside it stay booked and are served",
    tag="administration",
    body=HoursIn,
    responses={200: SavedOut},
    errors=(401, 403),
    security=("session",),
)
async def put_hours(request: Request, body: HoursIn) -> SavedOut:
    """Logged as `hours_changed` with who, why, the week before and after; every process offers the
    new week's slots on its next request."""
    at = now(request)

    def work(session: Session, centre: Centre, actor: str) -> SavedOut:
        saved = change_hours(session, centre=centre, week=body.week, reason=body.reason, actor=actor, now=at)
        return SavedOut(
            centre=centre.code,
            timezone=centre.timezone,
            week=_week_out(saved.week.opening_hours()),
            outside=OutsideOut.of(saved.outside),
            changed=saved.changed,
        )

    return await managed_change(request, work)


async def hours_page(request: Request) -> Response:
    """The week of one of the supervisor's centres, changed with a reason."""
    return await supervising(request, "hours.html", weekdays=SCREEN_ORDER)


routes = [get_hours, preview_hours, put_hours, Route("/supervisor/hours", hours_page, methods=["GET"])]
