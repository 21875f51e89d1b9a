"""The queue's tables: tickets, and the feedback their holders give once served."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Column, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from config.db import UtcDateTime
from config.sql import TICKET_ID


class Ticket(SQLModel, table=True):
    """A citizen's place in a service queue of one centre, for one centre-local day."""

    __table_args__ = (
        UniqueConstraint("centre_id", "day", "number"),
        # Each line of a queue in the policy's order (queue_heads walks a service's priority class by
        # arrival and stops at its LIMIT), and how many wait in a queue. `id` keeps the lines' order (by
        # arrival, then id) in the index; with appointment_at, people ahead are counted from it alone.
        Index(
            "ix_ticket_line",
            *("centre_id", "status", "service_id", "priority", "arrived_at", "id", "appointment_at"),
        ),
        # The appointments due now, earliest first (queue_heads).
        Index("ix_ticket_due", "centre_id", "status", "appointment_at"),
        # Whether anyone with a phone waits in a queue (notifications.py): few tickets have one.
        Index(
            "ix_ticket_phone",
            "centre_id",
            "service_id",
            "status",
            sqlite_where=text("phone IS NOT NULL"),
            postgresql_where=text("phone IS NOT NULL"),
        ),
        # Wait forecasts read a centre's last hours: the arrivals and the services that ended.
        Index("ix_ticket_arrived", "centre_id", "arrived_at"),
        Index("ix_ticket_ended", "centre_id", "ended_at"),
        # A counter has at most one ticket in hand: the database refuses a second.
        Index(
            "ux_ticket_active_counter",
            "counter_id",
            unique=True,
            sqlite_where=text("status IN ('called', 'serving')"),
            postgresql_where=text("status IN ('called', 'serving')"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=TICKET_ID)
    centre_id: int = Field(foreign_key="centre.id")
    service_id: int = Field(foreign_key="service.id")
    day: date
    number: str = Field(sa_column=Column(String(8), nullable=False))
    token: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    priority: str = Field(default="none", sa_column=Column(String(16), nullable=False))
    phone: str | None = Field(default=None, sa_column=Column(String(20)))
    language: str = Field(default="ar", sa_column=Column(String(2), nullable=False))
    # The queue orders by arrival; a transfer keeps it, so nobody is sent to the back.
    arrived_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    issued_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    appointment_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    # `default=[]`, not `default_factory=list`: each row gets its own copy either way, but SQLModel asks
    # pydantic whether a factory takes arguments through `inspect.signature`, at every row built.
    call_times: list[str] = Field(default=[], sa_column=Column(JSON, nullable=False))
    # How many of `call_times` came before the ticket last joined a queue (a transfer, a supervisor's
    # move): they do not count towards a no-show. A count, not a time: a call and a transfer can share
    # an instant, and then no timestamp says which came first.
    earlier_calls: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # When the ticket last joined a queue: what the previous version counted no-show calls from. Still
    # written for its processes during a rolling upgrade (docs/operations.md); a later revision drops it.
    requeued_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    started_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    # The queue model's wait when it was issued (walk-ins), before calibration: how far the waits that
    # came were from it calibrates later forecasts (queueing/prediction.py).
    predicted_wait_s: int | None = None
    # A remote ticket whose holder has not checked in at the hall yet: it keeps its place, uncalled.
    away: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    # How many people its holder, running late, let go first: once per ticket, so 0 until then
    # (engine.py, `move_back`).
    moved_back: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class Feedback(SQLModel, table=True):
    """How a served ticket's holder rated the service: one answer per ticket, with whom it was given
    by (its counter and agent) for the reports. Nothing personal but the optional comment."""

    __table_args__ = (
        # Two taps, two tabs: the database keeps one answer per ticket.
        UniqueConstraint("ticket_id", name="ux_feedback_ticket"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="ck_feedback_rating"),
        # The reports and the transparency page read a centre's answers over a span of days.
        Index("ix_feedback_centre_given", "centre_id", "given_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", sa_type=TICKET_ID)
    centre_id: int = Field(foreign_key="centre.id")
    service_id: int = Field(foreign_key="service.id")
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    agent_id: int | None = Field(default=None, foreign_key="staff.id")
    rating: int
    comment: str | None = Field(default=None, sa_column=Column(String(280)))
    given_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
