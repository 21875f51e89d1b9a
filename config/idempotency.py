"""Idempotency-Key: the first answer to a request is stored and replayed to its retries."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, String
from sqlmodel import Field, Session, SQLModel, col, delete

from config.db import UtcDateTime


class IdempotentRequest(SQLModel, table=True):
    """The first answer to a request carrying an Idempotency-Key, replayed to its retries."""

    __tablename__ = "idempotent_request"

    key: str = Field(sa_column=Column(String(160), primary_key=True))
    fingerprint: str = Field(sa_column=Column(String(64), nullable=False))
    status: int
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime, nullable=False))


MAX_KEY_LENGTH = 100
# A retry comes within minutes. After this long the stored answer (a ticket's token, say) is
# deleted, so that the keys clients make up cannot grow the table without bound.
KEEP = timedelta(days=1)


class KeyReused(Exception):
    """The same key came with a different request."""


def fingerprint(path: str, body: Any) -> str:
    """A digest of what was asked, to tell a retry from a different request under the same key."""
    canonical = json.dumps(
        [path, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def replay(session: Session, *, key: str, fingerprint: str) -> tuple[int, dict[str, Any]] | None:
    """The stored answer to this key, None if it is new; KeyReused if it was used for something else."""
    stored = session.get(IdempotentRequest, key)
    if stored is None:
        return None
    if stored.fingerprint != fingerprint:
        raise KeyReused("this Idempotency-Key was already used for a different request")
    return stored.status, stored.body


def remember(
    session: Session, *, key: str, fingerprint: str, status: int, body: dict[str, Any], now: datetime
) -> None:
    """Stores the answer in the caller's transaction; a concurrent twin fails on the primary key."""
    session.add(IdempotentRequest(key=key, fingerprint=fingerprint, status=status, body=body, created_at=now))
    session.flush()


def forget(session: Session, *, before: datetime) -> int:
    """Deletes the answers stored before `before`; returns how many."""
    gone = session.execute(delete(IdempotentRequest).where(col(IdempotentRequest.created_at) < before))
    return int(gone.rowcount)  # type: ignore[attr-defined]
