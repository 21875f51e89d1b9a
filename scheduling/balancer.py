"""The counter balancer at work on a centre: reads the queues and counters, plans with
scheduling/balancing.py, and applies the moves where the centre lets it (otherwise they wait for a
supervisor). Every applied move is an event in the centre's log, with who made it."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from config.i18n import N_
from config.sql import id_of
from eventlog.log import append_event
from organisation import catalogue
from organisation.catalogue import services_of
from organisation.models import Centre, Counter, CounterService, QueueRole, Service
from organisation.snapshot import organisation
from queueing.counters import find_counter
from queueing.errors import InvalidMove
from queueing.tickets import waiting_counts
from scheduling.balancing import BalanceRules, DeskState, Move, QueueLoad, drain_times, plan
from scheduling.schemas import BalanceMoveOut, BalanceOut, QueuePressureOut

log = logging.getLogger(__name__)
BALANCER = "scheduler:balancer"


@dataclass(frozen=True)
class Balance:
    """A centre's queues under pressure and the balancer's moves for this round."""

    queues: Sequence[QueueLoad]
    drain_s: dict[int, float]
    moves: list[Move]


def _desks(session: Session, *, centre_id: int) -> list[DeskState]:
    counters = session.exec(
        select(Counter).where(Counter.centre_id == centre_id).order_by(col(Counter.number))
    )
    roles: dict[int, dict[int, QueueRole]] = {}
    rows = session.exec(
        select(CounterService.counter_id, CounterService.service_id, CounterService.role)
        .join(Counter, col(Counter.id) == CounterService.counter_id)
        .where(Counter.centre_id == centre_id)
    ).all()
    for counter_id, service_id, role in rows:
        roles.setdefault(counter_id, {})[service_id] = QueueRole(role)
    return [
        DeskState(c.number, ready=c.is_open and c.paused_reason is None, roles=roles.get(id_of(c), {}))
        for c in counters
    ]


def centre_balance(session: Session, *, centre: Centre, rules: BalanceRules) -> Balance:
    """What the balancer sees at a centre now and what it would do."""
    centre_id = id_of(centre)
    waiting = waiting_counts(session, centre_id=centre_id)
    queues = [
        QueueLoad(id_of(s), waiting.get(id_of(s), 0), float(s.mean_service_s))
        for s in services_of(session, centre_id=centre_id)
    ]
    desks = _desks(session, centre_id=centre_id)
    return Balance(queues, drain_times(queues, desks), plan(queues, desks, rules))


def apply_move(session: Session, *, centre: Centre, move: Move, actor: str, now: datetime) -> None:
    """Gives the counter's queue its new role; InvalidMove unless the counter holds it in the role the
    move starts from (a backup to boost, a boosted queue to release)."""
    counter = find_counter(session, centre_id=id_of(centre), number=move.counter)
    service = session.get(Service, move.service_id)
    if counter is None or service is None:
        raise InvalidMove(
            N_("no counter %(counter)d or service %(service)s at %(centre)s"),
            counter=move.counter,
            service=move.service_id,
            centre=centre.code,
        )
    origin = {QueueRole.BOOSTED: QueueRole.BACKUP, QueueRole.BACKUP: QueueRole.BOOSTED}.get(move.role)
    if origin is None:
        raise InvalidMove(N_("the balancer only boosts backup queues and lowers boosted ones"))
    changed = session.execute(
        update(CounterService)
        .where(
            col(CounterService.counter_id) == id_of(counter),
            col(CounterService.service_id) == move.service_id,
            col(CounterService.role) == origin.value,
        )
        .values(role=move.role.value)
    )
    if changed.rowcount == 0:  # type: ignore[attr-defined]
        raise InvalidMove(
            N_("counter %(counter)d does not hold %(service)s as a %(role)s queue"),
            counter=move.counter,
            service=service.code,
            role=origin.value,
        )
    append_event(
        session,
        centre_id=id_of(centre),
        centre_code=centre.code,
        type="queue_role_changed",
        actor=actor,
        at=now,
        counter_id=id_of(counter),
        data={
            "counter": counter.number,
            "service": service.code,
            "role": move.role.value,
            "drain_s": None if math.isinf(move.drain_s) else round(move.drain_s),
        },
    )
    log.info(
        "%s: counter %s now holds %s as %s (%s)", centre.code, move.counter, service.code, move.role, actor
    )


def balance_centre(session: Session, *, centre: Centre, rules: BalanceRules, now: datetime) -> list[Move]:
    """One round at a centre: the moves, applied when the centre has automatic balancing on."""
    moves = centre_balance(session, centre=centre, rules=rules).moves
    if centre.auto_balance:
        for move in moves:
            apply_move(session, centre=centre, move=move, actor=BALANCER, now=now)
    return moves


def balance_all(session: Session, *, rules: BalanceRules, now: datetime) -> int:
    """One round at every centre but those on their own node, which balance themselves; the number of
    moves planned."""
    on_nodes = organisation(session).node_centres
    return sum(
        len(balance_centre(session, centre=centre, rules=rules, now=now))
        for centre in session.exec(select(Centre).order_by(col(Centre.code)))
        if id_of(centre) not in on_nodes
    )


def _seconds(value: float) -> int | None:
    return None if math.isinf(value) else round(value)


def balance_view(session: Session, *, centre: Centre, rules: BalanceRules) -> BalanceOut:
    """The centre's queues by pressure and this round's moves."""
    balance = centre_balance(session, centre=centre, rules=rules)
    codes = {id_of(s): s.code for s in catalogue.services_of(session, centre_id=id_of(centre))}
    return BalanceOut(
        centre=centre.code,
        auto=centre.auto_balance,
        queues=[
            QueuePressureOut(
                service=codes[q.service_id],
                waiting=q.waiting,
                drain_s=_seconds(balance.drain_s[q.service_id]),
            )
            for q in sorted(balance.queues, key=lambda q: -balance.drain_s[q.service_id])
        ],
        moves=[
            BalanceMoveOut(
                counter=m.counter,
                service=codes[m.service_id],
                role="boosted" if m.role == QueueRole.BOOSTED else "backup",
                drain_s=_seconds(m.drain_s),
            )
            for m in balance.moves
        ],
    )
