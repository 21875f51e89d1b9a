"""Administering staff accounts and devices: used by the `dor` CLI and the admin API alike."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Update, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from config.secrets import hash_password, hash_token, new_token
from config.sql import id_of
from eventlog.log import append_event, append_national_event
from organisation.models import Centre, Device, DeviceKind, Role, Staff, StaffCentre, StaffSession

MIN_PASSWORD_LENGTH = 10
RESET_AGAIN_AFTER = timedelta(minutes=1)


class AdminError(Exception):
    """A request the administration refuses; the message says why, `code` names it for the API."""

    def __init__(self, message: str, *, code: str = "staff_refused") -> None:
        super().__init__(message)
        self.code = code


def _changed(session: Session, statement: Update) -> bool:
    """Runs a conditional UPDATE: True if it found its row still as its WHERE says. Of twin requests
    (a double click, two admins at once) only the first does, on either database."""
    return bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def find_staff(session: Session, *, username: str) -> Staff | None:
    """The account with this username."""
    return session.exec(select(Staff).where(Staff.username == username)).first()


def generate_password() -> str:
    """A random password to hand over once (the person changes it)."""
    return secrets.token_urlsafe(12)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AdminError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


def add_staff(
    session: Session,
    *,
    username: str,
    role: Role,
    centres: Sequence[Centre],
    password: str,
    display_name: str = "",
) -> Staff:
    """A new account; agents and supervisors must work somewhere."""
    if find_staff(session, username=username) is not None:
        raise AdminError(f"{username} already exists")
    if role != Role.ADMIN and not centres:
        raise AdminError(f"{role.value} accounts need at least one centre")
    _check_password(password)
    staff = Staff(
        username=username, display_name=display_name, role=role.value, password_hash=hash_password(password)
    )
    session.add(staff)
    try:
        session.flush()
    except IntegrityError:  # the same username created at the same moment
        raise AdminError(f"{username} already exists") from None
    for centre in centres:
        session.add(StaffCentre(staff_id=id_of(staff), centre_id=id_of(centre)))
    return staff


def _end_sessions(session: Session, staff: Staff, now: datetime) -> None:
    for record in session.exec(
        select(StaffSession).where(
            StaffSession.staff_id == id_of(staff), col(StaffSession.ended_at).is_(None)
        )
    ).all():
        record.ended_at = now
        session.add(record)


def disable_staff(session: Session, *, staff: Staff, now: datetime) -> None:
    """Disables the account; its sessions stop working at once."""
    active = col(Staff.active).is_(True)
    if not _changed(session, update(Staff).where(col(Staff.id) == id_of(staff), active).values(active=False)):
        raise AdminError(f"{staff.username} is disabled already", code="staff_disabled")
    session.refresh(staff)
    _end_sessions(session, staff, now)


def reset_password(session: Session, *, staff: Staff, password: str, now: datetime) -> None:
    """Sets a new password and ends the account's sessions."""
    _check_password(password)
    # Set a moment ago, or by a request running beside this one: the same click twice, and one
    # password is all the administrator should be shown.
    settled = or_(col(Staff.password_set_at).is_(None), col(Staff.password_set_at) <= now - RESET_AGAIN_AFTER)
    as_read = col(Staff.id) == id_of(staff), col(Staff.password_hash) == staff.password_hash, settled
    new = {"password_hash": hash_password(password), "password_set_at": now}
    if not _changed(session, update(Staff).where(*as_read).values(**new)):
        raise AdminError(
            f"the password of {staff.username} was set moments ago; try again in a minute",
            code="staff_changed",
        )
    session.refresh(staff)
    _end_sessions(session, staff, now)


def add_device(
    session: Session, *, centre: Centre, kind: DeviceKind, name: str, now: datetime
) -> tuple[Device, str]:
    """Registers a kiosk or display; the token is returned once and only its hash is kept."""
    token = new_token()
    device = Device(
        centre_id=id_of(centre), kind=kind.value, name=name, token_hash=hash_token(token), created_at=now
    )
    session.add(device)
    session.flush()
    return device, token


def revoke_device(session: Session, *, device: Device, now: datetime) -> None:
    """The device's token stops working at once; AdminError if it was revoked already."""
    live = col(Device.id) == id_of(device), col(Device.revoked_at).is_(None)
    if not _changed(session, update(Device).where(*live).values(revoked_at=now)):
        raise AdminError(f"device {device.id} is revoked already", code="device_revoked")
    session.refresh(device)


def devices_of(session: Session, *, centre_id: int) -> Sequence[Device]:
    """A centre's devices, newest first, revoked ones included."""
    return session.exec(
        select(Device).where(Device.centre_id == centre_id).order_by(col(Device.id).desc())
    ).all()


def set_printer(device: Device, printer_url: str) -> None:
    """Points a kiosk at its thermal printer (`tcp://host:port`), or at none with ''."""
    if printer_url and not re.fullmatch(r"tcp://[A-Za-z0-9.\-]+(:\d{1,5})?", printer_url):
        raise AdminError(f"not a printer address: {printer_url!r}; use tcp://host:port")
    if printer_url and device.kind != DeviceKind.KIOSK.value:
        raise AdminError("only kiosks print tickets")
    device.printer_url = printer_url or None


def log_device_change(
    session: Session, change: str, device: Device, *, centre: Centre, actor: str, at: datetime
) -> None:
    """A device registered or revoked, in its centre's log (and so in the audit chain)."""
    append_event(
        session,
        centre_id=id_of(centre),
        centre_code=centre.code,
        type=change,
        actor=actor,
        at=at,
        data={"device": id_of(device), "kind": device.kind, "name": device.name},
    )


def log_staff_change(session: Session, change: str, staff: Staff, *, actor: str, at: datetime) -> None:
    """An account created, disabled or given a new password, in the national log: an account may work
    in several centres, or none."""
    append_national_event(
        session,
        type=change,
        actor=actor,
        at=at,
        data={"username": staff.username, "role": staff.role, "active": staff.active},
    )
