"""The event log's tables: one row per change, hash-chained per log, and the named serials (the
logs' heads, ticket numbers, the organisation's version)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel, col

from config.db import UtcDateTime
from config.sql import TICKET_ID


class Event(SQLModel, table=True):
    """The append-only log: every change of a ticket or counter, with a per-centre monotonic seq; and
    the national log (no centre) of staff accounts, sign-ins and erasures."""

    __table_args__ = (
        UniqueConstraint("centre_id", "seq"),
        # A day's events of a centre (the wallboard's hours, the reports) without walking its history.
        Index("ix_event_centre_at", "centre_id", "at"),
        # The audit screen's searches by staff member and by kind, newest first, with no day: a rare
        # one is read from these rather than by walking the centre's whole log (docs/operations.md).
        Index("ix_event_centre_actor_seq", "centre_id", "actor", "seq"),
        Index("ix_event_centre_type_seq", "centre_id", "type", "seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int | None = Field(default=None, foreign_key="centre.id", description="None: the national log")
    seq: int
    type: str = Field(sa_column=Column(String(32), nullable=False))
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True, sa_type=TICKET_ID)
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    actor: str = Field(sa_column=Column(String(64), nullable=False))
    at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    data: dict[str, Any] = Field(default={}, sa_column=Column(JSON, nullable=False))  # as `call_times`
    # SHA-256 of the previous entry's hash and this entry (eventlog/chain.py): the log is tamper-evident.
    hash: str = Field(default="", sa_column=Column(String(64), nullable=False, server_default=""))


def in_log(centre_id: int | None) -> Any:
    """The condition selecting the events of a centre's log, or of the national log (None)."""
    return Event.centre_id == centre_id if centre_id is not None else col(Event.centre_id).is_(None)


class Serial(SQLModel, table=True):
    """A named counter incremented atomically in the database: ticket numbers, event seq."""

    name: str = Field(sa_column=Column(String(96), primary_key=True))
    last: int = 0


class NodeLink(SQLModel, table=True):
    """At the central: a centre node's link, as its calls show it (docs/centre-node.md)."""

    __tablename__ = "node_link"

    centre_id: int = Field(foreign_key="centre.id", primary_key=True)
    last_contact_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    # The node's log head as it last reported it; the central's is its own log's (eventlog).
    node_seq: int = 0


class NodeOutage(SQLModel, table=True):
    """At the central: a span during which a centre's node did not call."""

    __tablename__ = "node_outage"

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="centre.id", index=True)
    began_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    ended_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
