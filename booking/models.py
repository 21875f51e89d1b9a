"""Appointments: a booked slot at a centre for a service, checked in at the kiosk on arrival."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Integer, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from config.db import UtcDateTime


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
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
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
