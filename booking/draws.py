"""Draws: the places of a scarce service at some centres over some days, given by a draw among those
who applied in a window, instead of to whoever books fastest (booking/lottery.py draws; the results
are booking/draw_results.py, the waiting list booking/waiting_list.py).

Opening a draw sets its slots apart: each gets its `BookingSlot` row marked with the draw, which first
come, first served booking leaves alone, and a secret seed whose commitment is public at once. In the
window, one application per national ID (the database's unique key, whatever the concurrency), from a
phone proven by a one-time code; the broker rules cap the national IDs one phone or one browser may
apply for. When or how often someone applied changes nothing: the draw orders applications by a hash.

Applications are not logged one by one: the list digest in the `draw_drawn` event commits to all of
them, and every other step (opening, exclusions, the draw, each offer) is an event of the national
log, in the audit chain.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select, update

from booking import lottery
from booking.appointments import TOKEN_BYTES, BookingRefused, BookingRules, check_not_blocked
from booking.centre_rules import at_centre
from booking.identities import Identities
from booking.models import (
    ApplicationStatus,
    Appointment,
    AppointmentStatus,
    BookingSlot,
    Draw,
    DrawApplication,
)
from booking.places import places_on
from config.i18n import N_
from config.sql import id_of
from eventlog.log import append_national_event
from organisation.catalogue import list_centres
from organisation.hours import spans_on
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


@dataclass(frozen=True)
class ApplicationCaps:
    """National IDs one phone, or one browser, may apply for in a draw (booking/brokers.py's
    thresholds). A network address is not capped: a mobile operator puts thousands behind one."""

    per_phone: int = 3
    per_device: int = 4


def _invalid(message: str, /, **params: object) -> BookingRefused:
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
        raise _invalid(N_("field 'opens_at': must be later than now: the commitment is published before"))
    if spec.closes_at <= spec.opens_at:
        raise _invalid(N_("field 'closes_at': must be after opens_at"))
    if spec.last_day < spec.first_day:
        raise _invalid(N_("field 'last_day': must not be before first_day"))
    if (spec.last_day - spec.first_day).days >= MAX_DAYS:
        raise _invalid(N_("field 'last_day': at most %(days)d days from first_day"), days=MAX_DAYS)
    if not spec.service.bookable:
        raise _invalid(N_("field 'service': %(service)s cannot be booked"), service=spec.service.code)
    codes = [c.code for c in spec.centres]
    for index, centre in enumerate(spec.centres):
        field = f"centres.{index}"
        if codes.index(centre.code) != index:
            raise _invalid(
                N_("field '%(field)s': %(centre)s is listed twice"), field=field, centre=centre.code
            )
        if session.get(CentreService, (id_of(centre), id_of(spec.service))) is None:
            raise _invalid(
                N_("field '%(field)s': %(centre)s does not offer %(service)s"),
                field=field,
                centre=centre.code,
                service=spec.service.code,
            )
        if spec.first_day <= spec.closes_at.astimezone(ZoneInfo(centre.timezone)).date():
            raise _invalid(N_("field 'first_day': must be after the day the window closes"))
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
            raise _invalid(
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


def applications(session: Session, draw: Draw) -> int:
    return session.exec(
        select(func.count()).select_from(DrawApplication).where(DrawApplication.draw_id == draw.id)
    ).one()


def pseudonym(secret: bytes, draw: Draw, national_id_hash: str) -> str:
    """How the public list names a person's application to this draw: a keyed hash, the same however
    often they try, that nobody without the installation's secret can link to them."""
    digest = hmac.new(secret, f"draw:{draw.code}:{national_id_hash}".encode(), hashlib.sha256).hexdigest()
    return "-".join(digest[i : i + 4] for i in range(0, 16, 4)).upper()


def _choices(session: Session, draw: Draw, choices: Sequence[str]) -> list[lottery.Choice]:
    """The choices as the draw reads them; 422 naming the first that is not one of its centres and days."""
    centres = {c.code: c for c in list_centres(session) if c.code in draw.centres}
    parsed: list[lottery.Choice] = []
    for index, text in enumerate(choices):
        field = f"choices.{index}"
        try:
            choice = lottery.Choice.parse(text)
        except ValueError:
            raise _invalid(
                N_("field '%(field)s': a centre and a day, as DAM-01@2027-01-12 or DAM-01@*"), field=field
            ) from None
        centre = centres.get(choice.centre)
        if centre is None:
            raise _invalid(
                N_("field '%(field)s': %(centre)s is not one of this draw's centres"),
                field=field,
                centre=choice.centre,
            )
        if choice.day is not None and not draw.first_day <= choice.day <= draw.last_day:
            raise _invalid(
                N_("field '%(field)s': %(day)s is not one of this draw's days"),
                field=field,
                day=choice.day.isoformat(),
            )
        if choice.day is not None and not spans_on(choice.day, centre.opening_hours, centre.holidays):
            raise _invalid(
                N_("field '%(field)s': %(centre)s is closed on %(day)s"),
                field=field,
                centre=centre.code,
                day=choice.day.isoformat(),
            )
        if choice in parsed:
            raise _invalid(N_("field '%(field)s': this choice is listed twice"), field=field)
        parsed.append(choice)
    return parsed


