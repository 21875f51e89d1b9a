"""Supervisors against brokers: the flags of booking/brokers.py for a centre, voiding bookings, and
blocking an identity from booking. Voids, blocks and lifts are logged with their author in the
centre's event log, so they are in the audit chain and the exceptions report."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import update
from sqlmodel import Session, col, select
from starlette.requests import Request

from booking.appointments import BookingRefused, BookingRules, cancel
from booking.brokers import Booking, BrokerRules, Flag, detect
from booking.centre_rules import at_centre
from booking.identities import identities_of, phone_hash
from booking.models import Appointment, AppointmentStatus, BookingBlock, IdentityKind
from booking.slots import released_at
from booking.web.appointments import booking_rules
from config.i18n import N_
from config.schemas import Strict, UsageQuery
from config.sql import id_of
from config.web.context import now
from config.web.endpoints import operation, path_number
from config.web.errors import ApiError, not_found
from eventlog.log import append_event
from organisation.models import Centre, Service
from organisation.web.managers import centre_report, managed_change, managed_read

Reasoned = Field(min_length=3, max_length=200, description="why, for the audit log")
Codes = Field(min_length=1, max_length=100, description="appointment codes at this centre")


class FlagsQuery(UsageQuery):
    """`from` and `to`: the local days the bookings were made."""


class FlaggedOut(BaseModel):
    code: str
    service: str
    start: datetime
    created_at: datetime
    status: str
    seconds_after_release: int


class FlagOut(BaseModel):
    reason: str = Field(description="shared_identity, fast_after_release or no_show_cluster")
    identity: str | None = Field(description="what the bookings share: phone, device or address")
    key: str = Field(description="the shared phone's last digits, a short hash, or the release instant")
    identities: int = Field(description="distinct national IDs among the flagged bookings")
    bookings: int
    no_shows: int
    elsewhere: int = Field(description="flagged bookings at other centres")
    appointments: list[FlaggedOut] = Field(description="the flagged bookings at this centre")


class VoidIn(Strict):
    codes: list[str] = Codes
    reason: str = Reasoned


class SkippedOut(BaseModel):
    code: str
    status: str


class VoidOut(BaseModel):
    voided: list[str]
    skipped: list[SkippedOut] = Field(description="appointments no longer booked, left as they are")


class BlockIn(Strict):
    appointments: list[str] = Codes
    identities: list[Literal["national_id", "phone", "device", "address"]] = Field(
        min_length=1, description="which of the bookings' identities to block"
    )
    days: int = Field(default=90, ge=1, le=3650)
    reason: str = Reasoned


class BlockOut(BaseModel):
    id: int
    kind: str
    reason: str
    actor: str
    created_at: datetime
    until: datetime
    lifted_at: datetime | None


def broker_rules(request: Request) -> BrokerRules:
    s = request.app.state.settings
    return BrokerRules(
        phone_identities=s.broker_phone_identities,
        device_identities=s.broker_device_identities,
        address_identities=s.broker_address_identities,
        release_s=s.broker_release_s,
        no_shows=s.broker_no_shows,
    )


def _bookings(
    session: Session, *, since: datetime, until: datetime, secret: bytes, rules: BookingRules
) -> list[Booking]:
    """Every centre's bookings made in [since, until): a broker works across centres. A slot was
    released its centre's horizon before its day (the horizon it has now)."""
    centres = {id_of(c): c for c in session.exec(select(Centre)).all()}
    horizons = {centre_id: at_centre(rules, c).slots.horizon_days for centre_id, c in centres.items()}
    services = dict(session.exec(select(Service.id, Service.code)).all())
    rows = session.exec(
        select(Appointment).where(col(Appointment.created_at) >= since, col(Appointment.created_at) < until)
    ).all()
    return [
        Booking(
            code=a.code,
            centre=centres[a.centre_id].code,
            service=services[a.service_id],
            start=a.start,
            created_at=a.created_at,
            released_at=released_at(
                a.start, timezone=centres[a.centre_id].timezone, horizon_days=horizons[a.centre_id]
            ),
            status=a.status,
            identities=identities_of(a, secret),
        )
        for a in rows
    ]


def _key(flag: Flag, phones: dict[str, str]) -> str:
    if flag.identity is IdentityKind.PHONE:
        return "…" + phones.get(flag.key, "")[-3:]
    return flag.key if flag.identity is None else flag.key[:10]


