"""`dor seed --demo --draw`: a demo draw for passports at the centres that issue them, announced at
once and open a minute later, so that the draw pages, the application and, two days on, the draw
itself can be seen (docs/scheduling.md, "Allocation by draw")."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from booking.appointments import BookingRefused, national_rules
from booking.draws import DrawSpec, find_draw, open_draw, state
from config.db import Database
from config.settings import Settings
from organisation.catalogue import list_centres
from organisation.models import CentreService, Service

CODE = "DEMO-PASSPORTS"
SERVICE = "PP"
OPENS_AFTER = timedelta(minutes=1)
WINDOW = timedelta(days=2)
DAYS = 7


def open_demo_draw(database: Database, settings: Settings, *, now: datetime) -> str:
    """Opens the demo draw unless it exists; says what it did."""
    with database.write() as session:
        existing = find_draw(session, CODE)
        if existing is not None:
            return f"demo draw: {CODE} exists already ({state(existing, now)})"
        service = session.exec(select(Service).where(Service.code == SERVICE)).one()
        offering = set(
            session.exec(select(CentreService.centre_id).where(CentreService.service_id == service.id))
        )
        centres = [c for c in list_centres(session) if c.id in offering]
        closes = now + OPENS_AFTER + WINDOW
        first = closes.astimezone(ZoneInfo(centres[0].timezone)).date() + timedelta(days=1)
        spec = DrawSpec(
            code=CODE,
            service=service,
            centres=centres,
            opens_at=now + OPENS_AFTER,
            closes_at=closes,
            first_day=first,
            last_day=first + timedelta(days=DAYS - 1),
            offer_hours=24,
            reason="the demo: passports by draw",
        )
        try:
            draw = open_draw(session, spec=spec, rules=national_rules(settings), actor="system", now=now)
        except BookingRefused as exc:
            return f"demo draw: not opened: {exc.code}"
        return (
            f"demo draw: {CODE} for passports at {', '.join(draw.centres)}, open for applications from "
            f"{spec.opens_at:%Y-%m-%d %H:%M} to {spec.closes_at:%Y-%m-%d %H:%M} UTC: "
            f"{settings.base_url}/draws/{CODE}"
        )
