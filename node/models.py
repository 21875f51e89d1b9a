"""At a centre node: what it last pulled from the central (the central's side of the link is the
event log's: eventlog.models.NodeLink)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from config.db import UtcDateTime


class Pulled(SQLModel, table=True):
    """At a node: what it last pulled from the central (the organisation, the appointments): the
    version or fingerprint it holds, and when it last had an answer."""

    name: str = Field(sa_column=Column(String(32), primary_key=True))
    version: str = Field(sa_column=Column(String(64), nullable=False))
    pulled_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
