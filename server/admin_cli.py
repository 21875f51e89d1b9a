"""`dor staff …` and `dor device …`: account and device administration from the command line.

Passwords and device tokens are printed once; only their hashes are stored.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from config.db import Database
from config.settings import Settings
from organisation import catalogue
from organisation.models import Centre, Device, DeviceKind, Role, Staff
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
    set_printer,
)
from server import schema

CONSOLE = "console"  # the operator at the server's shell, in the audit log


class CommandError(Exception):
    """Refused; the message is printed for the operator."""


def register(commands: Any) -> None:
    """Adds the `staff` and `device` subcommands."""
    staff = commands.add_parser("staff", help="staff accounts").add_subparsers(dest="action", required=True)
    add = staff.add_parser("add", help="create an account and print its password once")
    add.add_argument("username")
    add.add_argument("--role", choices=[r.value for r in Role], required=True)
    add.add_argument("--centre", action="append", default=[], help="a centre code (repeat for several)")
    add.add_argument("--name", default="", help="the person's name as shown to colleagues")
    staff.add_parser("disable", help="disable an account; its sessions end at once").add_argument("username")
    staff.add_parser("reset-password", help="set and print a new password").add_argument("username")

    device = commands.add_parser("device", help="kiosks and displays").add_subparsers(
        dest="action", required=True
    )
    new = device.add_parser("add", help="register a device and print its token once")
    new.add_argument("--centre", required=True)
    new.add_argument("--kind", choices=[k.value for k in DeviceKind], required=True)
    new.add_argument("--name", required=True)
    new.add_argument("--printer", help="a kiosk's thermal printer, e.g. tcp://10.0.4.21:9100")
    printer = device.add_parser("set-printer", help="set (or clear, with '') a kiosk's printer")
    printer.add_argument("id", type=int)
    printer.add_argument("printer")
    device.add_parser("revoke", help="revoke a device's token").add_argument("id", type=int)
    device.add_parser("list", help="list a centre's devices").add_argument("--centre", required=True)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Runs one administration command in a write transaction."""
    database = Database(settings.database_url)
    handler = {
        ("staff", "add"): _staff_add,
        ("staff", "disable"): _staff_disable,
        ("staff", "reset-password"): _staff_reset,
        ("device", "add"): _device_add,
        ("device", "revoke"): _device_revoke,
        ("device", "set-printer"): _device_printer,
        ("device", "list"): _device_list,
    }[(args.command, args.action)]
    try:
        schema.ensure_current(database)
        with database.write() as session:
            print(handler(session, args, datetime.now(UTC)))
    except (CommandError, AdminError, schema.SchemaOutdated) as exc:
        print(f"dor {args.command} {args.action}: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    return 0


def _centre(session: Session, code: str) -> Centre:
    centre = catalogue.find_centre(session, code=code)
    if centre is None:
        raise CommandError(f"unknown centre {code}")
    return centre


def _of(session: Session, device: Device) -> Centre:
    centre = session.get(Centre, device.centre_id)
    assert centre is not None  # a foreign key
    return centre


def _staff(session: Session, username: str) -> Staff:
    staff = find_staff(session, username=username)
    if staff is None:
        raise CommandError(f"unknown user {username}")
    return staff


def _staff_add(session: Session, args: argparse.Namespace, now: datetime) -> str:
    password = generate_password()
    centres = [_centre(session, code) for code in args.centre]
    staff = add_staff(
        session,
        username=args.username,
        role=Role(args.role),
        centres=centres,
        password=password,
        display_name=args.name,
    )
    log_staff_change(session, "staff_created", staff, actor=CONSOLE, at=now)
    return f"created {args.role} {args.username}; password (shown once): {password}"


def _staff_disable(session: Session, args: argparse.Namespace, now: datetime) -> str:
    staff = _staff(session, args.username)
    disable_staff(session, staff=staff, now=now)
    log_staff_change(session, "staff_disabled", staff, actor=CONSOLE, at=now)
    return f"disabled {args.username}; their sessions have ended"


def _staff_reset(session: Session, args: argparse.Namespace, now: datetime) -> str:
    password = generate_password()
    staff = _staff(session, args.username)
    reset_password(session, staff=staff, password=password, now=now)
    log_staff_change(session, "password_reset", staff, actor=CONSOLE, at=now)
    return f"new password for {args.username} (shown once): {password}"


def _device_add(session: Session, args: argparse.Namespace, now: datetime) -> str:
    centre = _centre(session, args.centre)
    device, token = add_device(session, centre=centre, kind=DeviceKind(args.kind), name=args.name, now=now)
    if args.printer:
        set_printer(device, args.printer)
    log_device_change(session, "device_registered", device, centre=centre, actor=CONSOLE, at=now)
    return f"device {device.id} ({args.kind}, {args.centre}); token (shown once): {token}"


def _device_printer(session: Session, args: argparse.Namespace, now: datetime) -> str:
    device = session.get(Device, args.id)
    if device is None:
        raise CommandError(f"unknown device {args.id}")
    set_printer(device, args.printer)
    session.add(device)
    log_device_change(
        session, "device_printer_set", device, centre=_of(session, device), actor=CONSOLE, at=now
    )
    return f"device {args.id} prints on {device.printer_url or 'the browser (no printer)'}"


def _device_revoke(session: Session, args: argparse.Namespace, now: datetime) -> str:
    device = session.get(Device, args.id)
    if device is None:
        raise CommandError(f"unknown device {args.id}")
    revoke_device(session, device=device, now=now)
    log_device_change(session, "device_revoked", device, centre=_of(session, device), actor=CONSOLE, at=now)
    return f"device {args.id} revoked"


def _device_list(session: Session, args: argparse.Namespace, now: datetime) -> str:
    centre = _centre(session, args.centre)
    lines = [
        f"{d.id:>4}  {d.kind:<8} {'revoked' if d.revoked_at else 'active ':<8} {d.name}"
        for d in devices_of(session, centre_id=centre.id or 0)
    ]
    return "\n".join(lines) or "no devices"
