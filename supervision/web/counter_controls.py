"""A supervisor's hand on a centre's counters from the wallboard: close a counter its agent left
open, and move an agent to another counter. Supervisors of the centre and admins; logged as the
counter's `counter_closed` and `counter_opened` with the supervisor as author and the reason."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.requests import Request

from config.schemas import Strict
from config.web.context import now
from config.web.endpoints import operation, path_number
from config.web.errors import not_found
from organisation.models import Centre, Counter
from organisation.snapshot import organisation
from organisation.web.managers import managed_change
from queueing.service import CounterNotFound, force_close, move_agent

Reason = Field(min_length=3, max_length=200, description="why, for the log")


class ForceCloseIn(Strict):
    reason: str = Reason


class MoveAgentIn(Strict):
    to: int = Field(ge=1, le=1000, description="the closed counter the agent moves to")
    reason: str = Reason


class CounterControlOut(BaseModel):
    centre: str
    counter: int
    open: bool
    agent: str | None = Field(description="the username of the agent now at this counter")


def _number(request: Request) -> int:
    raw = request.path_params["counter"]
    number = path_number(raw, maximum=1000)
    if number is None:
        raise not_found(request, "counter", raw)
    return number


def _out(session: Session, centre: Centre, counter: Counter) -> CounterControlOut:
    agent = organisation(session).staff.get(counter.agent_id) if counter.agent_id else None
    return CounterControlOut(
        centre=centre.code,
        counter=counter.number,
        open=counter.is_open,
        agent=agent.username if agent else None,
    )


@operation(
    "POST",
    "/api/v1/centres/{centre}/counters/{counter}/force-close",
    summary="Close a counter whoever holds it (its agent left without closing it), with a reason",
    tag="administration",
    body=ForceCloseIn,
    responses={200: CounterControlOut},
    errors=(401, 403, 409),
    security=("session",),
)
async def force_close_route(request: Request, body: ForceCloseIn) -> CounterControlOut:
    """Supervisors of the centre and admins; refused (409 counter_busy) while a ticket is in hand."""
    number, at = _number(request), now(request)

    def work(session: Session, centre: Centre, actor: str) -> CounterControlOut:
        try:
            counter = force_close(
                session, centre=centre, number=number, reason=body.reason, actor=actor, now=at
            )
        except CounterNotFound as missing:
            raise not_found(request, "counter", str(missing.number)) from None
        return _out(session, centre, counter)

    return await managed_change(request, work)


@operation(
    "POST",
    "/api/v1/centres/{centre}/counters/{counter}/move-agent",
    summary="Move the agent of this counter to a closed counter: this one closes, that one opens",
    tag="administration",
    body=MoveAgentIn,
    responses={200: CounterControlOut},
    errors=(401, 403, 409),
    security=("session",),
)
async def move_agent_route(request: Request, body: MoveAgentIn) -> CounterControlOut:
    """Supervisors of the centre and admins; refused while this counter has a ticket in hand; the
    answer is the counter the agent now holds."""
    number, at = _number(request), now(request)

    def work(session: Session, centre: Centre, actor: str) -> CounterControlOut:
        try:
            counter = move_agent(
                session, centre=centre, origin=number, target=body.to, reason=body.reason, actor=actor, now=at
            )
        except CounterNotFound as missing:
            raise not_found(request, "counter", str(missing.number)) from None
        return _out(session, centre, counter)

    return await managed_change(request, work)


routes = [force_close_route, move_agent_route]
