"""A centre's closures: the coming days it is closed (holidays and closures), what closing a day would
cancel, closing it and reopening it (supervision/closures.py). Supervisors of the centre and admins."""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from config.i18n import N_
from config.schemas import FIRST_DAY, LAST_DAY, Day, Strict
from config.web.context import now
from config.web.endpoints import operation
from config.web.errors import ApiError
from organisation import hours
from organisation.models import Centre
from organisation.web.managers import managed_change, managed_read
from supervision.closures import booked_on, close_day, reasons, reopen_day
from supervision.web.wallboard import supervising

ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class CloseDayIn(Strict):
    day: Day
    reason: str = Field(
        min_length=3, max_length=200, description="why: told to staff, kept in the audit chain"
    )


class ReopenIn(Strict):
    reason: str = Field(
        min_length=3, max_length=200, description="why: told to staff, kept in the audit chain"
    )


class ClosureOut(BaseModel):
    day: date
    reason: str | None = Field(description="why it was closed; none for a holiday of the configuration")
    booked: int = Field(description="appointments still booked that day (0 once closed)")


class ClosuresOut(BaseModel):
    centre: str
    closures: list[ClosureOut] = Field(description="today and the coming days the centre is closed")


class DayOut(BaseModel):
    day: date
    closed: bool
    booked: int = Field(description="appointments a closure of this day would cancel")


class ClosedOut(BaseModel):
    day: date
    cancelled: int = Field(description="appointments cancelled, each holder told by SMS")


@operation(
    "GET",
    "/api/v1/centres/{centre}/closures",
    summary="The days from today on that the centre is closed (holidays and closures), with why",
    tag="administration",
    responses={200: ClosuresOut},
    errors=(401, 403),
    security=("session",),
)
async def list_closures(request: Request) -> ClosuresOut:
    at = now(request)

    def compute(session: Session, centre: Centre) -> ClosuresOut:
        today = hours.local_day(at, timezone=centre.timezone).isoformat()
        why = reasons(session, centre=centre)
        return ClosuresOut(
            centre=centre.code,
            closures=[
                ClosureOut(
                    day=date.fromisoformat(day),
                    reason=why.get(day),
                    booked=booked_on(session, centre=centre, day=date.fromisoformat(day)),
                )
                for day in sorted(centre.holidays)
                if day >= today
            ],
        )

    return await managed_read(request, compute)


@operation(
    "GET",
    "/api/v1/centres/{centre}/closures/{day}",
    summary="One day: whether the centre is closed, and how many appointments closing it would cancel",
    tag="administration",
    responses={200: DayOut},
    errors=(401, 403, 422),
    security=("session",),
)
async def closure_day(request: Request) -> DayOut:
    day = _day(request.path_params["day"])

    def compute(session: Session, centre: Centre) -> DayOut:
        return DayOut(
            day=day,
            closed=day.isoformat() in centre.holidays,
            booked=booked_on(session, centre=centre, day=day),
        )

    return await managed_read(request, compute)


@operation(
    "POST",
    "/api/v1/centres/{centre}/closures",
    summary="Close the centre on a day: no slots, no tickets; that day's appointments cancelled, each "
    "holder told by SMS where to book again",
    tag="administration",
    body=CloseDayIn,
    responses={201: ClosedOut},
    errors=(401, 403, 422),
    security=("session",),
)
async def close(request: Request, body: CloseDayIn) -> Response:
    at, book_url = now(request), f"{request.app.state.settings.base_url}/book"

    def work(session: Session, centre: Centre, actor: str) -> ClosedOut:
        closed = close_day(
            session, centre=centre, day=body.day, reason=body.reason, actor=actor, book_url=book_url, now=at
        )
        return ClosedOut(day=closed.day, cancelled=closed.cancelled)

    result = await managed_change(request, work)
    return JSONResponse(result.model_dump(mode="json"), status_code=201)


@operation(
    "DELETE",
    "/api/v1/centres/{centre}/closures/{day}",
    summary="Reopen a closed day (a closure or a holiday), today or later: its slots are offered again; "
    "the appointments its closure cancelled stay cancelled (their holders were told and may book again)",
    tag="administration",
    body=ReopenIn,
    responses={200: DayOut},
    errors=(401, 403, 422),
    security=("session",),
)
async def reopen(request: Request, body: ReopenIn) -> DayOut:
    """Logged as `day_reopened` with who and why; every process offers the day on its next request."""
    day, at = _day(request.path_params["day"]), now(request)

    def work(session: Session, centre: Centre, actor: str) -> DayOut:
        reopen_day(session, centre=centre, day=day, reason=body.reason, actor=actor, now=at)
        return DayOut(day=day, closed=False, booked=booked_on(session, centre=centre, day=day))

    return await managed_change(request, work)


def _day(raw: str) -> date:
    """A path's day, written as the API writes days (2026-12-31), within the days it knows."""
    try:
        day = date.fromisoformat(raw) if ISO_DAY.fullmatch(raw) else None
    except ValueError:
        day = None
    if day is None or not FIRST_DAY <= day <= LAST_DAY:
        raise ApiError(422, "invalid_input", N_("path parameter 'day': a date like 2026-12-31"))
    return day


async def closures_page(request: Request) -> Response:
    """The closures of one of the supervisor's centres, and closing a day."""
    return await supervising(request, "closures.html")


routes = [
    list_closures,
    closure_day,
    close,
    reopen,
    Route("/supervisor/closures", closures_page, methods=["GET"]),
]
