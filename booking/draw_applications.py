"""Applications to a draw (booking/draws.py): in the window, one per national ID (the database's
unique key, whatever the concurrency), from a phone proven by a one-time code, with up to three
choices of the draw's centres and days; the broker rules cap the national IDs one phone or one
browser may apply for, and an admin may exclude one before the close, with a published reason.

Applications are not logged one by one: the list digest in the `draw_drawn` event commits to all of
them, and every other step (opening, exclusions, the draw, each offer) is an event of the national
log, in the audit chain.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select, update

from booking import lottery
from booking.appointments import TOKEN_BYTES, BookingRefused, BookingRules, check_not_blocked
from booking.draws import invalid, state
from booking.identities import Identities
from booking.models import ApplicationStatus, Appointment, AppointmentStatus, Draw, DrawApplication
from config.i18n import N_
from config.sql import id_of
from eventlog.log import append_national_event
from organisation.catalogue import list_centres
from organisation.hours import spans_on


@dataclass(frozen=True)
class ApplicationCaps:
    """National IDs one phone, or one browser, may apply for in a draw (booking/brokers.py's
    thresholds). A network address is not capped: a mobile operator puts thousands behind one."""

    per_phone: int = 3
    per_device: int = 4


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
            raise invalid(
                N_("field '%(field)s': a centre and a day, as DAM-01@2027-01-12 or DAM-01@*"), field=field
            ) from None
        centre = centres.get(choice.centre)
        if centre is None:
            raise invalid(
                N_("field '%(field)s': %(centre)s is not one of this draw's centres"),
                field=field,
                centre=choice.centre,
            )
        if choice.day is not None and not draw.first_day <= choice.day <= draw.last_day:
            raise invalid(
                N_("field '%(field)s': %(day)s is not one of this draw's days"),
                field=field,
                day=choice.day.isoformat(),
            )
        if choice.day is not None and not spans_on(choice.day, centre.opening_hours, centre.holidays):
            raise invalid(
                N_("field '%(field)s': %(centre)s is closed on %(day)s"),
                field=field,
                centre=centre.code,
                day=choice.day.isoformat(),
            )
        if choice in parsed:
            raise invalid(N_("field '%(field)s': this choice is listed twice"), field=field)
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
