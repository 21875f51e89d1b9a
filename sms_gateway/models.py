"""The outbox: one row per logical SMS, written in the transaction of the change that causes it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Text
from sqlmodel import Field, SQLModel

from config.db import UtcDateTime


class SmsStatus(StrEnum):
    PENDING = "pending"  # waiting to be sent, or to be retried
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"  # a delivery report says the phone has it
    FAILED = "failed"  # given up: retries exhausted, or the provider reported it undeliverable


class SmsMessage(SQLModel, table=True):
    """An SMS to send, and what became of it."""

    __tablename__ = "sms_outbox"
    __table_args__ = (Index("ix_sms_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # One row per logical message: enqueueing the same key again does nothing.
    dedupe_key: str = Field(sa_column=Column(String(160), unique=True, nullable=False))
    phone: str = Field(sa_column=Column(String(20), nullable=False))
    template: str = Field(sa_column=Column(String(32), nullable=False))
    language: str = Field(sa_column=Column(String(2), nullable=False))
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    encoding: str = Field(sa_column=Column(String(8), nullable=False))
    segments: int
    # The centre whose budget pays for it (None for messages of no centre); usage is reported per centre.
    centre_id: int | None = Field(default=None, foreign_key="centre.id", index=True)
    status: str = Field(default=SmsStatus.PENDING.value, sa_column=Column(String(16), nullable=False))
    attempts: int = 0
    # When a pending message is next due; a claim pushes it forward by the lease, so a sender that dies
    # mid-send leaves the message to be claimed again once the lease is over.
    next_attempt_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))
    claim: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    backend: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    provider_id: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
    # The provider's last answer when it was not a success, kept for support.
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False, index=True))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime, nullable=True))