def apply(
    session: Session,
    *,
    draw: Draw,
    who: Identities,
    choices: Sequence[str],
    language: str,
    caps: ApplicationCaps,
    rules: BookingRules,
    secret: bytes,
    now: datetime,
) -> DrawApplication:
    """Applies for a person, or raises BookingRefused: the window, the choices, a block, one
    application per national ID, none for someone who holds an appointment of the service already,
    and the caps per phone and browser."""
    if state(draw, now) != "open":
        raise BookingRefused(
            409,
            "draw_not_open",
            N_("applications to %(draw)s are taken from %(opens)s to %(closes)s"),
            draw=draw.code,
            opens=draw.opens_at.isoformat(timespec="minutes"),
            closes=draw.closes_at.isoformat(timespec="minutes"),
        )
    parsed = _choices(session, draw, choices)
    check_not_blocked(session, who=who, rules=rules, now=now)
    mine = (DrawApplication.draw_id == draw.id,)
    if session.exec(
        select(DrawApplication.id).where(*mine, DrawApplication.national_id_hash == who.national_id)
    ).first():
        raise _applied_already(draw)
    booked = session.exec(
        select(Appointment.id).where(
            Appointment.national_id_hash == who.national_id,
            Appointment.service_id == draw.service_id,
            Appointment.status == AppointmentStatus.BOOKED.value,
        )
    ).first()
    if booked is not None:
        raise BookingRefused(
            409, "already_booked", N_("you hold an appointment for this service already; cancel it to apply")
        )
    for shared, value, cap in (
        (DrawApplication.phone, who.phone, caps.per_phone),
        (DrawApplication.device_hash, who.device, caps.per_device),
    ):
        if value is None:
            continue
        count = session.exec(
            select(func.count()).select_from(DrawApplication).where(*mine, shared == value)
        ).one()
        if count >= cap:
            raise BookingRefused(
                409,
                "too_many_applications",
                N_("%(count)d people have applied from this phone or browser already, the most a draw takes"),
                count=cap,
            )
    application = DrawApplication(
        draw_id=id_of(draw),
        pseudonym=pseudonym(secret, draw, who.national_id),
        token=secrets.token_urlsafe(TOKEN_BYTES),
        national_id_hash=who.national_id,
        phone=who.phone,
        device_hash=who.device,
        address_hash=who.address,
        language=language,
        choices=[str(c) for c in parsed],
        created_at=now,
    )
    session.add(application)
    refusal = _applied_already(draw)  # before the flush: a failed one expires every row in hand
    try:
        session.flush()  # the unique key: a twin application of the same person lost the race
    except IntegrityError:
        raise refusal from None
    return application


def _applied_already(draw: Draw) -> BookingRefused:
    return BookingRefused(
        409, "already_applied", N_("this national ID has applied to %(draw)s already"), draw=draw.code
    )


def find_application(session: Session, token: str) -> DrawApplication | None:
    return session.exec(select(DrawApplication).where(DrawApplication.token == token)).first()


def exclude(
    session: Session, *, draw: Draw, pseudonym: str, reason: str, actor: str, now: datetime
) -> DrawApplication:
    """Takes an application out of the draw before its close (a broker's, say), logged with why."""
    if state(draw, now) in ("closed", "drawn"):
        raise BookingRefused(409, "draw_closed", N_("%(draw)s is closed: its list is final"), draw=draw.code)
    application = session.exec(
        select(DrawApplication).where(
            DrawApplication.draw_id == draw.id, DrawApplication.pseudonym == pseudonym
        )
    ).first()
    if application is None:
        raise BookingRefused(
            404, "not_found", N_("no application %(pseudonym)s in this draw"), pseudonym=pseudonym
        )
    excluded = session.execute(
        update(DrawApplication)
        .where(
            col(DrawApplication.id) == application.id,
            col(DrawApplication.status) == ApplicationStatus.APPLIED.value,
        )
        .values(status=ApplicationStatus.EXCLUDED.value, excluded_reason=reason)
    )
    if excluded.rowcount == 0:  # type: ignore[attr-defined]
        raise BookingRefused(
            409, "already_excluded", N_("%(pseudonym)s is excluded already"), pseudonym=pseudonym
        )
    append_national_event(
        session,
        type="draw_application_excluded",
        actor=actor,
        at=now,
        data={"draw": draw.code, "pseudonym": pseudonym, "reason": reason},
    )
    session.refresh(application)
    return application
