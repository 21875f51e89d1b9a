"""One-time codes sent to a phone by SMS, kept as hashes until used or expired."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, String
from sqlmodel import Field, SQLModel

from config.db import UtcDateTime


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
