"""A supervisor steers a centre: a service's walk-in intake, a counter's services and weights (and
the page that sets them), the no-show policy, a waiting ticket moved to another queue. Each change
is authorised (supervisors of the centre, admins) and logged with its author, so it is in the audit
chain and the exceptions report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import or_, update
from sqlmodel import Session, col, delete, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from config.i18n import N_
from config.schemas import Strict
from config.sql import id_of
from config.web.context import now
from config.web.endpoints import operation, path_number
from config.web.errors import ApiError, not_found
from config.web.threads import write
from eventlog.log import append_event
from organisation import catalogue, hours
from organisation.models import (
    Centre,
    CentreService,
    Counter,
    CounterService,
    QueueRole,
    Service,
)
from organisation.web.credentials import credentials, session_policy
from organisation.web.managers import centre_of_path, managed_change, manager_of
from queueing.models import Ticket
from queueing.service import set_intake
from queueing.states import TicketStatus
from supervision.schemas import IntakeIn, IntakeOut
from supervision.web.wallboard import supervising

Weight = Annotated[float, Field(gt=0, le=1)]
T = TypeVar("T")


class CounterServicesIn(Strict):
    services: dict[str, Weight] = Field(min_length=1, description="its own queues: code -> weight")
    backups: dict[str, Weight] = Field(default={}, description="queues it takes only when its own are empty")
    reason: str | None = Field(default=None, min_length=3, max_length=200, description="why, for the log")


class NoShowPolicyIn(Strict):
    min_calls: int = Field(ge=1, le=5, description="calls before a ticket may be marked no-show")
    min_wait_s: int = Field(ge=0, le=900, description="seconds since the first call before it may")


class MoveTicketIn(Strict):
    service: str = Field(min_length=1, max_length=16)


class ControlOut(BaseModel):
    centre: str
    changed: str
    applied: bool = Field(
        default=True, description="false when all was as asked already: nothing changed, nothing logged"
    )


def _services(session: Session, centre: Centre, codes: list[str]) -> dict[str, int]:
    """Service ids for codes the centre offers; 422 naming the first that it does not."""
    ids = {}
    for code in codes:
        service = catalogue.find_service(session, code=code)
        if service is None or session.get(CentreService, (id_of(centre), id_of(service))) is None:
            raise ApiError(
                422,
                "service_not_offered",
                N_("%(centre)s does not offer %(service)s"),
                centre=centre.code,
                service=code,
            )
        ids[code] = id_of(service)
    return ids


async def _control(
    request: Request, change: str, work_in_centre: Callable[[Session, Centre], dict[str, Any] | None]
) -> ControlOut:
    """Runs one change at the centre of the path for its manager, and logs it with its author; a
    change that finds all as asked already (None) logs nothing, so a request sent twice is logged once."""
    at = now(request)

    def work(session: Session, centre: Centre, actor: str) -> ControlOut:
        data = work_in_centre(session, centre)
        if data is None:
            return ControlOut(centre=centre.code, changed=change, applied=False)
        append_event(
            session,
            centre_id=id_of(centre),
            centre_code=centre.code,
            type=change,
            actor=actor,
            at=at,
            counter_id=data.pop("counter_id", None),
            ticket_id=data.pop("ticket_id", None),
            data=data,
        )
        return ControlOut(centre=centre.code, changed=change)

    return await managed_change(request, work)


@operation(
    "PUT",
    "/api/v1/centres/{centre}/counters/{counter}/services",
    summary="Set a counter's own queues with their weights, and its backup queues",
    tag="administration",
    body=CounterServicesIn,
    responses={200: ControlOut},
    errors=(401, 403),
    security=("session",),
)
async def counter_services(request: Request, body: CounterServicesIn) -> ControlOut:
    """Supervisors of the centre and admins; logged as `counter_services_changed`, with the reason
    when one is given."""
    raw = request.path_params["counter"]
    number = path_number(raw, maximum=1000)
    if number is None:
        raise not_found(request, "counter", raw)
    both = set(body.services) & set(body.backups)
    if both:
        raise ApiError(
            422,
            "invalid_input",
            N_("field 'backups': %(service)s is already one of its own queues"),
            service=sorted(both)[0],
        )

    def change(session: Session, centre: Centre) -> dict[str, Any] | None:
        # The counter's row locked first: two changes of its queues at once take turns.
        counter = session.exec(
            select(Counter)
            .where(Counter.centre_id == id_of(centre), Counter.number == number)
            .with_for_update()
        ).first()
        if counter is None:
            raise not_found(request, "counter", raw)
        ids = _services(session, centre, [*body.services, *body.backups])
        wanted = {(ids[code], weight, QueueRole.MAIN.value) for code, weight in body.services.items()}
        wanted |= {(ids[code], weight, QueueRole.BACKUP.value) for code, weight in body.backups.items()}
        held = session.exec(
            select(CounterService.service_id, CounterService.weight, CounterService.role).where(
                CounterService.counter_id == id_of(counter)
            )
        ).all()
        if {tuple(row) for row in held} == wanted:
            return None  # as asked already: nothing changes, nothing is logged
        session.exec(delete(CounterService).where(col(CounterService.counter_id) == id_of(counter)))
        for weights, role in ((body.services, QueueRole.MAIN), (body.backups, QueueRole.BACKUP)):
            for code, weight in weights.items():
                session.add(
                    CounterService(
                        counter_id=id_of(counter), service_id=ids[code], weight=weight, role=role.value
                    )
                )
        data: dict[str, Any] = {
            "counter_id": id_of(counter),
            "counter": number,
            "services": body.services,
            "backups": body.backups,
        }
        if body.reason is not None:
            data["reason"] = body.reason
        return data

    return await _control(request, "counter_services_changed", change)


@operation(
    "PUT",
    "/api/v1/centres/{centre}/no-show-policy",
    summary="How many calls, and how long after the first, before a ticket may be marked no-show",
    tag="administration",
    body=NoShowPolicyIn,
    responses={200: ControlOut},
    errors=(401, 403),
    security=("session",),
)
async def no_show_policy(request: Request, body: NoShowPolicyIn) -> ControlOut:
    """Supervisors of the centre and admins; logged as `no_show_policy_changed`."""

    def change(session: Session, centre: Centre) -> dict[str, Any] | None:
        changed = session.execute(
            update(Centre)
            .where(
                col(Centre.id) == id_of(centre),
                or_(
                    col(Centre.no_show_min_calls) != body.min_calls,
                    col(Centre.no_show_min_wait_s) != body.min_wait_s,
                ),
            )
            .values(no_show_min_calls=body.min_calls, no_show_min_wait_s=body.min_wait_s)
        )
        if changed.rowcount == 0:  # type: ignore[attr-defined]
            return None  # the policy already: nothing is logged
        return {"min_calls": body.min_calls, "min_wait_s": body.min_wait_s}

    return await _control(request, "no_show_policy_changed", change)


@operation(
    "POST",
    "/api/v1/centres/{centre}/tickets/{number}/move",
    summary="Move a waiting ticket to another service's queue, keeping its place in time",
    tag="administration",
    body=MoveTicketIn,
    responses={200: ControlOut},
    errors=(401, 403, 409),
    security=("session",),
)
async def move_ticket(request: Request, body: MoveTicketIn) -> ControlOut:
    """Supervisors of the centre and admins; today's ticket by its number; logged as `moved`."""
    number = request.path_params["number"]
    at = now(request)

    def change(session: Session, centre: Centre) -> dict[str, Any]:
        ticket = session.exec(
            select(Ticket)
            .where(
                Ticket.centre_id == id_of(centre),
                Ticket.day == hours.local_day(at, timezone=centre.timezone),
                Ticket.number == number,
            )
            .with_for_update()
        ).first()
        if ticket is None:
            raise not_found(request, "ticket", number)
        if ticket.status != TicketStatus.WAITING.value:
            raise ApiError(
                409,
                "ticket_not_waiting",
                N_("%(number)s is %(status)s: only a waiting ticket moves"),
                number=number,
                status=ticket.status,
            )
        target = _services(session, centre, [body.service])[body.service]
        if ticket.service_id == target:
            raise ApiError(
                409,
                "ticket_not_moved",
                N_("%(number)s is in the queue of %(service)s already"),
                number=number,
                service=body.service,
            )
        origin = session.get(Service, ticket.service_id)
        ticket.service_id = target
        ticket.earlier_calls, ticket.requeued_at = len(ticket.call_times), at
        session.add(ticket)
        return {
            "ticket_id": id_of(ticket),
            "number": number,
            "origin": origin.code if origin else "",
            "service": body.service,
        }

    return await _control(request, "moved", change)


