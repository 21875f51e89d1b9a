"""Public shapes of the booking API."""

from __future__ import annotations

from datetime import date, datetime
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


# Draws (booking/draws.py): places of a scarce service given by a draw anyone can re-run.

DRAW_CODE = r"^[A-Z0-9][A-Z0-9-]{2,23}$"
CHOICE = r"^[A-Za-z0-9-]{1,16}@([0-9]{4}-[0-9]{2}-[0-9]{2}|\*)$"


class DrawIn(Strict):
    """POST /api/v1/draws"""

    code: str = Field(pattern=DRAW_CODE, description="its public name, e.g. PASS-2027-01")
    service: str = Field(min_length=1, max_length=16)
    centres: list[str] = Field(min_length=1, max_length=10, description="centre codes, distinct")
    opens_at: Instant = Field(
        description="the application window opens, after now: the commitment is public before"
    )
    closes_at: Instant = Field(description="the window closes; the draw runs then")
    first_day: Day = Field(description="the first day whose places are drawn, after the close")
    last_day: Day = Field(description="the last one, at most 31 days after the first")
    offer_hours: int = Field(
        default=24, ge=1, le=168, description="a waiting applicant's time to accept a freed place"
    )
    reason: str = Field(min_length=3, max_length=200, description="why: kept in the audit chain")


class DrawPlacesOut(BaseModel):
    centre: str
    day: date
    places: int


class DrawOut(BaseModel):
    code: str
    service: str
    centres: list[str]
    opens_at: datetime
    closes_at: datetime
    first_day: date
    last_day: date
    state: Literal["announced", "open", "closed", "drawn"] = Field(
        description="announced: before the window; closed: after it, until drawn (within a minute)"
    )
    commitment: str = Field(description="SHA-256 of the seed, hex: public from the start")
    seed: str | None = Field(description="the seed, hex: revealed once drawn")
    list_digest: str | None = Field(description="SHA-256 of the canonical list of applications, once drawn")
    applications: int
    places: list[DrawPlacesOut] = Field(description="places per centre and day")
    places_total: int
    winners: int | None = Field(description="once drawn")
    waiting: int | None = Field(description="on the waiting list once drawn")
    offer_hours: int
    record_url: str = Field(description="the published record `dor draw verify` re-runs, once drawn")


class DrawApplicationIn(Strict):
    """POST /api/v1/draws/{draw}/applications"""

    phone: str = Field(min_length=1, max_length=32)
    otp: str = Field(min_length=1, max_length=16, description="a code of purpose 'draw'")
    national_id: str = Field(min_length=1, max_length=32)
    choices: list[str] = Field(
        min_length=1,
        max_length=3,
        description="up to three preferences in order, each `CENTRE@YYYY-MM-DD`, or `CENTRE@*` for any"
        " of the draw's days there",
    )
    language: Literal["ar", "en"] = "ar"


class DrawOfferOut(BaseModel):
    centre: str
    start: datetime
    expires_at: datetime = Field(description="accept before this, or the place goes to the next")


class DrawApplicationOut(BaseModel):
    draw: str
    pseudonym: str = Field(description="how the public list names this application")
    token: str
    status: Literal["applied", "excluded", "won", "waiting", "offered", "accepted", "lapsed"]
    choices: list[str]
    excluded_reason: str | None
    rank: int | None = Field(description="the position drawn, once drawn")
    waiting: int | None = Field(description="the place on the waiting list")
    offer: DrawOfferOut | None = Field(description="a freed place offered to this applicant, while it stands")
    appointment: AppointmentOut | None = Field(description="the appointment won or accepted")
    status_url: str


class DrawExclusionIn(Strict):
    reason: str = Field(min_length=3, max_length=200, description="why: published beside the pseudonym")


class DrawRecordPlace(BaseModel):
    centre: str
    day: date
    start: str = Field(description="UTC, YYYY-MM-DDTHH:MM:SSZ")
    places: int


class DrawRecordEntry(BaseModel):
    pseudonym: str
    choices: list[str]
    rank: int
    centre: str | None = Field(description="the slot won: its centre")
    start: str | None = Field(description="and its start, as in `places`")
    waiting: int | None = Field(description="else the place on the waiting list")


class DrawRecordExcluded(BaseModel):
    pseudonym: str
    reason: str


class DrawRecordOut(BaseModel):
    """GET /api/v1/draws/{draw}/record: everything `dor draw verify` needs (booking/lottery.py)."""

    draw: str
    service: str
    commitment: str
    seed: str
    list_digest: str
    places: list[DrawRecordPlace]
    applications: list[DrawRecordEntry]
    excluded: list[DrawRecordExcluded]


class DrawFlagOut(BaseModel):
    """Applications that share a phone, a browser or a network address (booking/brokers.py's rules)."""

    reason: str = Field(description="shared_identity")
    identity: Literal["phone", "device", "address"]
    identities: int = Field(description="distinct national IDs behind it")
    pseudonyms: list[str] = Field(description="the applications, still in the draw or excluded")
    excluded: list[str] = Field(description="those of them excluded already")
