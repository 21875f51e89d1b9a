"""Counter routes (agent session): list counters; open, close, next, recall, start, finish, no-show,
transfer, out-of-order call, pause, resume."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from config.i18n import N_
from config.sql import id_of
from config.web.context import now
from config.web.endpoints import operation, path_number
from config.web.errors import ApiError, not_found
from config.web.threads import read, write
from organisation import catalogue
from organisation.accounts import SignedIn
from organisation.models import Counter, QueueRole, Role, Service
from organisation.snapshot import organisation
from organisation.web.credentials import credentials, require_staff, session_policy
from queueing.counters import counter_queues, current_ticket, find_desk_rows
from queueing.engine import CounterDesk
from queueing.models import Ticket
from queueing.notifications import notify_called, notify_near, notify_served
from queueing.schemas import (
    CounterActionOut,
    CounterOut,
    OutOfOrderCallIn,
    PauseIn,
    StaffTicket,
    TransferIn,
)
from queueing.web.context import policy_config, queue_notices


def staff_ticket(session: Session, ticket: Ticket) -> StaffTicket:
    """The agent's view of a ticket."""
    return StaffTicket(
        number=ticket.number,
        status=ticket.status,
        service=catalogue.service_code(session, ticket.service_id),
        priority=ticket.priority,
        channel=ticket.channel,
        arrived_at=ticket.arrived_at,
        called_at=datetime.fromisoformat(ticket.call_times[-1]) if ticket.call_times else None,
        calls=len(ticket.call_times),
        started_at=ticket.started_at,
    )


def counter_view(session: Session, counter: Counter, *, desk: CounterDesk | None = None) -> CounterOut:
    """A counter's state, with the ticket in hand; after an action, as its `desk` left them."""
    queues = desk.queues() if desk else counter_queues(session, counter_id=id_of(counter))
    weights = queues.all()
    codes = {service_id: catalogue.service_code(session, service_id) for service_id in weights}
    roles = {s: role for s, _, role in organisation(session).queues.get(id_of(counter), ())}
    agent = organisation(session).staff.get(counter.agent_id) if counter.agent_id else None
    ticket = desk.holding() if desk else current_ticket(session, counter_id=id_of(counter))
    status = "closed" if not counter.is_open else ("paused" if counter.paused_reason else "open")
    return CounterOut(
        number=counter.number,
        label=counter.label,
        services=sorted(codes.values()),
        backup_services=sorted(codes[s] for s in queues.backups),
        boosted=sorted(codes[s] for s in queues.own if roles.get(s) == QueueRole.BOOSTED.value),
        weights={codes[s]: weight for s, weight in weights.items()},
        status=status,
        agent=agent.username if agent else None,
        paused_reason=counter.paused_reason,
        ticket=staff_ticket(session, ticket) if ticket else None,
    )


@operation(
    "GET",
    "/api/v1/centres/{centre}/counters",
    summary="The counters of a centre (its staff only)",
    tag="counters",
    responses={200: list[CounterOut]},
    errors=(401, 403),
    security=("session",),
)
async def list_counters(request: Request) -> list[CounterOut]:
    """Every counter of the centre with its state."""
    code = request.path_params["centre"]
    creds, at, policy = credentials(request), now(request), session_policy(request)

    def work(session: Session) -> list[CounterOut]:
        centre = catalogue.find_centre(session, code=code)
        if centre is None:
            raise not_found(request, "centre", code)
        require_staff(session, creds, now=at, policy=policy, centre_id=id_of(centre))
        counters = session.exec(
            select(Counter).where(Counter.centre_id == id_of(centre)).order_by(col(Counter.number))
        ).all()
        return [counter_view(session, c) for c in counters]

    return await read(request, work)


# Actions that move a queue forward (or put a ticket into one), after which SMS may be due.
QUEUE_MOVES = ("next", "call", "transfer")
Action = Callable[[CounterDesk, SignedIn, Any, Request], Ticket | None]


