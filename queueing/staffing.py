"""A supervisor's commands on counters: close a counter its agent left open, and move an agent from
one counter to another. Each is the counter commands of queueing/engine.py run by the supervisor,
so the log holds the same `counter_closed` and `counter_opened` events, with the supervisor as
their author and the reason."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from config.i18n import N_
from config.sql import id_of
from organisation.models import Centre, Counter
from queueing.counters import find_desk_rows
from queueing.engine import CounterDesk
from queueing.errors import CounterBusy, CounterClosed, CounterTaken


class CounterNotFound(LookupError):
    """No counter of that number at the centre."""

    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.number = number


def _desk(session: Session, *, centre: Centre, number: int, actor: str, now: datetime) -> CounterDesk:
    found = find_desk_rows(session, centre_id=id_of(centre), number=number)
    if found is None:
        raise CounterNotFound(number)
    counter, in_hand = found
    return CounterDesk(session, centre=centre, counter=counter, actor=actor, now=now, in_hand=(in_hand,))


def _require_empty_handed(desk: CounterDesk) -> None:
    """A ticket in hand is a citizen called to this counter, perhaps standing at it: closing it
    would hide that ticket (docs/queueing.md, "A supervisor closes a counter")."""
    ticket = desk.holding()
    if ticket is not None:
        raise CounterBusy(
            N_(
                "counter %(counter)d has ticket %(number)s in hand: finish it, transfer it or mark it "
                "no-show first"
            ),
            counter=desk.counter.number,
            number=ticket.number,
        )


def force_close(
    session: Session, *, centre: Centre, number: int, reason: str, actor: str, now: datetime
) -> Counter:
    """Closes an open counter whoever holds it, for a reason (the agent left without closing it);
    refused while it has a ticket in hand."""
    desk = _desk(session, centre=centre, number=number, actor=actor, now=now)
    if not desk.counter.is_open:
        raise CounterClosed(N_("counter %(counter)d is closed already"), counter=number)
    _require_empty_handed(desk)
    agent = desk.counter.agent_id
    desk.close(reason=reason, agent=agent)
    return desk.counter


def move_agent(
    session: Session, *, centre: Centre, origin: int, target: int, reason: str, actor: str, now: datetime
) -> Counter:
    """The agent of counter `origin` now works at counter `target` (closed): `origin` closes (refused
    while it has a ticket in hand) and `target` opens for that agent, in the caller's transaction."""
    if origin == target:
        raise CounterTaken(N_("the agent is at counter %(counter)d already"), counter=origin)
    # Both rows locked in the order of their numbers, so that two moves at once never wait on each other.
    desks = {
        n: _desk(session, centre=centre, number=n, actor=actor, now=now) for n in sorted((origin, target))
    }
    leaving, taking = desks[origin], desks[target]
    agent = leaving.counter.agent_id
    if not leaving.counter.is_open or agent is None:
        raise CounterClosed(N_("counter %(counter)d is closed: no agent to move"), counter=origin)
    if taking.counter.is_open or taking.counter.agent_id is not None:
        raise CounterTaken(
            N_("counter %(counter)d is open: an agent moves only to a closed counter"), counter=target
        )
    _require_empty_handed(leaving)
    leaving.close(reason=reason, agent=agent, moved_to=target)
    taking.open(agent_id=agent, reason=reason, moved_from=origin)
    return taking.counter
