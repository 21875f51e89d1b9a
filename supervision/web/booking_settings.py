"""A centre's booking capacity settings (booking/centre_rules.py): read with the national default of
each, changed with a reason, and what a change would do to a coming day's places before it is made.
Supervisors of the centre and admins."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking.centre_rules import Overrides, at_centre, change_settings, day_places, with_values
from booking.web.appointments import booking_rules
from config.i18n import N_
from config.schemas import Day, Strict
from config.web.context import now
from config.web.endpoints import operation
from config.web.errors import ApiError
from organisation import hours
from organisation.models import Centre
from organisation.web.managers import managed_change, managed_read
from supervision.web.wallboard import supervising

PREVIEW_AHEAD = 365  # a preview is of today or a day of the coming year
LOOK_FOR_OPEN_DAY = 14  # the preview's day by default: the first of these days (from tomorrow) it opens

# The bounds of each setting, for the body and the preview's query alike: a centre keeps some counter
# time for walk-ins, is booked at least a day and at most a year ahead, and plans its counters at
# least half busy.
MOST_WALK_IN_SHARE = 0.9
MOST_HORIZON_DAYS = 365
LEAST_TARGET_LOAD = 0.5
BOUNDS = {
    "walk_in_share": (0.0, MOST_WALK_IN_SHARE),
    "horizon_days": (1, MOST_HORIZON_DAYS),
    "target_load": (LEAST_TARGET_LOAD, 1.0),
}


class ShareOut(BaseModel):
    own: float | None = Field(description="the centre's own value; null: it follows the national setting")
    national: float = Field(description="the national setting (DOR_BOOKING_*)")
    effective: float = Field(description="the value its slots are offered and booked by")


class DaysOut(BaseModel):
    own: int | None = Field(description="the centre's own value; null: it follows the national setting")
    national: int = Field(description="the national setting (DOR_BOOKING_HORIZON_DAYS)")
    effective: int = Field(description="the value its slots are offered and booked by")


class BookingSettingsOut(BaseModel):
    centre: str
    walk_in_share: ShareOut = Field(description="the share of counter time kept for walk-ins")
    horizon_days: DaysOut = Field(description="slots can be booked up to this many days ahead")
    target_load: ShareOut = Field(
        description="how busy the counters may be planned, walk-ins and bookings together (places 'demand')"
    )
    places: Literal["flat", "demand"] = Field(
        description="the national way places are counted: 'flat' keeps the walk-in share in every slot;"
        " 'demand' also gives way to the walk-ins each slot had in recent weeks, up to the target load"
    )


class BookingSettingsIn(Strict):
    walk_in_share: float | None = Field(
        ge=0, le=MOST_WALK_IN_SHARE, description="0 to 0.9 of counter time kept for walk-ins; null: national"
    )
    horizon_days: int | None = Field(
        ge=1, le=MOST_HORIZON_DAYS, description="1 to 365 days ahead a slot may be booked; null: national"
    )
    target_load: float | None = Field(
        ge=LEAST_TARGET_LOAD, le=1, description="0.5 to 1 of counter time planned busy; null: national"
    )
    reason: str = Field(min_length=3, max_length=200, description="why: kept in the audit chain")


class PreviewQuery(Strict):
    day: Day | None = Field(
        default=None, description="a coming local day; by default the next day from tomorrow the centre opens"
    )
    walk_in_share: float | None = Field(
        default=None, ge=0, le=MOST_WALK_IN_SHARE, description="absent: national"
    )
    horizon_days: int | None = Field(default=None, ge=1, le=MOST_HORIZON_DAYS, description="absent: national")
    target_load: float | None = Field(
        default=None, ge=LEAST_TARGET_LOAD, le=1, description="absent: national"
    )


class Names(BaseModel):
    ar: str
    en: str


class ServicePlacesOut(BaseModel):
    code: str
    name: Names
    current: int = Field(description="the day's places with the centre's settings now")
    proposed: int = Field(description="the day's places with the values asked")


class PreviewOut(BaseModel):
    day: date
    open: bool = Field(description="whether the centre opens that day")
    bookable_now: bool = Field(description="the day is within the centre's booking horizon now")
    bookable_proposed: bool = Field(description="the day is within the horizon asked")
    services: list[ServicePlacesOut] = Field(
        description="each bookable service's places that day, summed over its slots; a slot already"
        " booked keeps the places it was sold with"
    )


def settings_out(request: Request, centre: Centre) -> BookingSettingsOut:
    """The centre's settings as the API shows them."""
    rules = booking_rules(request)
    national, effective = rules.slots, at_centre(rules, centre).slots
    return BookingSettingsOut(
        centre=centre.code,
        walk_in_share=ShareOut(
            own=centre.booking_walk_in_share,
            national=national.walk_in_share,
            effective=effective.walk_in_share,
        ),
        horizon_days=DaysOut(
            own=centre.booking_horizon_days, national=national.horizon_days, effective=effective.horizon_days
        ),
        target_load=ShareOut(
            own=centre.booking_target_load, national=national.target_load, effective=effective.target_load
        ),
        places="demand" if national.places == "demand" else "flat",
    )


