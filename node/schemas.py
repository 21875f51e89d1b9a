"""What the central and a centre's node send each other (docs/centre-node.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from config.schemas import Instant, Strict

PUSH_ENTRIES = 500  # entries in one push at most: a busy centre's hour, a few hundred KB


class LogEntryIn(Strict):
    """One entry of the centre's log as the node chained it (eventlog/chain.py)."""

    seq: int = Field(ge=1, le=2**62)
    type: str = Field(min_length=1, max_length=32)
    ticket: int | None = Field(default=None, ge=1, le=2**62)
    counter: int | None = Field(default=None, ge=1, le=2**31 - 1)
    actor: str = Field(max_length=64)
    at: Instant
    data: dict[str, Any] = Field(default_factory=dict)
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")


class PushIn(Strict):
    """Entries of the centre's log, oldest first, and the rows they name as the node holds them now."""

    head: int = Field(ge=0, le=2**62, description="the node's own log head: how far behind the central is")
    events: list[LogEntryIn] = Field(max_length=PUSH_ENTRIES)
    tickets: list[dict[str, Any]] = Field(default=[], max_length=PUSH_ENTRIES)
    counters: list[dict[str, Any]] = Field(default=[], max_length=200)
    appointments: list[dict[str, Any]] = Field(default=[], max_length=PUSH_ENTRIES)


class LogQuery(Strict):
    head: int | None = Field(default=None, ge=0, le=2**62, description="the node's own log head")


class LogHeadOut(BaseModel):
    """The central's head of the centre's log: the node sends what follows it."""

    seq: int
    hash: str


class OrganisationQuery(Strict):
    known: int | None = Field(default=None, ge=0, le=2**62, description="the version the node holds")


class OrganisationOut(BaseModel):
    """The organisation as a centre's node needs it (node/organisation.py); only the version when the
    node holds it already."""

    version: int
    unchanged: bool = False
    centre: dict[str, Any] | None = None
    services: list[dict[str, Any]] = Field(default_factory=list)
    offers: list[dict[str, Any]] = Field(default_factory=list)
    counters: list[dict[str, Any]] = Field(default_factory=list)
    queues: list[dict[str, Any]] = Field(default_factory=list)
    staff: list[dict[str, Any]] = Field(default_factory=list)
    staff_centres: list[dict[str, Any]] = Field(default_factory=list)
    devices: list[dict[str, Any]] = Field(default_factory=list)
    log: dict[str, Any] = Field(default_factory=dict)


class AppointmentsQuery(Strict):
    known: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="the fingerprint the node holds"
    )


class AppointmentsOut(BaseModel):
    """The centre's appointments for the coming days (node/appointments.py); only the fingerprint when
    the node holds them already."""

    fingerprint: str
    unchanged: bool = False
    appointments: list[dict[str, Any]] = Field(default_factory=list)
