"""Appointments: book a slot (race-safe), cancel, reschedule once; the no-show loop and reminders.

The database guards every limit that a race could break: a slot's places (`booked < capacity` in a
conditional update), one active booking per person and service (a partial unique index). Limits that
only slow abuse down (bookings per phone, the no-show block) are checked in the transaction. A slot
a draw gives (booking/draws.py) is not for booking here. Over 400 lines: every guard on a slot's
places and on a person's bookings is read side by side, and a draw's winners are booked by the same
`new_appointment`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from booking.checkin import CODE_ALPHABET
from booking.identities import Identities
from booking.listings import slots_changed
from booking.models import Appointment, AppointmentStatus, BookingBlock, BookingSlot, Draw, DrawApplication
from booking.places import places_at
from booking.slots import NotBookable, SlotRules, check_bookable
from config.errors import Refused
from config.i18n import N_
from config.settings import Settings
from config.sql import id_of
from identity.phones import to_ascii_digits
from organisation.models import Centre, CentreService, Service
from sms_gateway.outbox import enqueue

log = logging.getLogger(__name__)
CODE_LENGTH = 8  # 25^8: a short code to type, not a secret (the token is)
TOKEN_BYTES = 24
NATIONAL_ID_DIGITS = 11  # the Syrian national number (الرقم الوطني)


@dataclass(frozen=True)
class BookingRules:
    slots: SlotRules = field(default_factory=SlotRules)
    max_active_per_phone: int = 3
    max_reschedules: int = 1
    # Repeated no-shows by one person block booking for a while.
    no_show_limit: int = 3
    no_show_window: timedelta = timedelta(days=90)
    block_for: timedelta = timedelta(days=30)


def national_rules(settings: Settings) -> BookingRules:
    """The national booking rules, as configured (a centre's own: booking/centre_rules.py)."""
    return BookingRules(
        slots=SlotRules(
            slot=timedelta(minutes=settings.booking_slot_minutes),
            horizon_days=settings.booking_horizon_days,
            min_notice=timedelta(minutes=settings.booking_min_notice_minutes),
            walk_in_share=settings.booking_walk_in_share,
            places=settings.booking_places,
            target_load=settings.booking_target_load,
        ),
        max_active_per_phone=settings.booking_max_per_phone,
        no_show_limit=settings.booking_no_show_limit,
        no_show_window=timedelta(days=settings.booking_no_show_window_days),
        block_for=timedelta(days=settings.booking_block_days),
    )


class BookingRefused(Refused):
    """Why a booking cannot be made or changed: its HTTP status and code for the API."""

    def __init__(self, status: int, code: str, message: str, /, **params: object) -> None:
        super().__init__(message, **params)
        self.http_status = status
        self.code = code


class InvalidNationalId(ValueError):
    pass


def national_id_hash(secret: bytes, typed: str) -> str:
    """The keyed hash Dor keeps of a national ID (never the ID); InvalidNationalId if malformed."""
    digits = to_ascii_digits(typed).replace(" ", "").replace("-", "")
    if len(digits) != NATIONAL_ID_DIGITS or not digits.isascii() or not digits.isdigit():
        raise InvalidNationalId(f"a national ID has {NATIONAL_ID_DIGITS} digits")
    if len(set(digits)) == 1:
        raise InvalidNationalId("not a real national ID")
    return hmac.new(secret, f"national-id:{digits}".encode(), hashlib.sha256).hexdigest()


def _take_place(
    session: Session, *, centre: Centre, service: Service, start: datetime, rules: SlotRules, now: datetime
) -> bool:
    """Takes one place in the slot unless it is full: the database decides, whatever the concurrency.
    A slot keeps the places it was first sold with, so they are worked out only for its first sale."""
    slots_changed(session, centre.code)
    this_slot = (
        col(BookingSlot.centre_id) == id_of(centre),
        col(BookingSlot.service_id) == id_of(service),
        col(BookingSlot.start) == start,
    )
    if session.exec(select(BookingSlot.start).where(*this_slot)).first() is None:
        places = places_at(session, centre=centre, service=service, start=start, rules=rules, now=now)
        dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
        session.execute(
            dialect.insert(BookingSlot.__table__)  # type: ignore[attr-defined]
            .values(
                centre_id=id_of(centre), service_id=id_of(service), start=start, capacity=places, booked=0
            )
            .on_conflict_do_nothing()
        )
    taken = session.execute(
        update(BookingSlot)
        .where(
            *this_slot,
            col(BookingSlot.booked) < col(BookingSlot.capacity),
            col(BookingSlot.draw_id).is_(None),
        )
        .values(booked=col(BookingSlot.booked) + 1)
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def _release_place(session: Session, appointment: Appointment, centre: Centre) -> None:
    slots_changed(session, centre.code)
    session.execute(
        update(BookingSlot)
        .where(
            col(BookingSlot.centre_id) == appointment.centre_id,
            col(BookingSlot.service_id) == appointment.service_id,
            col(BookingSlot.start) == appointment.start,
            col(BookingSlot.booked) > 0,
        )
        .values(booked=col(BookingSlot.booked) - 1)
    )


def new_codes(session: Session, count: int) -> list[str]:
    """`count` appointment codes that no appointment has (a draw's winners need thousands at once)."""
    codes: set[str] = set()
    while len(codes) < count:
        fresh = {
            "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            for _ in range(count - len(codes))
        }
        fresh -= codes
        for chunk in _chunks(sorted(fresh), 1000):
            fresh -= set(session.exec(select(Appointment.code).where(col(Appointment.code).in_(chunk))).all())
        codes |= fresh
    return sorted(codes)


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _check_slot(start: datetime, *, centre: Centre, rules: BookingRules, now: datetime) -> datetime:
    try:
        return check_bookable(
            start,
            now=now,
            hours=centre.opening_hours,
            holidays=centre.holidays,
            timezone=centre.timezone,
            rules=rules.slots,
        )
    except NotBookable as exc:
        raise BookingRefused(422, exc.code, exc.template, **exc.params) from None


def refuse_full_slot(
    session: Session, *, centre: Centre, service: Service, start: datetime, rules: BookingRules, now: datetime
) -> None:
    """Refuses at once a slot that cannot be booked, or that its listing already shows full: at a
    release most attempts are for slots gone a moment before, and this answers them with one
    indexed read, before the phone's code and the person's limits are looked at. `book` still
    decides, race-safely."""
    _check_slot(start, centre=centre, rules=rules, now=now)
    _refuse_slot(session, centre=centre, service=service, start=start, listed=True)


def _refuse_slot(
    session: Session, *, centre: Centre, service: Service, start: datetime, listed: bool = False
) -> None:
    """Refuses a slot a draw gives (`allocated_by_draw`), else one with no place left (`slot_full`):
    the database has just refused its place, or, `listed`, its row shows none left."""
    sold = session.exec(
        select(BookingSlot.capacity, BookingSlot.booked, Draw.code)
        .outerjoin(Draw, col(Draw.id) == col(BookingSlot.draw_id))
        .where(
            BookingSlot.centre_id == id_of(centre),
            BookingSlot.service_id == id_of(service),
            BookingSlot.start == start,
        )
    ).first()
    if sold is None and listed:
        return  # never booked yet
    places, booked, draw = sold if sold is not None else (0, 0, None)
    if draw is not None:
        raise BookingRefused(
            409, "allocated_by_draw", N_("the places of this slot are given by the draw %(draw)s"), draw=draw
        )
    if booked >= places or not listed:
        raise BookingRefused(409, "slot_full", N_("this slot is full; choose another"))


def check_not_blocked(session: Session, *, who: Identities, rules: BookingRules, now: datetime) -> None:
    """Refuses a person barred from booking: an identity a supervisor blocked, or too many no-shows."""
    blocked = session.exec(
        select(func.max(BookingBlock.until)).where(
            or_(
                *(
                    (col(BookingBlock.kind) == kind.value) & (col(BookingBlock.value_hash) == value)
                    for kind, value in who.hashes().items()
                )
            ),
            col(BookingBlock.until) > now,
            col(BookingBlock.lifted_at).is_(None),
        )
    ).one()
    if blocked is not None:
        until = blocked.date().isoformat()
        raise BookingRefused(409, "booking_blocked", N_("booking is blocked until %(until)s"), until=until)
    no_shows = session.exec(
        select(Appointment.start).where(
            Appointment.national_id_hash == who.national_id,
            Appointment.status == AppointmentStatus.NO_SHOW.value,
            col(Appointment.start) >= now - rules.no_show_window,
        )
    ).all()
    if len(no_shows) >= rules.no_show_limit and max(no_shows) + rules.block_for > now:
        until = (max(no_shows) + rules.block_for).date().isoformat()
        raise BookingRefused(
            409,
            "booking_blocked",
            N_("too many missed appointments: booking is blocked until %(until)s"),
            until=until,
        )


def _check_person(session: Session, *, who: Identities, rules: BookingRules, now: datetime) -> None:
    check_not_blocked(session, who=who, rules=rules, now=now)
    active = session.exec(
        select(func.count())
        .select_from(Appointment)
        .where(
            Appointment.phone == who.phone,
            Appointment.status == AppointmentStatus.BOOKED.value,
            col(Appointment.start) > now,
        )
    ).one()
    if active >= rules.max_active_per_phone:
        raise BookingRefused(
            409,
            "quota_exceeded",
            N_("a phone may hold %(count)d bookings at a time"),
            count=rules.max_active_per_phone,
        )


def book(
    session: Session,
    *,
    centre: Centre,
    service: Service,
    start: datetime,
    who: Identities,
    language: str,
    rules: BookingRules,
    now: datetime,
) -> Appointment:
    """Books a place, or raises BookingRefused (422 for a slot that cannot be, 409 for a limit)."""
    if session.get(CentreService, (id_of(centre), id_of(service))) is None:
        raise BookingRefused(
            422,
            "service_not_offered",
            N_("%(centre)s does not offer %(service)s"),
            centre=centre.code,
            service=service.code,
        )
    if not service.bookable:
        raise BookingRefused(
            422, "service_not_bookable", N_("%(service)s cannot be booked"), service=service.code
        )
    end = _check_slot(start, centre=centre, rules=rules, now=now)
    _check_person(session, who=who, rules=rules, now=now)
    existing = session.exec(
        select(Appointment.id).where(
            Appointment.national_id_hash == who.national_id,
            Appointment.service_id == id_of(service),
            Appointment.status == AppointmentStatus.BOOKED.value,
        )
    ).first()
    if existing is not None:
        raise BookingRefused(409, "quota_exceeded", N_("one active booking per person and service"))
    if not _take_place(session, centre=centre, service=service, start=start, rules=rules.slots, now=now):
        _refuse_slot(session, centre=centre, service=service, start=start)
    appointment = new_appointment(
        session, centre=centre, service=service, start=start, end=end, holder=who, language=language, now=now
    )
    send_appointment_sms(session, appointment, centre, "booking_confirmed", now)
    log.info("appointment %s booked at %s for %s", appointment.code, centre.code, start.isoformat())
    return appointment


def new_appointment(
    session: Session,
    *,
    centre: Centre,
    service: Service,
    start: datetime,
    end: datetime,
    holder: Identities | DrawApplication,
    language: str,
    now: datetime,
) -> Appointment:
    """The appointment's row, its place already taken, for a person who booked or won a draw;
    `quota_exceeded` if the person holds another of this service (the partial unique index: a twin
    booking of the same person lost the race)."""
    appointment = Appointment(
        code=new_codes(session, 1)[0],
        token=secrets.token_urlsafe(TOKEN_BYTES),
        centre_id=id_of(centre),
        service_id=id_of(service),
        start=start,
        end=end,
        phone=holder.phone,
        national_id_hash=holder.national_id if isinstance(holder, Identities) else holder.national_id_hash,
        device_hash=holder.device if isinstance(holder, Identities) else holder.device_hash,
        address_hash=holder.address if isinstance(holder, Identities) else holder.address_hash,
        language=language,
        created_at=now,
    )
    session.add(appointment)
    try:
        session.flush()
    except IntegrityError:
        raise BookingRefused(409, "quota_exceeded", N_("one active booking per person and service")) from None
    return appointment


def send_appointment_sms(
    session: Session, appointment: Appointment, centre: Centre, template: str, now: datetime, **extra: str
) -> None:
    """Queues an SMS about the appointment (once per template and start time)."""
    if appointment.phone is None:
        return
    local = appointment.start.astimezone(ZoneInfo(centre.timezone))
    enqueue(
        session,
        dedupe_key=f"appointment:{appointment.id}:{template}:{appointment.start.isoformat()}",
        phone=appointment.phone,
        template=template,
        language=appointment.language,
        params={
            "centre": centre.name_ar if appointment.language == "ar" else centre.name_en,
            "date": local.date().isoformat(),
            "time": local.strftime("%H:%M"),
            "code": appointment.code,
            **extra,
        },
        now=now,
        centre_id=id_of(centre),
    )


def cancel(
    session: Session,
    *,
    appointment: Appointment,
    centre: Centre,
    now: datetime,
    status: AppointmentStatus = AppointmentStatus.CANCELLED,
    sms: str = "cancelled",
    **sms_params: str,
) -> None:
    """Cancels a booked appointment (or voids it, as a broker's); its place returns to the pool and
    the holder is told by the SMS `sms`. Of twin requests only one finds it still booked."""
    cancelled = session.execute(
        update(Appointment)
        .where(
            col(Appointment.id) == appointment.id, col(Appointment.status) == AppointmentStatus.BOOKED.value
        )
        .values(status=status.value, cancelled_at=now)
    )
    if cancelled.rowcount == 0:  # type: ignore[attr-defined]
        session.refresh(appointment)
        raise BookingRefused(
            409, "appointment_not_active", N_("this appointment is %(status)s"), status=appointment.status
        )
    if appointment.start > now:
        _release_place(session, appointment, centre)
    send_appointment_sms(session, appointment, centre, sms, now, **sms_params)


def reschedule(
    session: Session,
    *,
    appointment: Appointment,
    centre: Centre,
    start: datetime,
    rules: BookingRules,
    now: datetime,
) -> None:
    """Moves a booked appointment to another slot, once: the new place is taken before the old is
    freed, and the move holds only if the appointment is still as it was read (twin requests: one)."""
    if appointment.status != AppointmentStatus.BOOKED.value:
        raise BookingRefused(
            409, "appointment_not_active", N_("this appointment is %(status)s"), status=appointment.status
        )
    if appointment.reschedules >= rules.max_reschedules:
        raise _moved_already()
    if start == appointment.start:
        raise BookingRefused(
            422, "slot_unchanged", N_("field 'start': this is already the appointment's time")
        )
    end = _check_slot(start, centre=centre, rules=rules, now=now)
    service = session.get(Service, appointment.service_id)
    assert service is not None
    if not _take_place(session, centre=centre, service=service, start=start, rules=rules.slots, now=now):
        _refuse_slot(session, centre=centre, service=service, start=start)
    old_start = appointment.start
    moved = session.execute(
        update(Appointment)
        .where(
            col(Appointment.id) == appointment.id,
            col(Appointment.status) == AppointmentStatus.BOOKED.value,
            col(Appointment.start) == old_start,
            col(Appointment.reschedules) < rules.max_reschedules,
        )
        .values(start=start, end=end, reschedules=col(Appointment.reschedules) + 1)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount == 0:  # type: ignore[attr-defined]  # a twin request moved or cancelled it first
        session.refresh(appointment)
        if appointment.status != AppointmentStatus.BOOKED.value:
            raise BookingRefused(
                409, "appointment_not_active", N_("this appointment is %(status)s"), status=appointment.status
            )
        raise _moved_already()
    _release_place(session, appointment, centre)  # still the old slot: the row in hand was not synchronised
    session.refresh(appointment)
    send_appointment_sms(session, appointment, centre, "booking_confirmed", now)


def _moved_already() -> BookingRefused:
    return BookingRefused(
        409, "reschedule_limit", N_("an appointment can be moved only once; cancel and book again")
    )


def find_by_token(session: Session, token: str) -> Appointment | None:
    return session.exec(select(Appointment).where(Appointment.token == token)).first()
