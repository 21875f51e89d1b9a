"""The identities a booking is known by, each kept as a keyed hash (HMAC-SHA-256 with the
installation's secret): the national ID, the phone, the browser's device cookie and the network
it booked from. The hashes let Dor group bookings and bar a broker without keeping who they are."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass

from booking.models import Appointment, DrawApplication, IdentityKind

DEVICE_COOKIE = "dor_device"
DEVICE_COOKIE_MAX_AGE_S = 365 * 24 * 3600
# One IPv6 host gets a whole /64 and may hop within it: the /64 is the address that counts.
IPV6_PREFIX = 64


def keyed_hash(secret: bytes, kind: IdentityKind, value: str) -> str:
    return hmac.new(secret, f"{kind.value}:{value}".encode(), hashlib.sha256).hexdigest()


def new_device_id() -> str:
    return secrets.token_urlsafe(16)


def network_of(host: str) -> str | None:
    """The address a request came from, an IPv6 one cut to its /64; None for a non-address."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


def device_hash(secret: bytes, cookie: str | None) -> str | None:
    if not cookie or len(cookie) > 64:
        return None
    return keyed_hash(secret, IdentityKind.DEVICE, cookie)


def address_hash(secret: bytes, host: str | None) -> str | None:
    network = network_of(host) if host else None
    return keyed_hash(secret, IdentityKind.ADDRESS, network) if network else None


def phone_hash(secret: bytes, phone: str) -> str:
    return keyed_hash(secret, IdentityKind.PHONE, phone)


@dataclass(frozen=True)
class Identities:
    """Who is booking: the national ID's and phone's hashes, the phone itself (for the SMS), and the
    browser's and network's hashes when known."""

    national_id: str
    phone: str
    phone_hash: str
    device: str | None = None
    address: str | None = None

    def hashes(self) -> dict[IdentityKind, str]:
        return _present(self.national_id, self.phone_hash, self.device, self.address)


def _present(
    national_id: str | None, phone: str | None, device: str | None, address: str | None
) -> dict[IdentityKind, str]:
    known = {
        IdentityKind.NATIONAL_ID: national_id,
        IdentityKind.PHONE: phone,
        IdentityKind.DEVICE: device,
        IdentityKind.ADDRESS: address,
    }
    return {kind: value for kind, value in known.items() if value is not None}


def identities_of(appointment: Appointment, secret: bytes) -> dict[IdentityKind, str]:
    """The identities an appointment was booked by, as hashes (none once its personal data is erased)."""
    phone = phone_hash(secret, appointment.phone) if appointment.phone else None
    return _present(appointment.national_id_hash, phone, appointment.device_hash, appointment.address_hash)


def applicant_identities(application: DrawApplication, secret: bytes) -> dict[IdentityKind, str]:
    """The identities a draw's application was made by, as hashes."""
    phone = phone_hash(secret, application.phone) if application.phone else None
    return _present(application.national_id_hash, phone, application.device_hash, application.address_hash)