def _action_route(name: str, action: Action, *, summary: str, body: type[BaseModel] | None = None) -> Route:
    """The route of one counter action: authenticate, lock the counter, act, answer."""

    async def endpoint(request: Request, body: Any = None) -> Response | CounterActionOut:
        code = request.path_params["centre"]
        number = _counter_number(request)
        creds, at, session_rules = credentials(request), now(request), session_policy(request)
        notices = queue_notices(request)

        def work(session: Session) -> CounterActionOut | None:
            centre = organisation(session).centres.get(code)  # read it, never change it
            if centre is None:
                raise not_found(request, "centre", code)
            signed_in = require_staff(session, creds, now=at, policy=session_rules, centre_id=id_of(centre))
            found = find_desk_rows(session, centre_id=id_of(centre), number=number)
            if found is None:
                raise not_found(request, "counter", str(number))
            counter, in_hand = found
            _require_holder(signed_in, counter, opening=name == "open")
            desk = CounterDesk(
                session, centre=centre, counter=counter, actor=signed_in.actor, now=at, in_hand=(in_hand,)
            )
            ticket = action(desk, signed_in, body, request)
            if name == "next" and ticket is None:
                return None
            if ticket is not None and name in QUEUE_MOVES:
                if name != "transfer":
                    notify_called(
                        session,
                        centre=centre,
                        ticket=ticket,
                        counter_number=counter.number,
                        base_url=notices.base_url,
                        now=at,
                    )
                notify_near(session, centre=centre, service_id=ticket.service_id, notices=notices, now=at)
            if ticket is not None and name == "finish":
                notify_served(session, centre=centre, ticket=ticket, base_url=notices.base_url, now=at)
            # The answer comes from the rows in hand: a second transaction to read them back cost
            # more than building it here.
            view = counter_view(session, counter, desk=desk)
            return CounterActionOut(
                ticket=staff_ticket(session, ticket) if ticket else view.ticket, counter=view
            )

        acted = await write(request, work)
        return Response(status_code=204) if acted is None else acted

    endpoint.__name__ = f"counter_{name.replace('-', '_')}"
    return operation(
        "POST",
        f"/api/v1/centres/{{centre}}/counters/{{counter}}/{name}",
        summary=summary,
        tag="counters",
        body=body,
        responses={200: CounterActionOut, 204: None},
        errors=(401, 403, 409),
        security=("session",),
    )(endpoint)


def _counter_number(request: Request) -> int:
    raw = request.path_params["counter"]
    number = path_number(raw, maximum=1000)
    if number is None:
        raise not_found(request, "counter", raw)
    return number


def _require_holder(signed_in: SignedIn, counter: Counter, *, opening: bool) -> None:
    """An agent acts only at the counter it opened; supervisors and admins may act at any."""
    if signed_in.role != Role.AGENT or opening:
        return
    if counter.agent_id != signed_in.staff.id:
        raise ApiError(
            409, "counter_taken", N_("counter %(counter)d is not open by you"), counter=counter.number
        )


def _service(desk: CounterDesk, code: str) -> Service:
    service = catalogue.find_service(desk.session, code=code)
    if service is None:
        raise ApiError(422, "invalid_input", N_("field 'service': unknown service %(service)s"), service=code)
    return service


def _open(desk: CounterDesk, who: SignedIn, body: Any, request: Request) -> None:
    desk.open(agent_id=id_of(who.staff))


ACTIONS: list[tuple[str, Action, str, type[BaseModel] | None]] = [
    ("open", _open, "Take this counter", None),
    ("close", lambda d, w, b, r: d.close(), "Leave this counter", None),
    (
        "next",
        lambda d, w, b, r: d.call_next(policy=policy_config(r)),
        "Call the next ticket (204: nobody waits)",
        None,
    ),
    ("recall", lambda d, w, b, r: d.recall(), "Call the current ticket again", None),
    ("start", lambda d, w, b, r: d.start(), "The citizen is at the counter", None),
    ("finish", lambda d, w, b, r: d.finish(), "Service done", None),
    ("no-show", lambda d, w, b, r: d.no_show(), "The citizen did not come", None),
    (
        "transfer",
        lambda d, w, b, r: d.transfer(service=_service(d, b.service)),
        "Send to another service's queue",
        TransferIn,
    ),
    (
        "call",
        lambda d, w, b, r: d.call_number(number=b.number, reason=b.reason),
        "Call a given number out of order",
        OutOfOrderCallIn,
    ),
    ("pause", lambda d, w, b, r: d.pause(reason=b.reason), "Stop taking tickets, with a reason", PauseIn),
    ("resume", lambda d, w, b, r: d.resume(), "Take tickets again", None),
]

routes = [list_counters, *(_action_route(n, a, summary=s, body=b) for n, a, s, b in ACTIONS)]
