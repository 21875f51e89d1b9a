"""The link between the central and a centre's node: at the central, each node-run centre's last
contact and outages; at the node, what it last pulled from the central."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from config.db import UtcDateTime


class NodeLink(SQLModel, table=True):
    """At the central: a node-run centre's link, as its node's calls show it."""

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


class Pulled(SQLModel, table=True):
    """At a node: what it last pulled from the central (the organisation, the appointments): the
    version or fingerprint it holds, and when it last had an answer."""

    name: str = Field(sa_column=Column(String(32), primary_key=True))
    version: str = Field(sa_column=Column(String(64), nullable=False))
    pulled_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
