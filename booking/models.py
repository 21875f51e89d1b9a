"""Appointments: a booked slot at a centre for a service, checked in at the kiosk on arrival."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Date, Index, Integer, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from config.db import UtcDateTime
from config.sql import TICKET_ID


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    VOIDED = "voided"  # by a supervisor, as a broker's (booking/brokers.py)


# Statuses whose place went back to the pool.
RELEASED = (AppointmentStatus.CANCELLED.value, AppointmentStatus.VOIDED.value)


class Appointment(SQLModel, table=True):
    """One booking. The code is short and typed at the kiosk; the token is the unguessable manage link."""

    __table_args__ = (
        Index("ix_appointment_slot", "centre_id", "service_id", "start"),
        Index("ix_appointment_created", "created_at"),
        # One active booking per person and service, enforced by the database.
        Index(
            "uq_appointment_active_person",
            "national_id_hash",
            "service_id",
            unique=True,
            sqlite_where=text("status = 'booked'"),
            postgresql_where=text("status = 'booked'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(12), unique=True, nullable=False))
    token: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    centre_id: int = Field(foreign_key="centre.id")
    service_id: int = Field(foreign_key="service.id")
    start: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    end: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    status: str = Field(default=AppointmentStatus.BOOKED.value, sa_column=Column(String(16), nullable=False))
    phone: str | None = Field(default=None, sa_column=Column(String(20)))
    national_id_hash: str | None = Field(default=None, sa_column=Column(String(64), index=True))
    language: str = Field(default="ar", sa_column=Column(String(2), nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    checked_in_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", sa_type=TICKET_ID)
    reschedules: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    cancelled_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    # Keyed hashes of the browser (its device cookie) and the network address it booked from: what
    # broker detection clusters on, erased with the phone after the retention period.
    device_hash: str | None = Field(default=None, sa_column=Column(String(64)))
    address_hash: str | None = Field(default=None, sa_column=Column(String(64)))


class BookingSlot(SQLModel, table=True):
    """A slot's places, created when first booked; the database keeps `booked <= capacity`."""

    __tablename__ = "booking_slot"
    __table_args__ = (UniqueConstraint("centre_id", "service_id", "start"),)

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="centre.id")
    service_id: int = Field(foreign_key="service.id")
    start: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    capacity: int
    booked: int = 0
    # A slot whose places a draw gives (booking/draws.py): not for first come, first served booking.
    draw_id: int | None = Field(default=None, foreign_key="draw.id")


class IdentityKind(StrEnum):
    NATIONAL_ID = "national_id"
    PHONE = "phone"
    DEVICE = "device"
    ADDRESS = "address"


class BookingBlock(SQLModel, table=True):
    """An identity a supervisor barred from booking, everywhere, until a date: kept as its keyed hash."""

    __tablename__ = "booking_block"
    __table_args__ = (Index("ix_booking_block_identity", "kind", "value_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    value_hash: str = Field(sa_column=Column(String(64), nullable=False))
    centre_id: int = Field(foreign_key="centre.id", description="where it was decided")
    reason: str = Field(sa_column=Column(String(200), nullable=False))
    actor: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    until: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    lifted_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))


class Draw(SQLModel, table=True):
    """Places of a service at some centres over some days, given by a draw among those who applied in
    a window (booking/lottery.py draws, booking/draws.py runs it). The seed stays secret until the
    close; only its commitment is public before."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(24), unique=True, nullable=False))
    service_id: int = Field(foreign_key="service.id")
    centres: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    opens_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    closes_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    first_day: date = Field(sa_column=Column(Date, nullable=False))
    last_day: date = Field(sa_column=Column(Date, nullable=False))
    seed: str = Field(sa_column=Column(String(64), nullable=False))  # hex; public once drawn
    commitment: str = Field(sa_column=Column(String(64), nullable=False))
    offer_hours: int = Field(description="how long a waiting applicant has to accept a place offered")
    created_by: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    drawn_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    list_digest: str | None = Field(default=None, sa_column=Column(String(64)))
    # The places the draw gave, as published in its record: [{centre, day, start, places}].
    places: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))


class ApplicationStatus(StrEnum):
    APPLIED = "applied"
    EXCLUDED = "excluded"  # before the draw, with a reason: a broker's, or one already booked
    WON = "won"  # an appointment from the draw
    WAITING = "waiting"
    OFFERED = "offered"  # a place freed after the draw, offered until a deadline
    ACCEPTED = "accepted"  # that place taken: an appointment
    LAPSED = "lapsed"  # that place declined, or not taken in time: off the waiting list


class DrawApplication(SQLModel, table=True):
    """One person's application to a draw. The pseudonym is what the public list shows; the token is
    the unguessable link to its status."""

    __tablename__ = "draw_application"
    __table_args__ = (
        # One application per person and draw, enforced by the database whatever the concurrency.
        UniqueConstraint("draw_id", "national_id_hash"),
        UniqueConstraint("draw_id", "pseudonym"),
        Index("ix_draw_application_waiting", "draw_id", "status", "waiting"),
        Index("ix_draw_application_phone", "draw_id", "phone"),  # the caps per phone and browser
        Index("ix_draw_application_device", "draw_id", "device_hash"),
    )

    id: int | None = Field(default=None, primary_key=True)
    draw_id: int = Field(foreign_key="draw.id")
    pseudonym: str = Field(sa_column=Column(String(19), nullable=False))
    token: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    # Who applied, erased with the rest after the retention period (booking/upkeep.py).
    national_id_hash: str | None = Field(default=None, sa_column=Column(String(64)))
    phone: str | None = Field(default=None, sa_column=Column(String(20)))
    device_hash: str | None = Field(default=None, sa_column=Column(String(64)))
    address_hash: str | None = Field(default=None, sa_column=Column(String(64)))
    language: str = Field(default="ar", sa_column=Column(String(2), nullable=False))
    choices: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    status: str = Field(default=ApplicationStatus.APPLIED.value, sa_column=Column(String(16), nullable=False))
    excluded_reason: str | None = Field(default=None, sa_column=Column(String(200)))
    # The draw's outcome, as published: the position drawn, then a slot or a place on the waiting list.
    rank: int | None = None
    won_centre: str | None = Field(default=None, sa_column=Column(String(16)))
    won_start: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    waiting: int | None = None
    # A place freed after the draw, offered to this applicant until `offer_expires_at`.
    offer_centre: str | None = Field(default=None, sa_column=Column(String(16)))
    offer_start: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    offer_expires_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime))
    appointment_id: int | None = Field(default=None, foreign_key="appointment.id")
