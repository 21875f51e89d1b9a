"""Broker detection: the patterns that set a slot reseller apart from citizens booking for
themselves. A pure function over recent bookings; booking/web/brokers.py shows its flags to
supervisors, who judge them, void bookings and block identities.

- **Shared identity**: many national IDs booked with one phone, from one browser (its device cookie)
  or from one network address. A family shares a phone; a broker books for dozens of clients.
- **Fast after release**: bookings made within seconds of their slot's release (the local midnight
  a horizon ahead), when only a script is quick enough.
- **No-show cluster**: several national IDs behind one phone, browser or address who leave their
  bookings unused: slots held for clients who never bought them.

Each flag is a signal, not a verdict: a supervisor looks before acting. docs/operations.md has the
thresholds and how to tune them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from booking.models import AppointmentStatus, IdentityKind

SHARED = (IdentityKind.PHONE, IdentityKind.DEVICE, IdentityKind.ADDRESS)
NATIONAL_ID = IdentityKind.NATIONAL_ID


class Reason(StrEnum):
    SHARED_IDENTITY = "shared_identity"
    FAST_AFTER_RELEASE = "fast_after_release"
    NO_SHOW_CLUSTER = "no_show_cluster"


@dataclass(frozen=True)
class BrokerRules:
    # Distinct national IDs behind one phone, device or address before it is flagged. An address is
    # shared by a household, an office, or a mobile operator's NAT: it needs the most.
    phone_identities: int = 3
    device_identities: int = 4
    address_identities: int = 6
    release_s: float = 10.0  # booked this soon after the slot's release
    no_shows: int = 3  # no-shows across two or more national IDs behind one phone, device or address


@dataclass(frozen=True)
class Booking:
    """What detection needs to know of one appointment; its identities are keyed hashes."""

    code: str
    centre: str
    service: str
    start: datetime
    created_at: datetime
    released_at: datetime
    status: str
    identities: Mapping[IdentityKind, str]

    @property
    def seconds_after_release(self) -> float:
        return (self.created_at - self.released_at).total_seconds()


@dataclass(frozen=True)
class Flag:
    reason: Reason
    identity: IdentityKind | None  # what the bookings share; None for fast-after-release
    key: str  # the shared identity's hash, or the release instant (ISO 8601)
    bookings: tuple[Booking, ...]

    @property
    def identities(self) -> int:
        return len({b.identities[NATIONAL_ID] for b in self.bookings if NATIONAL_ID in b.identities})

    @property
    def no_shows(self) -> int:
        return sum(1 for b in self.bookings if b.status == AppointmentStatus.NO_SHOW.value)


def _threshold(kind: IdentityKind, rules: BrokerRules) -> int:
    return {
        IdentityKind.PHONE: rules.phone_identities,
        IdentityKind.DEVICE: rules.device_identities,
        IdentityKind.ADDRESS: rules.address_identities,
    }[kind]


def detect(bookings: Sequence[Booking], rules: BrokerRules) -> list[Flag]:
    """The flags raised by these bookings, the widest first (most national IDs, then bookings)."""
    return widest_first(identity_flags(bookings, rules) + release_flags(bookings, rules))


def widest_first(flags: list[Flag]) -> list[Flag]:
    return sorted(flags, key=lambda f: (-f.identities, -len(f.bookings), f.reason.value, f.key))


def identity_flags(bookings: Sequence[Booking], rules: BrokerRules) -> list[Flag]:
    """Shared identities and no-show clusters: what a draw's applications are screened for too."""
    flags = []
    for kind in SHARED:
        groups: dict[str, list[Booking]] = defaultdict(list)
        for booking in bookings:
            value = booking.identities.get(kind)
            if value is not None:
                groups[value].append(booking)
        for value, group in groups.items():
            shared = Flag(Reason.SHARED_IDENTITY, kind, value, tuple(group))
            if shared.identities >= _threshold(kind, rules):
                flags.append(shared)
            missed = Flag(
                Reason.NO_SHOW_CLUSTER,
                kind,
                value,
                tuple(b for b in group if b.status == AppointmentStatus.NO_SHOW.value),
            )
            if missed.no_shows >= rules.no_shows and missed.identities >= 2:
                flags.append(missed)
    return flags


def release_flags(bookings: Sequence[Booking], rules: BrokerRules) -> list[Flag]:
    releases: dict[datetime, list[Booking]] = defaultdict(list)
    for booking in bookings:
        if 0 <= booking.seconds_after_release <= rules.release_s:
            releases[booking.released_at].append(booking)
    return [
        Flag(Reason.FAST_AFTER_RELEASE, None, released.isoformat(), tuple(group))
        for released, group in releases.items()
    ]
