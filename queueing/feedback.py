"""Feedback after service: a served ticket's holder rates it once, 1 to 5, with an optional comment.
The answer keeps who served the ticket (its counter and agent, from the log's "finished" event) so
that reports can read it per service, counter and agent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from config.errors import Refused
from config.i18n import N_
from config.sql import id_of
from eventlog.models import Event
from organisation.snapshot import organisation
from queueing.models import Feedback, Ticket
from queueing.states import TicketStatus

RATINGS = range(1, 6)
COMMENT_MAX = 280
STAFF_ACTOR = "staff:"


class NotServed(Refused):
    code = "ticket_not_served"


class FeedbackGiven(Refused):
    code = "feedback_given"


def give_feedback(
    session: Session, *, ticket: Ticket, rating: int, comment: str | None, now: datetime
) -> None:
    """Records the holder's answer for a served ticket; NotServed before it is done, FeedbackGiven
    when it was answered already (of two answers at once, the database keeps the first)."""
    if ticket.status != TicketStatus.DONE.value:
        raise NotServed(N_("ticket %(number)s has not been served"), number=ticket.number)
    counter_id, agent_id = _served_by(session, ticket_id=id_of(ticket))
    values = {
        "ticket_id": id_of(ticket),
        "centre_id": ticket.centre_id,
        "service_id": ticket.service_id,
        "counter_id": counter_id if counter_id is not None else ticket.counter_id,
        "agent_id": agent_id,
        "rating": rating,
        "comment": comment,
        "given_at": now,
    }
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    # On conflict nothing, not a caught IntegrityError: the transaction stays usable for the refusal.
    statement = (
        dialect.insert(Feedback.__table__)  # type: ignore[attr-defined]
        .values(**values)
        .on_conflict_do_nothing(index_elements=["ticket_id"])
        .returning(col(Feedback.id))
    )
    if session.execute(statement).first() is None:
        raise FeedbackGiven(N_("ticket %(number)s has been rated already"), number=ticket.number)


def feedback_given(session: Session, *, ticket_id: int) -> bool:
    """Whether the ticket's holder has answered."""
    return session.exec(select(Feedback.id).where(Feedback.ticket_id == ticket_id)).first() is not None


def _served_by(session: Session, *, ticket_id: int) -> tuple[int | None, int | None]:
    """The counter and the agent (a staff id) that finished the ticket, as the log holds them."""
    finished = session.exec(
        select(Event.counter_id, Event.actor)
        .where(Event.ticket_id == ticket_id, Event.type == "finished")
        .order_by(col(Event.seq).desc())
        .limit(1)
    ).first()
    if finished is None:
        return None, None
    counter_id, actor = finished
    username = actor.removeprefix(STAFF_ACTOR) if actor.startswith(STAFF_ACTOR) else None
    staff = next((s for s in organisation(session).staff.values() if s.username == username), None)
    return counter_id, staff.id if staff else None