def flag_out(flag: Flag, centre: Centre, phones: dict[str, str]) -> FlagOut:
    zone = ZoneInfo(centre.timezone)
    here = [b for b in flag.bookings if b.centre == centre.code]
    return FlagOut(
        reason=flag.reason.value,
        identity=flag.identity.value if flag.identity else None,
        key=_key(flag, phones),
        identities=flag.identities,
        bookings=len(flag.bookings),
        no_shows=flag.no_shows,
        elsewhere=len(flag.bookings) - len(here),
        appointments=[
            FlaggedOut(
                code=b.code,
                service=b.service,
                start=b.start.astimezone(zone),
                created_at=b.created_at.astimezone(zone),
                status=b.status,
                seconds_after_release=round(b.seconds_after_release),
            )
            for b in sorted(here, key=lambda b: b.created_at)
        ],
    )


@operation(
    "GET",
    "/api/v1/centres/{centre}/bookings/flags",
    summary="Bookings that look like a broker's: shared identities, fast after release, no-show clusters",
    tag="administration",
    query=FlagsQuery,
    responses={200: list[FlagOut]},
    errors=(401, 403),
    security=("session",),
)
async def flags(request: Request, query: FlagsQuery) -> list[FlagOut]:
    """Supervisors of the centre and admins; bookings made from `from` to `to` (local days, at most a
    year) at every centre, flags that touch this centre, the widest first."""
    settings, rules, national = request.app.state.settings, broker_rules(request), booking_rules(request)

    def work(session: Session, centre: Centre) -> list[FlagOut]:
        zone = ZoneInfo(centre.timezone)
        since = datetime.combine(query.from_, time(), zone).astimezone(UTC)
        until = datetime.combine(query.to + timedelta(days=1), time(), zone).astimezone(UTC)
        bookings = _bookings(session, since=since, until=until, secret=settings.secret, rules=national)
        phones = {
            phone_hash(settings.secret, phone): phone
            for phone in session.exec(
                select(Appointment.phone).where(
                    Appointment.centre_id == id_of(centre),
                    col(Appointment.created_at) >= since,
                    col(Appointment.created_at) < until,
                    col(Appointment.phone).is_not(None),
                )
            ).all()
            if phone is not None
        }
        found = [f for f in detect(bookings, rules) if any(b.centre == centre.code for b in f.bookings)]
        return [flag_out(f, centre, phones) for f in found]

    return await centre_report(request, query, work)


def _appointments(session: Session, request: Request, centre: Centre, codes: list[str]) -> list[Appointment]:
    """The centre's appointments by code, in the order given; 404 naming the first unknown code."""
    wanted = [code.strip().upper() for code in codes]
    found = {
        a.code: a
        for a in session.exec(
            select(Appointment)
            .where(Appointment.centre_id == id_of(centre), col(Appointment.code).in_(wanted))
            .with_for_update()
        ).all()
    }
    for code in wanted:
        if code not in found:
            raise not_found(request, "appointment", code)
    return [found[code] for code in dict.fromkeys(wanted)]


@operation(
    "POST",
    "/api/v1/centres/{centre}/appointments/void",
    summary="Void booked appointments as a broker's: their places return to the pool",
    tag="administration",
    body=VoidIn,
    responses={200: VoidOut},
    errors=(401, 403),
    security=("session",),
)
async def void(request: Request, body: VoidIn) -> VoidOut:
    """Supervisors of the centre and admins. An unknown code is 404 and nothing is voided; one no
    longer booked is skipped. Each void is logged as `appointment_voided` with the reason, and the
    holder gets the cancellation SMS."""
    at = now(request)

    def work(session: Session, centre: Centre, actor: str) -> VoidOut:
        out = VoidOut(voided=[], skipped=[])
        for appointment in _appointments(session, request, centre, body.codes):
            try:
                cancel(
                    session, appointment=appointment, centre=centre, now=at, status=AppointmentStatus.VOIDED
                )
            except BookingRefused:
                out.skipped.append(SkippedOut(code=appointment.code, status=appointment.status))
                continue
            service = session.get(Service, appointment.service_id)
            append_event(
                session,
                centre_id=id_of(centre),
                centre_code=centre.code,
                type="appointment_voided",
                actor=actor,
                at=at,
                data={
                    "code": appointment.code,
                    "service": service.code if service else "",
                    "reason": body.reason,
                },
            )
            out.voided.append(appointment.code)
        return out

    return await managed_change(request, work)


