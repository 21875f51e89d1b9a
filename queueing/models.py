"""The organisation: centres, the services they offer, their counters, staff and devices."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel, col

from config.db import UtcDateTime
from config.http import N_

# Weekly opening hours: {"sun": [["08:00", "14:00"]], ...}; days absent are closed.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OpeningHours = dict[str, list[list[str]]]

# Syria's fourteen governorates (محافظات); a centre names one, pages show it in their language.
GOVERNORATES = (
    N_("Damascus"),
    N_("Rural Damascus"),
    N_("Aleppo"),
    N_("Homs"),
    N_("Hama"),
    N_("Latakia"),
    N_("Tartus"),
    N_("Idlib"),
    N_("Raqqa"),
    N_("Deir ez-Zor"),
    N_("Al-Hasakah"),
    N_("Daraa"),
    N_("As-Suwayda"),
    N_("Quneitra"),
)


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class DeviceKind(StrEnum):
    KIOSK = "kiosk"
    DISPLAY = "display"


class Centre(SQLModel, table=True):
    """A citizen-service centre (مركز خدمة المواطن)."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(16), unique=True, nullable=False))
    name_ar: str
    name_en: str
    governorate: str
    latitude: float
    longitude: float
    timezone: str = "Asia/Damascus"
    opening_hours: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    holidays: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # No-show policy: a ticket may be marked no-show only after this many calls and this long.
    no_show_min_calls: int = Field(default=2, ge=1, sa_column_kwargs={"server_default": "2"})
    no_show_min_wait_s: int = Field(default=60, ge=0, sa_column_kwargs={"server_default": "60"})
    # Whether the kiosk offers priority classes (elderly, disabled, pregnant).
    allows_priority: bool = Field(default=True, sa_column_kwargs={"server_default": "1"})
    # The balancer applies its moves itself; otherwise it only recommends them to the supervisor.
    auto_balance: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    # A remote ticket is called only once its holder has checked in at the kiosk (keeping its place):
    # nobody at home holds a counter idle (docs/queueing.md, "Remote tickets").
    remote_check_in: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})


class Service(SQLModel, table=True):
    """A kind of transaction citizens come for, with the documents it needs."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(16), unique=True, nullable=False))
    name_ar: str
    name_en: str
    description_ar: str = ""
    description_en: str = ""
    # [{"ar": "...", "en": "..."}, ...]
    required_documents: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    fee: int = Field(default=0, ge=0)  # Syrian pounds
    prefix: str = Field(sa_column=Column(String(1), unique=True, nullable=False))
    mean_service_s: int = Field(default=300, gt=0)
    bookable: bool = True
    walk_in: bool = True


class CentreService(SQLModel, table=True):
    """A service a centre offers."""

    __tablename__ = "centre_service"

    centre_id: int = Field(
        sa_column=Column(Integer, ForeignKey("centre.id", ondelete="CASCADE"), primary_key=True)
    )
    service_id: int = Field(
        sa_column=Column(Integer, ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    )
    # A supervisor stopped walk-in intake for this centre-local day (it reopens by itself the next).
    intake_stopped_on: date | None = None


class Counter(SQLModel, table=True):
    """A service window (شباك) of a centre."""

    __table_args__ = (UniqueConstraint("centre_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="centre.id", index=True)
    number: int = Field(gt=0)
    label: str = ""
    is_open: bool = False
    agent_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("staff.id", name="fk_counter_agent_id_staff"))
    )
    paused_reason: str | None = None
    paused_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))


class QueueRole(StrEnum):
    """How a counter serves a queue (docs/scheduling.md, "Counter balancing")."""

    MAIN = "main"  # one of the counter's own queues
    BACKUP = "backup"  # allowed, but called only when none of the counter's own queues has anyone
    BOOSTED = "boosted"  # a backup raised to an own queue while it is under pressure, then lowered


class CounterService(SQLModel, table=True):
    """A service a counter serves, with the weight its agent gives that queue and its role."""

    __tablename__ = "counter_service"

    counter_id: int = Field(
        sa_column=Column(Integer, ForeignKey("counter.id", ondelete="CASCADE"), primary_key=True)
    )
    service_id: int = Field(
        sa_column=Column(Integer, ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    )
    weight: float = Field(default=1.0, gt=0)
    role: str = Field(default=QueueRole.MAIN.value, sa_column_kwargs={"server_default": QueueRole.MAIN.value})


class Staff(SQLModel, table=True):
    """A person who works Dor: agent, supervisor or admin."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    display_name: str = ""
    password_hash: str
    role: str = Field(default=Role.AGENT.value, sa_column=Column(String(16), nullable=False))
    active: bool = True
    # When an administrator last set the password: a second reset within moments is a second click.
    password_set_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))


