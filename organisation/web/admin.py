"""Administration routes: devices of a centre (supervisors, admins) and staff accounts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlmodel import Session, col, select
from starlette.requests import Request

from config.sql import id_of
from config.web.context import now
from config.web.endpoints import operation, path_number
from config.web.errors import ApiError, not_found
from config.web.threads import read, write
from organisation import catalogue
from organisation.accounts import SignedIn
from organisation.models import Centre, Device, DeviceKind, Role, Staff, StaffCentre
from organisation.schemas import (
    CredentialOut,
    DeviceIn,
    DeviceOut,
    NewDeviceOut,
    NewPasswordIn,
    StaffIn,
    StaffOut,
)
from organisation.staff import (
    AdminError,
    add_device,
    add_staff,
    devices_of,
    disable_staff,
    find_staff,
    generate_password,
    log_device_change,
    log_staff_change,
    reset_password,
    revoke_device,
)
from organisation.web.credentials import credentials, session_policy
from organisation.web.managers import centre_of_path, manager_of


def _device_out(device: Device) -> DeviceOut:
    return DeviceOut(
        id=id_of(device),
        kind=device.kind,
        name=device.name,
        created_at=device.created_at,
        revoked_at=device.revoked_at,
    )


@contextmanager
def refused_as_conflict() -> Iterator[None]:
    """What the administration refuses (AdminError) as a 409 with its code."""
    try:
        yield
    except AdminError as exc:
        raise ApiError(409, exc.code, str(exc)) from None


@operation(
    "GET",
    "/api/v1/centres/{centre}/devices",
    summary="A centre's kiosks and displays",
    tag="administration",
    responses={200: list[DeviceOut]},
    errors=(401, 403),
    security=("session",),
)
async def list_devices(request: Request) -> list[DeviceOut]:
    """Supervisors of the centre and admins."""
    creds, at, rules = credentials(request), now(request), session_policy(request)

    def work(session: Session) -> list[DeviceOut]:
        centre = centre_of_path(session, request)
        manager_of(session, creds, at=at, rules=rules, centre_id=id_of(centre))
        return [_device_out(d) for d in devices_of(session, centre_id=id_of(centre))]

    return await read(request, work)


@operation(
    "POST",
    "/api/v1/centres/{centre}/devices",
    summary="Register a kiosk or display; its token is shown once",
    tag="administration",
    body=DeviceIn,
    responses={201: NewDeviceOut},
    errors=(401, 403),
    security=("session",),
)
async def register_device(request: Request, body: DeviceIn) -> NewDeviceOut:
    """Creates the device and returns its token; only a hash is kept."""
    creds, at, rules = credentials(request), now(request), session_policy(request)

    def work(session: Session) -> NewDeviceOut:
        centre = centre_of_path(session, request)
        manager = manager_of(session, creds, at=at, rules=rules, centre_id=id_of(centre))
        device, token = add_device(session, centre=centre, kind=DeviceKind(body.kind), name=body.name, now=at)
        log_device_change(session, "device_registered", device, centre=centre, actor=manager.actor, at=at)
        return NewDeviceOut(**_device_out(device).model_dump(), token=token)

    return await write(request, work)


@operation(
    "DELETE",
    "/api/v1/centres/{centre}/devices/{device}",
    summary="Revoke a device's token",
    tag="administration",
    responses={200: DeviceOut},
    errors=(401, 403, 409),
    security=("session",),
)
async def revoke(request: Request) -> DeviceOut:
    """The token stops working at once."""
    creds, at, rules = credentials(request), now(request), session_policy(request)
    raw = request.path_params["device"]

    def work(session: Session) -> DeviceOut:
        centre = centre_of_path(session, request)
        manager = manager_of(session, creds, at=at, rules=rules, centre_id=id_of(centre))
        number = path_number(raw)
        device = session.get(Device, number) if number is not None else None
        if device is None or device.centre_id != centre.id:
            raise not_found(request, "device", raw)
        with refused_as_conflict():
            revoke_device(session, device=device, now=at)
        log_device_change(session, "device_revoked", device, centre=centre, actor=manager.actor, at=at)
        return _device_out(device)

    return await write(request, work)


def _staff_out(session: Session, staff: Staff) -> StaffOut:
    codes = session.exec(
        select(Centre.code)
        .join(StaffCentre, col(StaffCentre.centre_id) == Centre.id)
        .where(StaffCentre.staff_id == id_of(staff))
        .order_by(col(Centre.code))
    ).all()
    return StaffOut(
        username=staff.username,
        display_name=staff.display_name,
        role=staff.role,
        centres=list(codes),
        active=staff.active,
    )


def _may_manage(manager: SignedIn, session: Session, staff: Staff) -> bool:
    """Admins manage everyone; supervisors manage the agents of their centres."""
    if manager.role == Role.ADMIN:
        return True
    if manager.role != Role.SUPERVISOR or staff.role != Role.AGENT.value:
        return False
    centres = set(
        session.exec(select(StaffCentre.centre_id).where(StaffCentre.staff_id == id_of(staff))).all()
    )
    return bool(centres) and all(manager.may_act_in(c) for c in centres)


@operation(
    "GET",
    "/api/v1/staff",
    summary="Staff accounts (admins: all; supervisors: their centres' agents)",
    tag="administration",
    responses={200: list[StaffOut]},
    errors=(401, 403),
    security=("session",),
)
async def list_staff(request: Request) -> list[StaffOut]:
    """The accounts the caller may manage."""
    creds, at, rules = credentials(request), now(request), session_policy(request)

    def work(session: Session) -> list[StaffOut]:
        manager = manager_of(session, creds, at=at, rules=rules)
        everyone = session.exec(select(Staff).order_by(col(Staff.username))).all()
        return [_staff_out(session, s) for s in everyone if _may_manage(manager, session, s)]

    return await read(request, work, slow=True)


@operation(
    "POST",
    "/api/v1/staff",
    summary="Create an account; a generated password is shown once",
    tag="administration",
    body=StaffIn,
    responses={201: CredentialOut},
    errors=(401, 403, 409),
    security=("session",),
)
async def create_staff(request: Request, body: StaffIn) -> CredentialOut:
    """Admins create any account; supervisors create agents of their centres."""
    creds, at, rules = credentials(request), now(request), session_policy(request)

    def work(session: Session) -> CredentialOut:
        manager = manager_of(session, creds, at=at, rules=rules)
        centres = []
        for code in body.centres:
            centre = catalogue.find_centre(session, code=code)
            if centre is None:
                raise ApiError(422, "invalid_input", f"field 'centres': unknown centre {code}")
            centres.append(centre)
        if manager.role != Role.ADMIN and (
            body.role != Role.AGENT.value or not all(manager.may_act_in(id_of(c)) for c in centres)
        ):
            raise ApiError(403, "forbidden", "supervisors create agents of their own centres only")
        password = body.password or generate_password()
        with refused_as_conflict():
            staff = add_staff(
                session,
                username=body.username,
                role=Role(body.role),
                centres=centres,
                password=password,
                display_name=body.display_name,
            )
        log_staff_change(session, "staff_created", staff, actor=manager.actor, at=at)
        return CredentialOut(staff=_staff_out(session, staff), password=None if body.password else password)

    return await write(request, work)


def _managed(session: Session, request: Request, manager: SignedIn) -> Staff:
    username = request.path_params["username"]
    staff = find_staff(session, username=username)
    if staff is None or not _may_manage(manager, session, staff):
        raise not_found(request, "staff", username)
    return staff


@operation(
    "POST",
    "/api/v1/staff/{username}/disable",
    summary="Disable an account; its sessions end at once",
    tag="administration",
    responses={200: StaffOut},
    errors=(401, 403, 409),
    security=("session",),
)
async def disable(request: Request) -> StaffOut:
    """Disables the account."""
    creds, at, rules = credentials(request), now(request), session_policy(request)

    def work(session: Session) -> StaffOut:
        manager = manager_of(session, creds, at=at, rules=rules)
        staff = _managed(session, request, manager)
        with refused_as_conflict():
            disable_staff(session, staff=staff, now=at)
        log_staff_change(session, "staff_disabled", staff, actor=manager.actor, at=at)
        return _staff_out(session, staff)

    return await write(request, work)


@operation(
    "POST",
    "/api/v1/staff/{username}/password",
    summary="Set a new password (generated if none is given); sessions end",
    tag="administration",
    body=NewPasswordIn,
    responses={200: CredentialOut},
    errors=(401, 403, 409),
    security=("session",),
)
async def new_password(request: Request, body: NewPasswordIn) -> CredentialOut:
    """Resets the password of an account the caller manages."""
    creds, at, rules = credentials(request), now(request), session_policy(request)

    def work(session: Session) -> CredentialOut:
        manager = manager_of(session, creds, at=at, rules=rules)
        staff = _managed(session, request, manager)
        password = body.password or generate_password()
        with refused_as_conflict():
            reset_password(session, staff=staff, password=password, now=at)
        log_staff_change(session, "password_reset", staff, actor=manager.actor, at=at)
        return CredentialOut(staff=_staff_out(session, staff), password=None if body.password else password)

    return await write(request, work)


routes = [
    list_devices,
    register_device,
    revoke,
    list_staff,
    create_staff,
    disable,
    new_password,
]
