"""The exceptions report: per agent, what departed from the policy's order, read from the event log.

Out-of-order calls (with their reasons), transfers, no-shows and overrides (a supervisor's balancing
moves, switching the balancer's own moves on or off, stopping intake). The log is chained
(eventlog/chain.py), so what this report reads is what happened.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from eventlog.models import Event

OVERRIDES = (
    "queue_role_changed",
    "auto_balance_changed",
    "intake_stopped",
    "intake_reopened",
    "counter_services_changed",
    "no_show_policy_changed",
    "moved",
)
KINDS = ("called", "transferred", "no_show", *OVERRIDES)


class ExceptionOut(BaseModel):
    seq: int = Field(description="the event's place in the centre's log")
    at: datetime
    kind: str = Field(description="out_of_order_call, transfer, no_show or override")
    number: str | None = None
    detail: str = Field(default="", description="the reason given, the service moved to, the move made")


class AgentExceptionsOut(BaseModel):
    actor: str = Field(description="staff:<username>, or scheduler for the balancer's own moves")
    out_of_order_calls: int
    transfers: int
    no_shows: int
    overrides: int
    items: list[ExceptionOut]


def _kind(event: Event) -> str | None:
    if event.type == "called":
        return "out_of_order_call" if event.data.get("out_of_order") else None
    if event.type in OVERRIDES:
        return "override"
    return {"transferred": "transfer", "no_show": "no_show"}[event.type]


def _detail(event: Event) -> str:
    data = event.data
    if event.type == "called":
        return str(data.get("reason", ""))
    if event.type == "transferred":
        return f"{data.get('origin', '')} -> {data.get('service', '')}"
    if event.type in OVERRIDES:
        return f"{event.type}: " + ", ".join(f"{k}={v}" for k, v in sorted(data.items()))
    return ""


def exceptions(
    session: Session, *, centre_id: int, first: date, last: date, timezone: str
) -> list[AgentExceptionsOut]:
    """The exceptions of the centre's local days `first`..`last`, per actor, busiest first."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(first, time(), zone)
    end = datetime.combine(last + timedelta(days=1), time(), zone)
    events = session.exec(
        select(Event)
        .where(
            Event.centre_id == centre_id,
            col(Event.type).in_(KINDS),
            col(Event.at) >= start,
            col(Event.at) < end,
        )
        .order_by(col(Event.seq))
    ).all()
    agents: dict[str, AgentExceptionsOut] = {}
    for event in events:
        kind = _kind(event)
        if kind is None:
            continue
        agent = agents.setdefault(
            event.actor,
            AgentExceptionsOut(
                actor=event.actor, out_of_order_calls=0, transfers=0, no_shows=0, overrides=0, items=[]
            ),
        )
        field = {"out_of_order_call": "out_of_order_calls", "transfer": "transfers", "no_show": "no_shows"}
        name = field.get(kind, "overrides")
        setattr(agent, name, getattr(agent, name) + 1)
        number = event.data.get("number")
        agent.items.append(
            ExceptionOut(
                seq=event.seq,
                at=event.at,
                kind=kind,
                number=str(number) if number else None,
                detail=_detail(event),
            )
        )
    return sorted(agents.values(), key=lambda a: (-len(a.items), a.actor))
