"""A drawn draw's published record: the commitment, the seed, the places it gave, every application
by pseudonym with its choices and result, and those excluded before the draw with why. Anyone
re-runs it with `dor draw verify` (booking/lottery.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from booking import lottery
from booking.draws import utc_start
from booking.models import ApplicationStatus, Draw, DrawApplication
from organisation.models import Service


def published_places(draw: Draw) -> list[lottery.Place]:
    """The places a drawn draw gave, as it published them."""
    return [
        lottery.Place(p["centre"], date.fromisoformat(p["day"]), p["start"], p["places"])
        for p in draw.places or []
    ]


@dataclass(frozen=True)
class Record:
    """A drawn draw as published: the lottery's record and those excluded before it, with why."""

    draw: Draw
    service: str
    record: lottery.Record
    excluded: list[tuple[str, str]]


def published(session: Session, draw: Draw) -> Record | None:
    """The record of a drawn draw (None before the draw)."""
    if draw.drawn_at is None or draw.places is None:
        return None
    rows = session.execute(
        sa_select(
            col(DrawApplication.pseudonym),
            col(DrawApplication.choices),
            col(DrawApplication.rank),
            col(DrawApplication.won_centre),
            col(DrawApplication.won_start),
            col(DrawApplication.waiting),
            col(DrawApplication.excluded_reason),
            col(DrawApplication.status),
        )
        .where(col(DrawApplication.draw_id) == draw.id)
        .order_by(col(DrawApplication.rank), col(DrawApplication.pseudonym))
    ).all()
    entries, outcomes, excluded = [], [], []
    for name, choices, rank, centre, start, waiting, reason, status in rows:
        if status == ApplicationStatus.EXCLUDED.value or rank is None:
            excluded.append((name, reason or ""))
            continue
        entries.append(lottery.Application(name, tuple(lottery.Choice.parse(c) for c in choices)))
        outcomes.append(lottery.Outcome(name, rank, centre, utc_start(start) if start else None, waiting))
    service = session.get(Service, draw.service_id)
    assert service is not None
    record = lottery.Record(
        draw.commitment, bytes.fromhex(draw.seed), entries, published_places(draw), outcomes
    )
    return Record(draw, service.code, record, excluded)
