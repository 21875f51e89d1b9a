"""Public shapes of the booking API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from config.schemas import Day, Instant, Strict


class SlotsQuery(Strict):
    from_: Day | None = Field(default=None, alias="from", description="first local day; today by default")
    days: int = Field(default=7, ge=1, le=31)


class SlotOut(BaseModel):
    start: datetime
    end: datetime
    available: int


class CentrePlacesOut(BaseModel):
    centre: str
    first_slot: SlotOut | None = Field(
        description="the earliest slot with a place left; null: none in the horizon"
    )
    horizon_days: int = Field(description="this centre's slots can be booked up to this many days ahead")


class AvailabilityOut(BaseModel):
    """GET /api/v1/services/{service}/availability"""

    service: str
    horizon_days: int = Field(
        description="the national horizon: slots can be booked up to this many days ahead, unless a"
        " centre sets its own (each centre's `horizon_days`)"
    )
    centres: list[CentrePlacesOut] = Field(
        description="every centre offering the service, in catalogue order"
    )


class AppointmentIn(Strict):
    """POST /api/v1/appointments"""

    centre: str = Field(min_length=1, max_length=16)
    service: str = Field(min_length=1, max_length=16)
    start: Instant = Field(description="a slot's start, ISO 8601 with offset")
    phone: str = Field(min_length=1, max_length=32)
    otp: str = Field(min_length=1, max_length=16)
    national_id: str = Field(min_length=1, max_length=32)
    language: Literal["ar", "en"] = "ar"


class RescheduleIn(Strict):
    start: Instant


class AppointmentOut(BaseModel):
    code: str
    token: str
    centre: str
    service: str
    start: datetime
    end: datetime
    status: str
    manage_url: str
    reschedules_left: int
