"""The organisation's tables: centres, services, counters and the services each serves, staff and
their centres, devices, sign-in sessions."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from config.db import UtcDateTime
from config.i18n import N_

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OpeningHours = dict[str, list[list[str]]]

# The pictures a service can show on the kiosk and the booking page, shipped with Dor as SVG files
# (config/web/static/icons/{name}.svg): no CDN, and a picture means something before its name is read.
SERVICE_ICONS = ("document", "family", "id-card", "passport", "certificate", "house", "car", "baby")

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
    NODE = "node"  # a centre's own server (docs/centre-node.md)


class Centre(SQLModel, table=True):
    """A citizen-service centre (مركز خدمة المواطن)."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(16), unique=True, nullable=False))
    name_ar: str
    name_en: str
    governorate: str
    # Where the centre is, as a citizen would be told: street and landmark.
    address_ar: str = Field(default="", sa_column_kwargs={"server_default": ""})
    address_en: str = Field(default="", sa_column_kwargs={"server_default": ""})
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
    # The centre's own booking capacity settings; None: the national setting (DOR_BOOKING_*). The rules
    # its slots are offered and booked by come from booking/centre_rules.py (`at_centre`).
    booking_walk_in_share: float | None = None
    booking_horizon_days: int | None = None
    booking_target_load: float | None = None


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
    # One of the pictures shipped with Dor (SERVICE_ICONS).
    icon: str = Field(
        default="document", sa_column=Column(String(32), nullable=False, server_default="document")
    )


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
    """A kiosk, hall display or centre node; it authenticates with a token of which only a hash is kept."""

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


# Weekly opening hours: {"sun": [["08:00", "14:00"]], ...}; days absent are closed.
