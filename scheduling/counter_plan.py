"""Which queue each counter of a centre should own and back up, planned by scheduling/skills.py from
the demand of the last weeks: a recommendation for the centre's manager, who applies it counter by
counter (`PUT …/counters/{n}/services`), because a counter can only serve what its agent is trained
for (docs/scheduling.md, "Skill chains")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from config.errors import Refused
from config.i18n import N_
from config.sql import id_of
from organisation.catalogue import services_of
from organisation.hours import local_day, spans_on
from organisation.models import Centre, Counter, CounterService, QueueRole, Service
from queueing.models import Ticket
from scheduling import skills
from scheduling.schemas import CounterPlanOut, PlannedCounterOut, ServiceWorkOut

Roles = dict[str, dict[str, float]]  # "services" / "backups" -> service code -> weight


class NoPlan(Refused):
    """Nothing to plan from or for: no tickets in the weeks asked, or no counter."""

    code = "no_plan"


def _open_s(centre: Centre, days: Sequence[date]) -> float:
    """Seconds the centre was open over these days."""
    return sum(
        (datetime.combine(day, end) - datetime.combine(day, start)).total_seconds()
        for day in days
        for start, end in spans_on(day, centre.opening_hours, centre.holidays)
    )


def _current(session: Session, centre: Centre) -> dict[int, Roles]:
    """Each counter's own and backup queues now, by counter number (a boosted queue is a backup)."""
    rows = session.exec(
        select(Counter.number, Service.code, CounterService.weight, CounterService.role)
        .join(Counter, col(Counter.id) == CounterService.counter_id)
        .join(Service, col(Service.id) == CounterService.service_id)
        .where(Counter.centre_id == id_of(centre))
    ).all()
    held: dict[int, Roles] = {}
    for number, code, weight, role in rows:
        kind = "services" if role == QueueRole.MAIN.value else "backups"
        held.setdefault(number, {"services": {}, "backups": {}})[kind][code] = weight
    return held


def counter_plan(session: Session, *, centre: Centre, now: datetime, weeks: int) -> CounterPlanOut:
    """The plan from the tickets of the last `weeks` weeks (every channel: they all took counter
    time), each service's work being its tickets x mean service time over the hours the centre was
    open; 409 `no_plan` without tickets in those weeks or at a centre without counters."""
    services = services_of(session, centre_id=id_of(centre))
    codes = {id_of(s): s.code for s in services}
    today = local_day(now, timezone=centre.timezone)
    days = [today - timedelta(days=k) for k in range(1, 7 * weeks + 1)]
    counts = dict(
        session.exec(
            select(Ticket.service_id, func.count())
            .where(Ticket.centre_id == id_of(centre), col(Ticket.day) >= days[-1], col(Ticket.day) < today)
            .group_by(col(Ticket.service_id))
        ).all()
    )
    if not sum(counts.values()):
        raise NoPlan(
            N_("%(centre)s had no tickets in the last %(weeks)d weeks: no demand to plan from"),
            centre=centre.code,
            weeks=weeks,
        )
    open_s = _open_s(centre, days)
    work = {s.code: counts.get(id_of(s), 0) * s.mean_service_s / open_s if open_s else 0.0 for s in services}
    numbers = sorted(session.exec(select(Counter.number).where(Counter.centre_id == id_of(centre))).all())
    try:
        assignments = skills.plan(work, len(numbers))
    except skills.PlanError as exc:
        raise NoPlan(N_("%(centre)s: %(problem)s"), centre=centre.code, problem=str(exc)) from exc
    current = _current(session, centre)
    return CounterPlanOut(
        centre=centre.code,
        weeks=weeks,
        tickets=sum(counts.get(i, 0) for i in codes),
        demand=[ServiceWorkOut(service=code, counters_busy=round(w, 3)) for code, w in work.items()],
        counters=[
            PlannedCounterOut(
                counter=number,
                services=dict.fromkeys(a.own, 1.0),
                backups=dict.fromkeys(a.backups, 1.0),
                now=current.get(number, {"services": {}, "backups": {}}),
            )
            for number, a in zip(numbers, _matched(assignments, numbers, current), strict=True)
        ],
    )


def _matched(
    assignments: list[skills.Assignment[str]], numbers: list[int], current: dict[int, Roles]
) -> list[skills.Assignment[str]]:
    """The assignments in counter order, each counter keeping its own queue where the plan allows
    it (fewer agents change desks): first the counters whose own queue is planned, then the rest."""
    left, placed = list(assignments), dict[int, skills.Assignment[str]]()
    for number in numbers:
        own = current.get(number, {}).get("services", {})
        match = next((a for a in left if set(a.own) & set(own)), None)
        if match is not None:
            placed[number] = match
            left.remove(match)
    for number in numbers:
        if number not in placed:
            placed[number] = left.pop(0)
    return [placed[number] for number in numbers]
