"""The public shapes of the organisation, as shared/API.md defines them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field

from config.schemas import Strict
from queueing.feedback import COMMENT_MAX
from queueing.policy import Priority


class IssueTicketIn(Strict):
    """POST /api/v1/centres/{centre}/tickets"""

    service: str = Field(min_length=1, max_length=16)
    channel: Literal["kiosk", "remote"]
    phone: str | None = Field(default=None, max_length=32)
    otp: str | None = Field(default=None, max_length=16)
    priority: Priority = Priority.NONE
    language: Literal["ar", "en"] = "ar"


class FindTicketIn(Strict):
    """POST /api/v1/centres/{centre}/tickets/find"""

    number: str = Field(min_length=1, max_length=16, description='the ticket number, e.g. "A-012"')
    phone: str = Field(min_length=1, max_length=32)


class FindTicketOut(BaseModel):
    """The same whether or not a ticket matched: nobody learns which numbers and phones go together."""

    status: Literal["accepted"] = "accepted"


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
        "its holder checks in at the kiosk (the tracker page's QR, or the number and the phone's last "
        "four digits)",
    )
    counter: int | None = None
    issued_at: datetime
    moved_back: int = Field(
        default=0, description="how many people its holder, running late, let go first (once per ticket)"
    )
    can_move_back: bool = Field(
        default=False, description="POST /api/v1/tickets/{token}/late would move it back now"
    )
    feedback_given: bool = Field(
        default=False, description="its holder rated the service (POST /api/v1/tickets/{token}/feedback)"
    )
    centre_offline_since: datetime | None = Field(
        default=None,
        description="the centre runs on its own server, which the central has not heard from since "
        "then: what this shows may be behind (docs/centre-node.md)",
    )


def _trimmed(comment: object) -> object:
    """A comment without its surrounding spaces, none when nothing is left (not a text: left for the
    field's own check to refuse)."""
    return (comment.strip() or None) if isinstance(comment, str) else comment


class FeedbackIn(Strict):
    """POST /api/v1/tickets/{token}/feedback"""

    rating: int = Field(strict=True, ge=1, le=5, description="1 very bad, 5 very good")
    comment: Annotated[str | None, BeforeValidator(_trimmed)] = Field(
        default=None, max_length=COMMENT_MAX, description="optional, trimmed"
    )


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
    # Of its own queues, the backups the balancer has raised for now (role `boosted`).
    boosted: list[str] = []
    weights: dict[str, float] = Field(default={}, description="each queue it serves: code -> weight")
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
