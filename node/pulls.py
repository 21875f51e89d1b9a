"""At a centre node: what it last pulled from the central, and when (node.models.Pulled)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from node.models import Pulled

ORGANISATION = "organisation"
APPOINTMENTS = "appointments"


def held_version(session: Session, *, name: str) -> int | None:
    """The version of `name` the node holds, or None before its first pull or once `forget` says
    its copy must be read again."""
    row = session.get(Pulled, name)
    return int(row.version) if row and row.version else None


def forget(session: Session, *, name: str) -> None:
    """The node's copy of `name` is to be read again whole at the next answer, changed or not."""
    row = session.get(Pulled, name)
    if row is not None:
        row.version = ""
        session.add(row)


def held_fingerprint(session: Session, *, name: str) -> str | None:
    """The fingerprint of `name` the node holds (its appointments), or None."""
    row = session.get(Pulled, name)
    return row.version if row and row.version else None


def pulled(session: Session, *, name: str, version: int | str, at: datetime) -> None:
    """Records an answer of the central about `name`: the version the node now holds, and when."""
    row = session.get(Pulled, name) or Pulled(name=name, version=str(version), pulled_at=at)
    row.version, row.pulled_at = str(version), at
    session.add(row)


def last_pulled(session: Session, *, name: str) -> datetime | None:
    """When the central last answered about `name`."""
    row = session.get(Pulled, name)
    return row.pulled_at if row else None
