"""Which centre to go to: every centre offering a service, ranked by the time to get there plus the
predicted wait once there. Pure functions; the API feeds them the live waits."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from config.sql import id_of
from organisation.catalogue import list_centres
from organisation.models import Counter, CounterService, QueueRole, Service
from queueing.service import centre_status

EARTH_RADIUS_KM = 6371.0


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine): close enough to road distance to rank nearby centres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class Option:
    centre: str
    distance_km: float | None  # None when the citizen's location is not known
    estimated_wait_s: int
    # Open now, taking tickets for the service, and a counter serving it is open and not paused:
    # somewhere one can be served now. Any other centre is listed last.
    open: bool
    taking_tickets: bool = True  # open now and taking tickets for the service, served or not

    def cost_s(self, travel_s_per_km: float) -> float:
        """Seconds until served if one leaves now: the way there, then the wait."""
        return (self.distance_km or 0.0) * travel_s_per_km + self.estimated_wait_s


def rank(options: Iterable[Option], *, travel_s_per_km: float) -> list[Option]:
    """Open centres first, then by travel time plus wait; ties by distance, then code."""
    return sorted(
        options,
        key=lambda o: (not o.open, o.cost_s(travel_s_per_km), o.distance_km or 0.0, o.centre),
    )


def serving_centres(session: Session, *, service: Service) -> set[int]:
    """The centres where a counter that calls this service as one of its own queues is open and
    not paused now (a backup queue is called only when the counter's own are empty)."""
    return set(
        session.exec(
            select(Counter.centre_id)
            .join(CounterService, col(CounterService.counter_id) == Counter.id)
            .where(
                col(Counter.is_open),
                col(Counter.paused_reason).is_(None),
                CounterService.service_id == id_of(service),
                CounterService.role != QueueRole.BACKUP.value,
            )
        ).all()
    )


def centre_options(
    session: Session,
    *,
    service: Service,
    at: tuple[float | None, float | None],
    now: datetime,
    always_open: bool,
) -> list[Option]:
    """Every centre offering the service, with its distance from `at` (lat, lon; unknown: None), its
    predicted wait and whether it serves the service now: what /api/v1/recommendations ranks (the
    simulator asks the same)."""
    lat, lon = at
    serving = serving_centres(session, service=service)
    options = []
    for centre in list_centres(session):
        status = centre_status(session, centre=centre, now=now, always_open=always_open)
        row = next((r for r in status.services if r.code == service.code), None)
        if row is None:
            continue  # the centre does not offer it
        distance = None
        if lat is not None and lon is not None:
            distance = round(distance_km(lat, lon, centre.latitude, centre.longitude), 1)
        taking = status.open and row.intake_open
        options.append(
            Option(
                centre.code,
                distance,
                row.estimated_wait_s,
                open=taking and id_of(centre) in serving,
                taking_tickets=taking,
            )
        )
    return options
