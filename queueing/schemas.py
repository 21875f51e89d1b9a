"""The public shapes of the organisation, as shared/API.md defines them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from config.http import Day, Strict
from queueing.models import Centre, Service
from queueing.policy import Priority


class Text(BaseModel):
    """A text in both languages."""

    ar: str
    en: str


class Location(BaseModel):
    lat: float
    lon: float


class CentreOut(BaseModel):
    code: str
    name: Text
    governorate: str
    location: Location

    @classmethod
    def of(cls, centre: Centre) -> CentreOut:
        return cls(
            code=centre.code,
            name=Text(ar=centre.name_ar, en=centre.name_en),
            governorate=centre.governorate,
            location=Location(lat=centre.latitude, lon=centre.longitude),
        )


class ServiceOut(BaseModel):
    code: str
    name: Text
    description: Text
    required_documents: list[Text]
    fee: int
    mean_service_s: int
    bookable: bool
    walk_in: bool

    @classmethod
    def of(cls, service: Service) -> ServiceOut:
        return cls(
            code=service.code,
            name=Text(ar=service.name_ar, en=service.name_en),
            description=Text(ar=service.description_ar, en=service.description_en),
            required_documents=[Text.model_validate(doc) for doc in service.required_documents],
            fee=service.fee,
            mean_service_s=service.mean_service_s,
            bookable=service.bookable,
            walk_in=service.walk_in,
        )


class IssueTicketIn(Strict):
    """POST /api/v1/centres/{centre}/tickets"""

    service: str = Field(min_length=1, max_length=16)
    channel: Literal["kiosk", "remote"]
    phone: str | None = Field(default=None, max_length=32)
    otp: str | None = Field(default=None, max_length=16)
    priority: Priority = Priority.NONE
    language: Literal["ar", "en"] = "ar"


class TicketOut(BaseModel):
    """A ticket as its holder sees it (the token is the holder's secret)."""

    number: str
    token: str
    status: str
    service: str
    centre: str
    position: int | None = Field(description="1 = next to be called; null once called")
    ahead: int | None = Field(description="people ahead in the queue; null once called")
    estimated_wait_s: int | None
    estimated_wait_range_s: list[int] | None = Field(
        default=None,
        description="[low, high]: 8 in 10 waits fall in it (docs/scheduling.md); null once called",
    )
    tracking_url: str
    away: bool = Field(
        default=False,
        description="a remote ticket not checked in yet: it keeps its place but is called only once "
        "its holder scans the tracker page's QR at the kiosk",
    )
    counter: int | None = None
    issued_at: datetime


class ServiceStatus(BaseModel):
    code: str
    waiting: int
    estimated_wait_s: int
    estimated_wait_range_s: list[int] = Field(
        default=[0, 0], description="[low, high] for a ticket taken now"
    )
    open_counters: int
    intake_open: bool = Field(default=True, description="false once a supervisor stopped intake for today")


class NowServing(BaseModel):
    number: str
    counter: int
    service: str


class CentreStatus(BaseModel):
    """GET /api/v1/centres/{centre}/status: public, no personal data."""

    centre: str
    open: bool
    services: list[ServiceStatus]
    now_serving: list[NowServing]


class StaffTicket(BaseModel):
    """A ticket as the agent sees it: no phone, no token."""

    number: str
    status: str
    service: str
    priority: str
    channel: str
    arrived_at: datetime
    called_at: datetime | None
    calls: int
    started_at: datetime | None


class CounterOut(BaseModel):
    number: int
    label: str
    services: list[str]
    # Of those, the ones it calls only when none of its own queues has anyone (docs/scheduling.md).
    backup_services: list[str] = []
    status: Literal["closed", "open", "paused"]
    agent: str | None
    paused_reason: str | None
    ticket: StaffTicket | None


class CounterActionOut(BaseModel):
    """The answer to a counter action: the ticket in hand (if any) and the counter."""

    ticket: StaffTicket | None
    counter: CounterOut


class TransferIn(Strict):
    service: str = Field(min_length=1, max_length=16)


class OutOfOrderCallIn(Strict):
    number: str = Field(min_length=3, max_length=8)
    reason: str = Field(min_length=3, max_length=200)


class PauseIn(Strict):
    reason: str = Field(min_length=2, max_length=100)


class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class LoginOut(BaseModel):
    username: str
    role: str
    centres: list[str]
    csrf_token: str


class Done(BaseModel):
    status: str


class DeviceIn(Strict):
    kind: Literal["kiosk", "display"]
    name: str = Field(min_length=1, max_length=80)


class DeviceOut(BaseModel):
    id: int
    kind: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


class NewDeviceOut(DeviceOut):
    token: str = Field(description="shown once: only its hash is stored")


class StaffIn(Strict):
    username: str = Field(pattern=r"^[a-z][a-z0-9_.-]{1,63}$")
    role: Literal["agent", "supervisor", "admin"]
    centres: list[str] = Field(default_factory=list, max_length=100)
    display_name: str = Field(default="", max_length=80)
    password: str | None = Field(default=None, min_length=10, max_length=256)


class StaffOut(BaseModel):
    username: str
    display_name: str
    role: str
    centres: list[str]
    active: bool


class NewPasswordIn(Strict):
    password: str | None = Field(default=None, min_length=10, max_length=256)


class CredentialOut(BaseModel):
    """A new account or password; `password` is present only when Dor generated it."""

    staff: StaffOut
    password: str | None


class MeOut(BaseModel):
    username: str
    display_name: str
    role: str
    centres: list[str]
    csrf_token: str
    idle_timeout_s: int
    expires_at: datetime = Field(description="when the session ends unless used before")
    session_ends_at: datetime = Field(description="when the session ends whatever happens")


class DeviceMe(BaseModel):
    """What a device learns about itself from its token."""

    id: int
    kind: str
    name: str
    centre: str
    has_printer: bool


class IntakeIn(Strict):
    open: bool


class IntakeOut(BaseModel):
    centre: str
    service: str
    intake_open: bool


class OtpIn(Strict):
    """POST /api/v1/otp"""

    phone: str = Field(min_length=1, max_length=32, description="any usual form; Arabic-Indic digits too")
    purpose: Literal["booking", "remote_ticket"]
    language: Literal["ar", "en"] = "ar"
    centre: str | None = Field(
        default=None, max_length=16, description="the centre the code is for, if known (its SMS budget)"
    )


class OtpOut(BaseModel):
    status: Literal["queued"]
    expires_in_s: int


class UsageQuery(Strict):
    from_: Day = Field(alias="from")
    to: Day


class DayUsageOut(BaseModel):
    day: date
    messages: int
    segments: int
    delivered: int
    failed: int


class RecommendationsQuery(Strict):
    service: str = Field(min_length=1, max_length=16)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class RecommendationOut(BaseModel):
    centre: str
    name: Text
    distance_km: float | None = Field(description="null when no location was given")
    estimated_wait_s: int
    open: bool = Field(description="open now and taking tickets for the service")


class QueuePressureOut(BaseModel):
    service: str
    waiting: int
    # Seconds to empty the queue with the ready counters calling it as their own; null: none does.
    drain_s: int | None


class BalanceMoveIn(Strict):
    counter: int = Field(gt=0, lt=1000)  # as in the counters' paths; a larger one overflows the column
    service: str = Field(min_length=1, max_length=16)
    role: Literal["boosted", "backup"]  # boost a backup queue, or lower a boosted one back


class BalanceMoveOut(BaseModel):
    counter: int
    service: str
    role: Literal["boosted", "backup"]
    drain_s: int | None


class BalanceOut(BaseModel):
    """A centre's queue pressure and the balancer's moves now (applied by itself when `auto`)."""

    centre: str
    auto: bool
    queues: list[QueuePressureOut]
    moves: list[BalanceMoveOut]


class AutoBalanceIn(Strict):
    auto: bool
