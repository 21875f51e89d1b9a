"""A centre's own booking capacity settings: the share of counter time it keeps for walk-ins, how
many days ahead it may be booked and how busy its counters may be planned, each None to follow the
national setting (DOR_BOOKING_*). `at_centre` is the one place they are resolved: every route that
offers, lists or books a centre's slots takes its rules from it.

The settings are columns of the centre, part of the organisation: a change bumps its version, so
every process uses it on its next request (organisation/snapshot.py), and is written to the
centre's audit chain (`booking_settings_changed`) with who, why and each value before and after.
A slot that has been booked keeps the places it was first sold with (booking/appointments.py,
`_take_place`): a change reaches only the slots nobody has booked yet."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date, datetime

from sqlmodel import Session, col, select

from booking.appointments import BookingRules
from booking.places import places_on
from booking.slots import SlotRules
from config.sql import id_of
from eventlog.log import append_event
from organisation.catalogue import services_of
from organisation.models import Centre, Service

EVENT = "booking_settings_changed"


@dataclass(frozen=True)
class Overrides:
    """A centre's own values, each named as the `SlotRules` field it replaces and kept in the centre's
    column `booking_<name>`; None: the national setting."""

    walk_in_share: float | None = None
    horizon_days: int | None = None
    target_load: float | None = None


def overrides(centre: Centre) -> Overrides:
    """The centre's own value of each setting."""
    return Overrides(
        walk_in_share=centre.booking_walk_in_share,
        horizon_days=centre.booking_horizon_days,
        target_load=centre.booking_target_load,
    )


def with_values(rules: SlotRules, own: Overrides) -> SlotRules:
    """`rules` with each of `own` that is not None in place of its value."""
    return replace(
        rules,
        walk_in_share=rules.walk_in_share if own.walk_in_share is None else own.walk_in_share,
        horizon_days=rules.horizon_days if own.horizon_days is None else own.horizon_days,
        target_load=rules.target_load if own.target_load is None else own.target_load,
    )


def at_centre(rules: BookingRules, centre: Centre) -> BookingRules:
    """The booking rules at `centre`: its own settings where it has them, the national ones else."""
    return replace(rules, slots=with_values(rules.slots, overrides(centre)))


def change_settings(
    session: Session, *, centre: Centre, values: Overrides, reason: str, actor: str, at: datetime
) -> Centre:
    """Sets the centre's settings to `values` (None: the national setting) and logs what changed in
    its chain; the centre as it is now. Nothing changed: nothing logged."""
    # The centre's own row, locked: the organisation's shared copy is read-only, and two changes at
    # once must each log what the other left.
    row = session.exec(
        select(Centre)
        .where(col(Centre.id) == id_of(centre))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    changed = {
        name: {"from": getattr(row, f"booking_{name}"), "to": value}
        for name, value in asdict(values).items()
        if getattr(row, f"booking_{name}") != value
    }
    if not changed:
        return row
    for name, change in changed.items():
        setattr(row, f"booking_{name}", change["to"])
    session.add(row)
    session.flush()
    append_event(
        session,
        centre_id=id_of(row),
        centre_code=row.code,
        type=EVENT,
        actor=actor,
        at=at,
        data={"reason": reason, "changes": changed},
    )
    return row


def day_places(
    session: Session, *, centre: Centre, day: date, rules: SlotRules, today: date
) -> list[tuple[Service, int]]:
    """Each bookable service's places on `day` under `rules`, summed over the day's slots, as a slot
    nobody has booked yet would offer them."""
    offered = places_on(session, centre=centre, days=[day], rules=rules, today=today)[day]
    bookable = [s for s in services_of(session, centre_id=id_of(centre)) if s.bookable]
    return [(s, sum(offered.get(id_of(s), {}).values())) for s in bookable]
