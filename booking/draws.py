"""Draws: the places of a scarce service at some centres over some days, given by a draw among those
who applied in a window, instead of to whoever books fastest (booking/lottery.py draws; the results
are booking/draw_results.py, the waiting list booking/waiting_list.py).

Opening a draw sets its slots apart: each gets its `BookingSlot` row marked with the draw, which first
come, first served booking leaves alone, and a secret seed whose commitment is public at once. In the
window, one application per national ID (the database's unique key, whatever the concurrency), from a
phone proven by a one-time code; the broker rules cap the national IDs one phone or one browser may
apply for (booking/draw_applications.py). When or how often someone applied changes nothing: the
draw orders applications by a hash.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from booking import lottery
from booking.appointments import BookingRefused, BookingRules
from booking.centre_rules import at_centre
from booking.listings import slots_changed
from booking.models import (
    BookingSlot,
    Draw,
)
from booking.places import places_on
from config.i18n import N_
from config.sql import id_of
from eventlog.log import append_national_event
from organisation.catalogue import list_centres
from organisation.models import Centre, CentreService, Service

log = logging.getLogger(__name__)
MAX_DAYS = 31  # a draw's days


@dataclass(frozen=True)
class DrawSpec:
    code: str
    service: Service
    centres: Sequence[Centre]
    opens_at: datetime
    closes_at: datetime
    first_day: date
    last_day: date
    offer_hours: int
    reason: str


def invalid(message: str, /, **params: object) -> BookingRefused:
    """A 422 whose message names its field first (`field`, or in the template)."""
    return BookingRefused(422, "invalid_input", message, **params)


def find_draw(session: Session, code: str) -> Draw | None:
    return session.exec(select(Draw).where(Draw.code == code)).first()


def list_draws(session: Session) -> Sequence[Draw]:
    """Every draw, the latest window first."""
    return session.exec(select(Draw).order_by(col(Draw.opens_at).desc(), col(Draw.code))).all()


State = Literal["announced", "open", "closed", "drawn"]


def state(draw: Draw, now: datetime) -> State:
    if draw.drawn_at is not None:
        return "drawn"
    if now < draw.opens_at:
        return "announced"
    return "open" if now < draw.closes_at else "closed"


def utc_start(start: datetime) -> str:
    """A slot's start as a draw publishes it."""
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check(session: Session, spec: DrawSpec, now: datetime) -> None:
    if spec.opens_at <= now:
        raise invalid(N_("field 'opens_at': must be later than now: the commitment is published before"))
    if spec.closes_at <= spec.opens_at:
        raise invalid(N_("field 'closes_at': must be after opens_at"))
    if spec.last_day < spec.first_day:
        raise invalid(N_("field 'last_day': must not be before first_day"))
    if (spec.last_day - spec.first_day).days >= MAX_DAYS:
        raise invalid(N_("field 'last_day': at most %(days)d days from first_day"), days=MAX_DAYS)
    if not spec.service.bookable:
        raise invalid(N_("field 'service': %(service)s cannot be booked"), service=spec.service.code)
    codes = [c.code for c in spec.centres]
    for index, centre in enumerate(spec.centres):
        field = f"centres.{index}"
        if codes.index(centre.code) != index:
            raise invalid(
                N_("field '%(field)s': %(centre)s is listed twice"), field=field, centre=centre.code
            )
        if session.get(CentreService, (id_of(centre), id_of(spec.service))) is None:
            raise invalid(
                N_("field '%(field)s': %(centre)s does not offer %(service)s"),
                field=field,
                centre=centre.code,
                service=spec.service.code,
            )
        if spec.first_day <= spec.closes_at.astimezone(ZoneInfo(centre.timezone)).date():
            raise invalid(N_("field 'first_day': must be after the day the window closes"))
    if find_draw(session, spec.code) is not None:
        raise _exists(spec.code)


def _exists(code: str) -> BookingRefused:
    return BookingRefused(409, "draw_exists", N_("a draw named %(draw)s exists already"), draw=code)


def _overlap(centre: str, day: date) -> BookingRefused:
    return BookingRefused(
        409,
        "draw_overlap",
        N_("%(centre)s's places on %(day)s are given by another draw already"),
        centre=centre,
        day=day.isoformat(),
    )


