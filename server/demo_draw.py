"""`dor seed --demo --draw`: a demo draw for passports at the centres with places for them,
announced at once and open a minute or two later, so that the draw pages, the application and, two
days on, the draw itself can be seen (docs/scheduling.md, "Allocation by draw")."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from booking.appointments import BookingRefused, BookingRules, national_rules
from booking.centre_rules import day_places
from booking.draws import DrawSpec, find_draw, open_draw, state
from config.db import Database
from config.settings import Settings
from organisation.catalogue import list_centres
from organisation.models import Centre, Service

CODE = "DEMO-PASSPORTS"
SERVICE = "PP"
OPENS_AFTER = timedelta(minutes=2)  # from the minute's start: one or two minutes
WINDOW = timedelta(days=2)
DAYS = 7


def open_demo_draw(database: Database, settings: Settings, *, now: datetime) -> str:
    """Opens the demo draw unless it exists; says what it did."""
    with database.write() as session:
        existing = find_draw(session, CODE)
        if existing is not None:
            return f"demo draw: {CODE} exists already ({state(existing, now)})"
        service = session.exec(select(Service).where(Service.code == SERVICE)).one()
        opens = now.replace(second=0, microsecond=0) + OPENS_AFTER
        closes = opens + WINDOW
        rules = national_rules(settings)
        every = list_centres(session)
        first = max(closes.astimezone(ZoneInfo(c.timezone)).date() for c in every) + timedelta(days=1)
        days = [first + timedelta(days=d) for d in range(DAYS)]
        centres = [c for c in every if _has_places(session, c, service, days, rules)]
        spec = DrawSpec(
            code=CODE,
            service=service,
            centres=centres,
            opens_at=opens,
            closes_at=closes,
            first_day=first,
            last_day=first + timedelta(days=DAYS - 1),
            offer_hours=24,
            reason="the demo: passports by draw",
        )
        try:
            draw = open_draw(session, spec=spec, rules=rules, actor="system", now=now)
        except BookingRefused as exc:
            return f"demo draw: not opened: {exc}"
        return (
            f"demo draw: {CODE} for passports at {', '.join(draw.centres)}, open for applications from "
            f"{spec.opens_at:%Y-%m-%d %H:%M} to {spec.closes_at:%Y-%m-%d %H:%M} UTC: "
            f"{settings.base_url}/draws/{CODE}"
        )


def _has_places(
    session: Session, centre: Centre, service: Service, days: list[date], rules: BookingRules
) -> bool:
    today = datetime.now(ZoneInfo(centre.timezone)).date()
    return any(
        places > 0
        for day in days
        for offered, places in day_places(session, centre=centre, day=day, rules=rules.slots, today=today)
        if offered.code == service.code
    )