@operation(
    "GET",
    "/api/v1/centres/{centre}/booking-settings",
    summary="The centre's booking capacity settings: its own value of each, the national one, and the "
    "one in effect",
    tag="administration",
    responses={200: BookingSettingsOut},
    errors=(401, 403),
    security=("session",),
)
async def get_settings(request: Request) -> BookingSettingsOut:
    return await managed_read(request, lambda _session, centre: settings_out(request, centre))


@operation(
    "PUT",
    "/api/v1/centres/{centre}/booking-settings",
    summary="Set the centre's booking capacity settings (null: follow the national setting), with a "
    "reason; slots already booked keep the places they were sold with",
    tag="administration",
    body=BookingSettingsIn,
    responses={200: BookingSettingsOut},
    errors=(401, 403, 422),
    security=("session",),
)
async def put_settings(request: Request, body: BookingSettingsIn) -> BookingSettingsOut:
    """Logged in the centre's chain as `booking_settings_changed`; every process uses the new values on
    its next request."""
    at = now(request)
    values = Overrides(
        walk_in_share=body.walk_in_share, horizon_days=body.horizon_days, target_load=body.target_load
    )

    def work(session: Session, centre: Centre, actor: str) -> BookingSettingsOut:
        changed = change_settings(
            session, centre=centre, values=values, reason=body.reason, actor=actor, at=at
        )
        return settings_out(request, changed)

    return await managed_change(request, work)


@operation(
    "GET",
    "/api/v1/centres/{centre}/booking-settings/preview",
    summary="A coming day's places per bookable service with the centre's settings now and with the "
    "values asked (absent: the national setting), before they are saved",
    tag="administration",
    query=PreviewQuery,
    responses={200: PreviewOut},
    errors=(401, 403, 422),
    security=("session",),
)
async def preview(request: Request, query: PreviewQuery) -> PreviewOut:
    at, national = now(request), booking_rules(request)
    asked = Overrides(
        walk_in_share=query.walk_in_share, horizon_days=query.horizon_days, target_load=query.target_load
    )

    def compute(session: Session, centre: Centre) -> PreviewOut:
        today = hours.local_day(at, timezone=centre.timezone)
        day = query.day or _next_open_day(centre, today)
        if not today <= day <= today + timedelta(days=PREVIEW_AHEAD):
            raise ApiError(
                422,
                "invalid_input",
                N_("query parameter 'day': today or a day of the coming year, not %(day)s"),
                day=day.isoformat(),
            )
        current = at_centre(national, centre).slots
        proposed = with_values(national.slots, asked)
        now_places = day_places(session, centre=centre, day=day, rules=current, today=today)
        new_places = {
            s.code: n for s, n in day_places(session, centre=centre, day=day, rules=proposed, today=today)
        }
        return PreviewOut(
            day=day,
            open=bool(hours.spans_on(day, centre.opening_hours, centre.holidays)),
            bookable_now=(day - today).days <= current.horizon_days,
            bookable_proposed=(day - today).days <= proposed.horizon_days,
            services=[
                ServicePlacesOut(
                    code=s.code,
                    name=Names(ar=s.name_ar, en=s.name_en),
                    current=n,
                    proposed=new_places[s.code],
                )
                for s, n in now_places
            ],
        )

    return await managed_read(request, compute)


def _next_open_day(centre: Centre, today: date) -> date:
    """The first day from tomorrow the centre opens; tomorrow if none within two weeks."""
    days = (today + timedelta(days=d) for d in range(1, LOOK_FOR_OPEN_DAY + 1))
    found = next((d for d in days if hours.spans_on(d, centre.opening_hours, centre.holidays)), None)
    return found or today + timedelta(days=1)


async def booking_page(request: Request) -> Response:
    """The booking capacity settings of one of the supervisor's centres, with their effect on a day."""
    return await supervising(request, "booking_settings.html", bounds=BOUNDS)


routes = [get_settings, put_settings, preview, Route("/supervisor/booking", booking_page, methods=["GET"])]
