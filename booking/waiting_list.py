"""A drawn draw's waiting list: each place freed after the draw (a winner cancels or moves, an
appointment is voided) is offered, at most a minute later, to the first on the list whose choices
admit it, by SMS with a deadline; accepting books it, declining or letting the deadline pass gives
it to the next. A place nobody left on the list wants goes back to first come, first served
booking. Each step is an event of the national log (docs/scheduling.md, "Allocation by draw")."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam
from sqlmodel import Session, col, select, update

from booking import lottery
from booking.appointments import (
    BookingRefused,
    BookingRules,
    new_appointment,
    send_appointment_sms,
)
from booking.centre_rules import at_centre
from booking.draw_results import SYSTEM, status_link
from booking.draws import utc_start
from booking.listings import slots_changed
from booking.models import ApplicationStatus, Appointment, BookingSlot, Draw, DrawApplication
from config.db import Database
from config.i18n import N_
from config.sql import id_of
from eventlog.log import append_national_event
from organisation.catalogue import list_centres
from organisation.models import Centre, Service
from sms_gateway.outbox import Message, enqueue_many

log = logging.getLogger(__name__)


def offer_freed_places(database: Database, *, rules: BookingRules, base_url: str, now: datetime) -> int:
    """Lapses the offers past their deadline, then offers each draw's freed places to its waiting
    list in order; returns how many were offered."""
    with database.read() as session:
        live = session.exec(
            select(Draw.id).where(
                col(Draw.drawn_at).is_not(None), col(Draw.last_day) >= (now - timedelta(days=1)).date()
            )
        ).all()
    offered = 0
    for draw_id in live:
        with database.write() as session:
            draw = session.get(Draw, draw_id)
            if draw is not None:
                _lapse_expired(session, draw, now)
                offered += _offer(session, draw, rules, base_url, now)
    return offered


def _lapse_expired(session: Session, draw: Draw, now: datetime) -> None:
    expired = session.exec(
        select(DrawApplication).where(
            DrawApplication.draw_id == draw.id,
            DrawApplication.status == ApplicationStatus.OFFERED.value,
            col(DrawApplication.offer_expires_at) <= now,
        )
    ).all()
    for application in expired:
        _lapse(session, draw, application, "draw_offer_lapsed", SYSTEM, now)


def _lapse(
    session: Session, draw: Draw, application: DrawApplication, kind: str, actor: str, now: datetime
) -> None:
    lapsed = session.execute(
        update(DrawApplication)
        .where(
            col(DrawApplication.id) == application.id,
            col(DrawApplication.status) == ApplicationStatus.OFFERED.value,
        )
        .values(status=ApplicationStatus.LAPSED.value)
        .execution_options(synchronize_session=False)
    )
    if lapsed.rowcount == 0:  # type: ignore[attr-defined]
        raise _offer_not_open()
    append_national_event(
        session,
        type=kind,
        actor=actor,
        at=now,
        data={
            "draw": draw.code,
            "pseudonym": application.pseudonym,
            "centre": application.offer_centre,
            "start": utc_start(application.offer_start) if application.offer_start else None,
        },
    )


def _offer(session: Session, draw: Draw, rules: BookingRules, base_url: str, now: datetime) -> int:
    centres = {c.code: c for c in list_centres(session)}
    by_id = {id_of(c): c for c in centres.values()}
    pending = Counter(
        (centre, start)
        for centre, start in session.exec(
            select(DrawApplication.offer_centre, DrawApplication.offer_start).where(
                DrawApplication.draw_id == draw.id, DrawApplication.status == ApplicationStatus.OFFERED.value
            )
        ).all()
    )
    free = []
    for centre_id, start, capacity, booked in session.exec(
        select(BookingSlot.centre_id, BookingSlot.start, BookingSlot.capacity, BookingSlot.booked)
        .where(BookingSlot.draw_id == draw.id, col(BookingSlot.booked) < col(BookingSlot.capacity))
        .order_by(col(BookingSlot.start))
    ).all():
        centre = by_id[centre_id]
        notice = at_centre(rules, centre).slots.min_notice
        left = capacity - booked - pending[centre.code, start]
        if start - notice > now and left > 0:
            free += [(centre, start)] * left
    if not free:
        return 0
    waiting = list(
        session.exec(
            select(DrawApplication)
            .where(
                DrawApplication.draw_id == draw.id, DrawApplication.status == ApplicationStatus.WAITING.value
            )
            .order_by(col(DrawApplication.waiting))
        ).all()
    )
    wants = {id_of(a): [lottery.Choice.parse(c) for c in a.choices] for a in waiting}
    offered, unwanted = 0, set()
    for centre, start in free:
        day = start.astimezone(ZoneInfo(centre.timezone)).date()
        taker = next(
            (
                a
                for a in waiting
                if any(c.centre == centre.code and c.day in (None, day) for c in wants[id_of(a)])
            ),
            None,
        )
        if taker is None:
            unwanted.add((id_of(centre), start))
            continue
        waiting.remove(taker)
        notice = at_centre(rules, centre).slots.min_notice
        deadline = min(now + timedelta(hours=draw.offer_hours), start - notice)
        taker.status = ApplicationStatus.OFFERED.value
        taker.offer_centre, taker.offer_start, taker.offer_expires_at = centre.code, start, deadline
        session.add(taker)
        _tell_offer(session, draw, taker, centre, deadline, base_url, now)
        offered += 1
    for centre_id in {centre_id for centre_id, _ in unwanted}:
        slots_changed(session, by_id[centre_id].code)
    _release(session, draw, unwanted, now)
    return offered


def _release(session: Session, draw: Draw, slots: set[tuple[int, datetime]], now: datetime) -> None:
    """Gives back to first come, first served booking the slots with places that nobody left on the
    waiting list wants (all of them once the list is empty): places no one would take otherwise."""
    if not slots:
        return
    table = BookingSlot.__table__.c  # type: ignore[attr-defined]
    session.execute(
        update(BookingSlot.__table__)  # type: ignore[attr-defined]
        .where(
            table.draw_id == draw.id, table.centre_id == bindparam("centre"), table.start == bindparam("at")
        )
        .values(draw_id=None),
        [{"centre": centre, "at": start} for centre, start in sorted(slots)],
    )
    append_national_event(
        session,
        type="draw_places_released",
        actor=SYSTEM,
        at=now,
        data={"draw": draw.code, "slots": len(slots)},
    )
    log.info("draw %s: %d slots nobody waiting wants, back to booking", draw.code, len(slots))


def _tell_offer(
    session: Session,
    draw: Draw,
    application: DrawApplication,
    centre: Centre,
    deadline: datetime,
    base_url: str,
    now: datetime,
) -> None:
    local, start = deadline.astimezone(ZoneInfo(centre.timezone)), application.offer_start or now
    if application.phone is not None:
        enqueue_many(
            session,
            [
                Message(
                    f"draw:{draw.code}:{application.pseudonym}:offer:{utc_start(start)}",
                    application.phone,
                    "draw_offer",
                    application.language,
                    {
                        "centre": centre.name_ar if application.language == "ar" else centre.name_en,
                        "deadline": local.strftime("%Y-%m-%d %H:%M"),
                        "link": status_link(base_url, application.token),
                    },
                    centre_id=id_of(centre),
                )
            ],
            now=now,
        )
    append_national_event(
        session,
        type="draw_place_offered",
        actor=SYSTEM,
        at=now,
        data={
            "draw": draw.code,
            "pseudonym": application.pseudonym,
            "waiting": application.waiting,
            "centre": centre.code,
            "start": utc_start(start),
            "expires_at": deadline.isoformat(),
        },
    )


def _offer_not_open() -> BookingRefused:
    return BookingRefused(409, "offer_not_open", N_("no place is offered to this application now"))


def accept(
    session: Session, *, application: DrawApplication, rules: BookingRules, now: datetime
) -> Appointment:
    """Takes the place offered: an appointment, told by SMS; 409 if no offer stands."""
    draw = session.get(Draw, application.draw_id)
    assert draw is not None
    if (
        application.status != ApplicationStatus.OFFERED.value
        or application.offer_start is None
        or application.offer_expires_at is None
        or application.offer_expires_at <= now
    ):
        raise _offer_not_open()
    centre = next(c for c in list_centres(session) if c.code == application.offer_centre)
    service = session.get(Service, draw.service_id)
    assert service is not None
    taken = session.execute(
        update(BookingSlot)
        .where(
            col(BookingSlot.draw_id) == draw.id,
            col(BookingSlot.centre_id) == id_of(centre),
            col(BookingSlot.start) == application.offer_start,
            col(BookingSlot.booked) < col(BookingSlot.capacity),
        )
        .values(booked=col(BookingSlot.booked) + 1)
    )
    if taken.rowcount == 0:  # type: ignore[attr-defined]
        raise BookingRefused(409, "slot_full", N_("this slot is full; choose another"))
    slots_changed(session, centre.code)
    start = application.offer_start
    appointment = new_appointment(
        session,
        centre=centre,
        service=service,
        start=start,
        end=start + at_centre(rules, centre).slots.slot,
        holder=application,
        language=application.language,
        now=now,
    )
    accepted = session.execute(
        update(DrawApplication)
        .where(
            col(DrawApplication.id) == application.id,
            col(DrawApplication.status) == ApplicationStatus.OFFERED.value,
        )
        .values(status=ApplicationStatus.ACCEPTED.value, appointment_id=appointment.id)
        .execution_options(synchronize_session=False)
    )
    if accepted.rowcount == 0:  # type: ignore[attr-defined]  # a twin request took it first
        raise _offer_not_open()
    send_appointment_sms(session, appointment, centre, "booking_confirmed", now)
    append_national_event(
        session,
        type="draw_offer_accepted",
        actor=f"draw:{application.pseudonym}",
        at=now,
        data={
            "draw": draw.code,
            "pseudonym": application.pseudonym,
            "centre": centre.code,
            "start": utc_start(start),
        },
    )
    session.refresh(application)
    return appointment


def decline(session: Session, *, application: DrawApplication, now: datetime) -> None:
    """Gives the place offered back: it goes to the next on the waiting list."""
    draw = session.get(Draw, application.draw_id)
    assert draw is not None
    _lapse(session, draw, application, "draw_offer_declined", f"draw:{application.pseudonym}", now)
    session.refresh(application)