def open_draw(session: Session, *, spec: DrawSpec, rules: BookingRules, actor: str, now: datetime) -> Draw:
    """Opens a draw: its slots set apart, its seed drawn and its commitment published (logged)."""
    _check(session, spec, now)
    seed = lottery.new_seed()
    draw = Draw(
        code=spec.code,
        service_id=id_of(spec.service),
        centres=[c.code for c in spec.centres],
        opens_at=spec.opens_at,
        closes_at=spec.closes_at,
        first_day=spec.first_day,
        last_day=spec.last_day,
        seed=seed.hex(),
        commitment=lottery.commitment(seed),
        offer_hours=spec.offer_hours,
        created_by=actor,
        created_at=now,
    )
    session.add(draw)
    exists = _exists(spec.code)  # built before the flush: a failed one expires every row in hand
    try:
        session.flush()  # the unique code: a twin request opened it first
    except IntegrityError:
        raise exists from None
    days = [spec.first_day + timedelta(days=d) for d in range((spec.last_day - spec.first_day).days + 1)]
    total = 0
    for index, centre in enumerate(spec.centres):
        places = _set_apart(session, draw, centre, spec.service, days, at_centre(rules, centre), now)
        if places == 0:  # applicants choosing it could never win there
            raise invalid(
                N_("field '%(field)s': %(centre)s has no places for %(service)s on these days"),
                field=f"centres.{index}",
                centre=centre.code,
                service=spec.service.code,
            )
        total += places
    append_national_event(
        session,
        type="draw_opened",
        actor=actor,
        at=now,
        data={
            "draw": draw.code,
            "service": spec.service.code,
            "centres": draw.centres,
            "opens_at": spec.opens_at.isoformat(),
            "closes_at": spec.closes_at.isoformat(),
            "first_day": spec.first_day.isoformat(),
            "last_day": spec.last_day.isoformat(),
            "places": total,
            "commitment": draw.commitment,
            "offer_hours": spec.offer_hours,
            "reason": spec.reason,
        },
    )
    log.info("draw %s opened by %s: %d places, commitment %s", draw.code, actor, total, draw.commitment)
    return draw


def _set_apart(
    session: Session,
    draw: Draw,
    centre: Centre,
    service: Service,
    days: list[date],
    rules: BookingRules,
    now: datetime,
) -> int:
    """Marks the centre's slots of these days as the draw's and returns their places left. A slot
    already booked keeps its bookings and gives the draw the rest of its places."""
    slots_changed(session, centre.code)
    today = now.astimezone(ZoneInfo(centre.timezone)).date()
    offered = places_on(session, centre=centre, days=days, rules=rules.slots, today=today)
    starts = {start: places for day in days for start, places in offered[day].get(id_of(service), {}).items()}
    existing = {
        slot.start: slot
        for slot in session.exec(
            select(BookingSlot).where(
                BookingSlot.centre_id == id_of(centre),
                BookingSlot.service_id == id_of(service),
                col(BookingSlot.start).in_(list(starts)),
            )
        ).all()
    }
    total = 0
    for start, places in sorted(starts.items()):
        slot = existing.get(start)
        if slot is None:
            slot = BookingSlot(
                centre_id=id_of(centre), service_id=id_of(service), start=start, capacity=places
            )
        elif slot.draw_id is not None:
            raise _overlap(centre.code, start.astimezone(ZoneInfo(centre.timezone)).date())
        slot.draw_id = draw.id
        session.add(slot)
        total += max(0, slot.capacity - slot.booked)
    overlap = _overlap(centre.code, days[0])
    try:
        session.flush()  # a slot's unique key: another draw, opened at the same moment, took it first
    except IntegrityError:
        raise overlap from None
    return total


def places_left(session: Session, draw: Draw) -> list[lottery.Place]:
    """The places the draw's slots have left now, each with its centre-local day."""
    centres = {id_of(c): c for c in list_centres(session)}
    rows = session.exec(
        select(BookingSlot.centre_id, BookingSlot.start, BookingSlot.capacity, BookingSlot.booked).where(
            BookingSlot.draw_id == draw.id
        )
    ).all()
    out = []
    for centre_id, start, capacity, booked in rows:
        centre = centres[centre_id]
        day = start.astimezone(ZoneInfo(centre.timezone)).date()
        out.append(lottery.Place(centre.code, day, utc_start(start), max(0, capacity - booked)))
    return sorted(out, key=lambda p: (p.centre, p.day, p.start))
