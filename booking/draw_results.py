"""A draw's close: the draw itself (booking/lottery.py over the applications), its winners'
appointments and everyone's SMS. What it publishes is booking/draw_record.py; places freed later go
to the waiting list (booking/waiting_list.py).

The draw runs in one transaction within a minute of the close (server/jobs.py): the seed is revealed,
the places and outcomes are written, and the `draw_drawn` event puts the seed, the list digest and the
results' digest in the audit chain. Whoever holds an appointment of the service by then is excluded
first (one active booking per person and service), and said so in the record.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, exists, insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select, update

from booking import lottery
from booking.appointments import (
    TOKEN_BYTES,
    BookingRules,
    new_codes,
)
from booking.centre_rules import at_centre
from booking.draws import places_left
from booking.listings import slots_changed
from booking.models import (
    ApplicationStatus,
    Appointment,
    AppointmentStatus,
    BookingSlot,
    Draw,
    DrawApplication,
)
from config.db import Database
from config.sql import id_of
from eventlog.log import append_national_event
from organisation.catalogue import list_centres
from organisation.models import Centre, Service
from sms_gateway.outbox import Message, enqueue_many

log = logging.getLogger(__name__)
SYSTEM = "system"
HOLDS_APPOINTMENT = "holds an appointment for this service"


def status_link(base_url: str, token: str) -> str:
    """The short link an SMS carries to the status page of the application with this token."""
    return f"{base_url}/d/{token}"


def _parse_start(published: str) -> datetime:
    return datetime.strptime(published, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


class _Applicant(NamedTuple):
    """What the draw reads of an application: a row of these columns, not an ORM object (100,000 of
    those took seconds to load, and the bulk update as long again to keep them in step)."""

    id: int
    pseudonym: str
    token: str
    choices: list[str]
    national_id_hash: str | None
    phone: str | None
    device_hash: str | None
    address_hash: str | None
    language: str


_APPLICANT = tuple(getattr(DrawApplication, name) for name in _Applicant._fields)


@dataclass(frozen=True)
class Drawn:
    draw: str
    applications: int
    excluded: int
    winners: int
    waiting: int


def run_due_draws(database: Database, *, rules: BookingRules, base_url: str, now: datetime) -> list[Drawn]:
    """Draws every draw whose window has closed, each in its own transaction."""
    with database.read() as session:
        due = session.exec(
            select(Draw.id).where(col(Draw.drawn_at).is_(None), col(Draw.closes_at) <= now)
        ).all()
    done = []
    for draw_id in due:
        with database.write() as session:
            draw = session.get(Draw, draw_id)
            drawn = run_draw(session, draw=draw, rules=rules, base_url=base_url, now=now) if draw else None
        if drawn is not None:
            done.append(drawn)
    return done


def run_draw(
    session: Session, *, draw: Draw, rules: BookingRules, base_url: str, now: datetime
) -> Drawn | None:
    """The draw, once (None if it is not due or was drawn already)."""
    claimed = session.execute(
        update(Draw)
        .where(col(Draw.id) == draw.id, col(Draw.drawn_at).is_(None), col(Draw.closes_at) <= now)
        .values(drawn_at=now)
    )
    if claimed.rowcount == 0:  # type: ignore[attr-defined]
        return None
    _exclude_holders(session, draw)
    excluded = session.exec(
        select(func.count())
        .select_from(DrawApplication)
        .where(DrawApplication.draw_id == draw.id, DrawApplication.status == ApplicationStatus.EXCLUDED.value)
    ).one()
    rows = [
        _Applicant(*row)
        for row in session.execute(
            sa_select(*_APPLICANT).where(
                col(DrawApplication.draw_id) == draw.id,
                col(DrawApplication.status) == ApplicationStatus.APPLIED.value,
            )
        )
    ]
    entries = [
        lottery.Application(a.pseudonym, tuple(lottery.Choice.parse(c) for c in a.choices)) for a in rows
    ]
    places = places_left(session, draw)
    seed = bytes.fromhex(draw.seed)
    outcomes = lottery.run(seed, entries, places)
    by_pseudonym = {a.pseudonym: a for a in rows}
    centres = {c.code: c for c in list_centres(session)}
    service = session.get(Service, draw.service_id)
    assert service is not None
    appointments = _appointments(session, draw, outcomes, by_pseudonym, centres, rules, now)
    _write_outcomes(session, outcomes, by_pseudonym, appointments)
    _take_places(session, draw, outcomes, centres)
    _tell_everyone(session, draw, outcomes, by_pseudonym, appointments, centres, base_url, now)
    digest = lottery.list_digest(entries)
    session.execute(
        update(Draw)
        .where(col(Draw.id) == draw.id)
        .values(list_digest=digest, places=[_place_json(p) for p in places])
    )
    drawn = Drawn(
        draw.code,
        applications=len(rows),
        excluded=excluded,
        winners=sum(1 for o in outcomes if o.waiting is None),
        waiting=sum(1 for o in outcomes if o.waiting is not None),
    )
    append_national_event(
        session,
        type="draw_drawn",
        actor=SYSTEM,
        at=now,
        data={
            "draw": draw.code,
            "seed": draw.seed,
            "commitment": draw.commitment,
            "list_digest": digest,
            "results_digest": results_digest(outcomes),
            "applications": drawn.applications,
            "excluded": excluded,
            "winners": drawn.winners,
            "waiting": drawn.waiting,
        },
    )
    log.info(
        "draw %s drawn: %d applications, %d winners, %d waiting, %d excluded",
        draw.code,
        drawn.applications,
        drawn.winners,
        drawn.waiting,
        excluded,
    )
    return drawn


def _write_outcomes(
    session: Session,
    outcomes: Sequence[lottery.Outcome],
    by_pseudonym: dict[str, _Applicant],
    appointments: dict[str, tuple[int, str]],
) -> None:
    """Each application's result, by one Core statement for all: it sets the columns its rows name
    (no ORM objects to keep in step). A draw nobody applied to writes none."""
    if not outcomes:
        return
    table = DrawApplication.__table__  # type: ignore[attr-defined]
    session.execute(
        update(table).where(table.c.id == bindparam("application")),
        [
            {
                "application": by_pseudonym[o.pseudonym].id,
                "status": (ApplicationStatus.WAITING if o.waiting else ApplicationStatus.WON).value,
                "rank": o.rank,
                "waiting": o.waiting,
                "won_centre": o.centre,
                "won_start": _parse_start(o.start) if o.start else None,
                "appointment_id": appointments.get(o.pseudonym, (None, ""))[0],
            }
            for o in outcomes
        ],
    )


def _place_json(place: lottery.Place) -> dict[str, Any]:
    return {
        "centre": place.centre,
        "day": place.day.isoformat(),
        "start": place.start,
        "places": place.places,
    }


def results_digest(outcomes: Sequence[lottery.Outcome]) -> str:
    """SHA-256 of the results, one line `rank|pseudonym|centre|start|waiting` each, in drawn order."""
    lines = (f"{o.rank}|{o.pseudonym}|{o.centre or ''}|{o.start or ''}|{o.waiting or ''}" for o in outcomes)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _exclude_holders(session: Session, draw: Draw) -> None:
    """Excludes those who hold an appointment of the service now: one active booking per person."""
    holds = exists().where(
        col(Appointment.national_id_hash) == col(DrawApplication.national_id_hash),
        col(Appointment.service_id) == draw.service_id,
        col(Appointment.status) == AppointmentStatus.BOOKED.value,
    )
    session.execute(
        update(DrawApplication)
        .where(
            col(DrawApplication.draw_id) == draw.id,
            col(DrawApplication.status) == ApplicationStatus.APPLIED.value,
            holds,
        )
        .values(status=ApplicationStatus.EXCLUDED.value, excluded_reason=HOLDS_APPOINTMENT)
        .execution_options(synchronize_session=False)
    )


def _appointments(
    session: Session,
    draw: Draw,
    outcomes: Sequence[lottery.Outcome],
    by_pseudonym: dict[str, _Applicant],
    centres: dict[str, Centre],
    rules: BookingRules,
    now: datetime,
) -> dict[str, tuple[int, str]]:
    """The winners' appointments, written at once: pseudonym -> (appointment id, code)."""
    winners = [o for o in outcomes if o.centre is not None and o.start is not None]
    codes = new_codes(session, len(winners))
    rows = []
    for outcome, code in zip(winners, codes, strict=True):
        application, centre = by_pseudonym[outcome.pseudonym], centres[outcome.centre or ""]
        start = _parse_start(outcome.start or "")
        rows.append(
            {
                "code": code,
                "token": secrets.token_urlsafe(TOKEN_BYTES),
                "centre_id": id_of(centre),
                "service_id": draw.service_id,
                "start": start,
                "end": start + at_centre(rules, centre).slots.slot,
                "status": AppointmentStatus.BOOKED.value,
                "phone": application.phone,
                "national_id_hash": application.national_id_hash,
                "device_hash": application.device_hash,
                "address_hash": application.address_hash,
                "language": application.language,
                "created_at": now,
                "reschedules": 0,
            }
        )
    if not rows:
        return {}
    written = session.execute(
        insert(Appointment).returning(col(Appointment.id), col(Appointment.code)), rows
    ).all()
    ids = {code: appointment_id for appointment_id, code in written}
    return {o.pseudonym: (ids[code], code) for o, code in zip(winners, codes, strict=True)}