def block_out(block: BookingBlock) -> BlockOut:
    return BlockOut(
        id=id_of(block),
        kind=block.kind,
        reason=block.reason,
        actor=block.actor,
        created_at=block.created_at,
        until=block.until,
        lifted_at=block.lifted_at,
    )


@operation(
    "POST",
    "/api/v1/centres/{centre}/blocks",
    summary="Block the identities behind appointments (national ID, phone, device, address) from booking",
    tag="administration",
    body=BlockIn,
    responses={201: list[BlockOut]},
    errors=(401, 403),
    security=("session",),
)
async def block(request: Request, body: BlockIn) -> list[BlockOut]:
    """Supervisors of the centre and admins. One block per distinct identity found (an appointment
    whose data was erased has none: 422); each applies at every centre and is logged as
    `identity_blocked`."""
    settings, at = request.app.state.settings, now(request)

    def work(session: Session, centre: Centre, actor: str) -> list[BlockOut]:
        appointments = _appointments(session, request, centre, body.appointments)
        chosen = set(map(IdentityKind, body.identities))
        values = {
            (kind, value)
            for appointment in appointments
            for kind, value in identities_of(appointment, settings.secret).items()
            if kind in chosen
        }
        if not values:
            raise ApiError(
                422, "invalid_input", N_("field 'identities': these appointments have none of them")
            )
        blocks = []
        for kind, value in sorted(values):
            new = BookingBlock(
                kind=kind.value,
                value_hash=value,
                centre_id=id_of(centre),
                reason=body.reason,
                actor=actor,
                created_at=at,
                until=at + timedelta(days=body.days),
            )
            session.add(new)
            session.flush()
            append_event(
                session,
                centre_id=id_of(centre),
                centre_code=centre.code,
                type="identity_blocked",
                actor=actor,
                at=at,
                data={"block": id_of(new), "kind": kind.value, "days": body.days, "reason": body.reason},
            )
            blocks.append(block_out(new))
        return blocks

    return await managed_change(request, work)


class BlocksQuery(Strict):
    lifted: bool = Field(default=False, description="include lifted and expired blocks")


@operation(
    "GET",
    "/api/v1/centres/{centre}/blocks",
    summary="Identities blocked from booking by this centre's supervisors",
    tag="administration",
    query=BlocksQuery,
    responses={200: list[BlockOut]},
    errors=(401, 403),
    security=("session",),
)
async def list_blocks(request: Request, query: BlocksQuery) -> list[BlockOut]:
    """Supervisors of the centre and admins; the newest first."""
    at = now(request)

    def work(session: Session, centre: Centre) -> list[BlockOut]:
        rows = select(BookingBlock).where(BookingBlock.centre_id == id_of(centre))
        if not query.lifted:
            rows = rows.where(col(BookingBlock.lifted_at).is_(None), col(BookingBlock.until) > at)
        return [block_out(b) for b in session.exec(rows.order_by(col(BookingBlock.id).desc())).all()]

    return await managed_read(request, work)


@operation(
    "DELETE",
    "/api/v1/centres/{centre}/blocks/{block}",
    summary="Lift a block",
    tag="administration",
    responses={200: BlockOut},
    errors=(401, 403, 409),
    security=("session",),
)
async def lift(request: Request) -> BlockOut:
    """Supervisors of the centre and admins; logged as `block_lifted`."""
    raw, at = request.path_params["block"], now(request)
    number = path_number(raw)
    if number is None:
        raise not_found(request, "block", raw)

    def work(session: Session, centre: Centre, actor: str) -> BlockOut:
        found = session.get(BookingBlock, number)
        if found is None or found.centre_id != id_of(centre):
            raise not_found(request, "block", raw)
        lifted = session.execute(
            update(BookingBlock)
            .where(col(BookingBlock.id) == number, col(BookingBlock.lifted_at).is_(None))
            .values(lifted_at=at)
        )
        if lifted.rowcount == 0:  # type: ignore[attr-defined]  # lifted already, perhaps a moment ago
            raise ApiError(409, "block_lifted", N_("block %(block)s was lifted already"), block=number)
        session.refresh(found)
        append_event(
            session,
            centre_id=id_of(centre),
            centre_code=centre.code,
            type="block_lifted",
            actor=actor,
            at=at,
            data={"block": number, "kind": found.kind},
        )
        return block_out(found)

    return await managed_change(request, work)


routes = [flags, void, block, list_blocks, lift]