class StaffCentre(SQLModel, table=True):
    """A centre a member of staff works at."""

    __tablename__ = "staff_centre"

    staff_id: int = Field(
        sa_column=Column(Integer, ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    )
    centre_id: int = Field(
        sa_column=Column(Integer, ForeignKey("centre.id", ondelete="CASCADE"), primary_key=True)
    )


class Device(SQLModel, table=True):
    """A kiosk or hall display; it authenticates with a token of which only a hash is kept."""

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="centre.id", index=True)
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    name: str = ""
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    # A kiosk's thermal printer, e.g. tcp://10.0.4.21:9100 (ESC/POS over a raw socket).
    printer_url: str | None = Field(default=None, sa_column=Column(String(200)))


class StaffSession(SQLModel, table=True):
    """A signed-in member of staff. Only a hash of the cookie's id is stored."""

    __tablename__ = "staff_session"

    id_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    staff_id: int = Field(foreign_key="staff.id", index=True)
    csrf_token: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    last_seen_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))


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

    id: int | None = Field(default=None, primary_key=True)
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
    # The wait predicted when it was issued (walk-ins): how far predictions are off calibrates them.
    predicted_wait_s: int | None = None
    # A remote ticket whose holder has not checked in at the hall yet: it keeps its place, uncalled.
    away: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})


class Event(SQLModel, table=True):
    """The append-only log: every change of a ticket or counter, with a per-centre monotonic seq; and
    the national log (no centre) of staff accounts, sign-ins and erasures."""

    __table_args__ = (
        UniqueConstraint("centre_id", "seq"),
        # A day's events of a centre (the wallboard's hours, the reports) without walking its history.
        Index("ix_event_centre_at", "centre_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int | None = Field(default=None, foreign_key="centre.id", description="None: the national log")
    seq: int
    type: str = Field(sa_column=Column(String(32), nullable=False))
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    actor: str = Field(sa_column=Column(String(64), nullable=False))
    at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    data: dict[str, Any] = Field(default={}, sa_column=Column(JSON, nullable=False))  # as `call_times`
    # SHA-256 of the previous entry's hash and this entry (queueing/audit.py): the log is tamper-evident.
    hash: str = Field(default="", sa_column=Column(String(64), nullable=False, server_default=""))


def in_log(centre_id: int | None) -> Any:
    """The condition selecting the events of a centre's log, or of the national log (None)."""
    return Event.centre_id == centre_id if centre_id is not None else col(Event.centre_id).is_(None)


class IdempotentRequest(SQLModel, table=True):
    """The first answer to a request carrying an Idempotency-Key, replayed to its retries."""

    __tablename__ = "idempotent_request"

    key: str = Field(sa_column=Column(String(160), primary_key=True))
    fingerprint: str = Field(sa_column=Column(String(64), nullable=False))
    status: int
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


class Throttle(SQLModel, table=True):
    """Failures counted per key (a username, a client address) in a fixed window."""

    key: str = Field(sa_column=Column(String(160), primary_key=True))
    failures: int = 0
    window_started_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


class Serial(SQLModel, table=True):
    """A named counter incremented atomically in the database: ticket numbers, event seq."""

    name: str = Field(sa_column=Column(String(96), primary_key=True))
    last: int = 0


class Stored(Protocol):
    id: int | None


def id_of(row: Stored) -> int:
    """The primary key of a row that has been flushed (SQLModel types it as optional)."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: flush it first")
    return row.id


class OtpChallenge(SQLModel, table=True):
    """A one-time code sent to a phone for one purpose; only its keyed hash is kept."""

    __tablename__ = "otp_challenge"
    __table_args__ = (Index("ix_otp_challenge_phone", "phone", "purpose", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(sa_column=Column(String(20), nullable=False))
    purpose: str = Field(sa_column=Column(String(16), nullable=False))
    code_hash: str = Field(sa_column=Column(String(64), nullable=False))
    wrong_tries: int = 0
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    expires_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    # Set when the code is used, burnt by wrong tries, or replaced by a newer code.
    closed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