@operation(
    "POST",
    "/api/v1/centres/{centre}/services/{service}/intake",
    summary="Stop (or reopen) a service's walk-in intake for the rest of today",
    tag="administration",
    body=IntakeIn,
    responses={200: IntakeOut},
    errors=(401, 403, 409),
    security=("session",),
)
async def intake(request: Request, body: IntakeIn) -> IntakeOut:
    """Supervisors of the centre and admins; logged with who did it. Appointments are still honoured."""
    creds, at, rules = credentials(request), now(request), session_policy(request)
    code = request.path_params["service"]

    def work(session: Session) -> IntakeOut:
        centre = centre_of_path(session, request)
        manager = manager_of(session, creds, at=at, rules=rules, centre_id=id_of(centre))
        service = catalogue.find_service(session, code=code)
        if service is None:
            raise not_found(request, "service", code)
        set_intake(session, centre=centre, service=service, open_=body.open, actor=manager.actor, now=at)
        return IntakeOut(centre=centre.code, service=service.code, intake_open=body.open)

    return await write(request, work)


async def counters_page(request: Request) -> Response:
    """The counters of one of the supervisor's centres and the queues each serves, changed counter by
    counter with a reason (`PUT …/counters/{counter}/services`)."""
    return await supervising(request, "counters.html")


routes = [
    intake,
    counter_services,
    no_show_policy,
    move_ticket,
    Route("/supervisor/counters", counters_page, methods=["GET"]),
]