def _take_places(
    session: Session, draw: Draw, outcomes: Sequence[lottery.Outcome], centres: dict[str, Centre]
) -> None:
    taken = Counter((o.centre, o.start) for o in outcomes if o.centre is not None and o.start is not None)
    if not taken:
        return
    for centre, _start in taken:
        slots_changed(session, centre or "")
    slot = BookingSlot.__table__.c  # type: ignore[attr-defined]
    session.execute(
        update(BookingSlot.__table__)  # type: ignore[attr-defined]
        .where(slot.draw_id == draw.id, slot.centre_id == bindparam("centre"), slot.start == bindparam("at"))
        .values(booked=slot.booked + bindparam("taken")),
        [
            {"centre": id_of(centres[centre or ""]), "at": _parse_start(start or ""), "taken": count}
            for (centre, start), count in taken.items()
        ],
    )


def _tell_everyone(
    session: Session,
    draw: Draw,
    outcomes: Sequence[lottery.Outcome],
    by_pseudonym: dict[str, _Applicant],
    appointments: dict[str, tuple[int, str]],
    centres: dict[str, Centre],
    base_url: str,
    now: datetime,
) -> None:
    messages = []
    for outcome in outcomes:
        application = by_pseudonym[outcome.pseudonym]
        if application.phone is None:
            continue
        key = f"draw:{draw.code}:{application.pseudonym}"
        if outcome.waiting is not None:
            messages.append(
                Message(
                    f"{key}:waiting",
                    application.phone,
                    "draw_waiting",
                    application.language,
                    {
                        "draw": draw.code,
                        "position": outcome.waiting,
                        "link": status_link(base_url, application.token),
                    },
                )
            )
            continue
        centre = centres[outcome.centre or ""]
        local = _parse_start(outcome.start or "").astimezone(ZoneInfo(centre.timezone))
        messages.append(
            Message(
                f"{key}:won",
                application.phone,
                "draw_won",
                application.language,
                {
                    "centre": centre.name_ar if application.language == "ar" else centre.name_en,
                    "date": local.date().isoformat(),
                    "time": local.strftime("%H:%M"),
                    "code": appointments[outcome.pseudonym][1],
                },
                centre_id=id_of(centre),
            )
        )
    enqueue_many(session, messages, now=now)
