"""The counter balancer for supervisors: a centre's queue pressure and the moves the balancer
recommends, one-click apply, and switching automatic balancing on or off (each change logged with
who made it); and the counters' queues planned from the demand, to apply counter by counter."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col
from starlette.requests import Request

from config.sql import id_of
from config.web.context import now
from config.web.endpoints import operation
from config.web.errors import not_found
from config.web.threads import read, write
from eventlog.log import append_event
from organisation import catalogue
from organisation.models import Centre, QueueRole, Service
from organisation.web.credentials import credentials, session_policy
from organisation.web.managers import centre_of_path, manager_of
from scheduling.balancer import apply_move, balance_view, centre_balance
from scheduling.balancing import BalanceRules, Move
from scheduling.counter_plan import counter_plan
from scheduling.schemas import AutoBalanceIn, BalanceMoveIn, BalanceOut, CounterPlanOut, CounterPlanQuery


def _rules(request: Request) -> BalanceRules:
    rules: BalanceRules = request.app.state.balance_rules
    return rules


@operation(
    "GET",
    "/api/v1/centres/{centre}/balance",
    summary="Queue pressure at a centre and the counter moves the balancer recommends",
    tag="administration",
    responses={200: BalanceOut},
    errors=(401, 403),
    security=("session",),
)
async def balance(request: Request) -> BalanceOut:
    """Supervisors of the centre and admins."""
    creds, at, policy, rules = credentials(request), now(request), session_policy(request), _rules(request)

    def work(session: Session) -> BalanceOut:
        centre = centre_of_path(session, request)
        manager_of(session, creds, at=at, rules=policy, centre_id=id_of(centre))
        return balance_view(session, centre=centre, rules=rules)

    return await read(request, work, slow=True)


@operation(
    "POST",
    "/api/v1/centres/{centre}/balance/moves",
    summary="Apply a counter move: boost a counter's backup queue, or lower a boosted one",
    tag="administration",
    body=BalanceMoveIn,
    responses={200: BalanceOut},
    errors=(401, 403, 409),
    security=("session",),
)
async def move(request: Request, body: BalanceMoveIn) -> BalanceOut:
    """Any move the counter's roles allow, recommended or not; 409 invalid_move otherwise."""
    creds, at, policy, rules = credentials(request), now(request), session_policy(request), _rules(request)

    def work(session: Session) -> BalanceOut:
        centre = centre_of_path(session, request)
        manager = manager_of(session, creds, at=at, rules=policy, centre_id=id_of(centre))
        service: Service | None = catalogue.find_service(session, code=body.service)
        if service is None:
            raise not_found(request, "service", body.service)
        drain = centre_balance(session, centre=centre, rules=rules).drain_s.get(id_of(service), 0.0)
        planned = Move(body.counter, id_of(service), QueueRole(body.role), drain)
        apply_move(session, centre=centre, move=planned, actor=manager.actor, now=at)
        return balance_view(session, centre=centre, rules=rules)

    return await write(request, work)


@operation(
    "POST",
    "/api/v1/centres/{centre}/balance/auto",
    summary="Let the balancer apply its moves itself at this centre, or only recommend them",
    tag="administration",
    body=AutoBalanceIn,
    responses={200: BalanceOut},
    errors=(401, 403),
    security=("session",),
)
async def auto(request: Request, body: AutoBalanceIn) -> BalanceOut:
    """Supervisors of the centre and admins; logged."""
    creds, at, policy, rules = credentials(request), now(request), session_policy(request), _rules(request)

    def work(session: Session) -> BalanceOut:
        centre = centre_of_path(session, request)
        manager = manager_of(session, creds, at=at, rules=policy, centre_id=id_of(centre))
        switched = session.execute(
            update(Centre)
            .where(col(Centre.id) == id_of(centre), col(Centre.auto_balance).is_(not body.auto))
            .values(auto_balance=body.auto)
        )
        if switched.rowcount:  # type: ignore[attr-defined]  # else it was so already: nothing to log
            append_event(
                session,
                centre_id=id_of(centre),
                centre_code=centre.code,
                type="auto_balance_changed",
                actor=manager.actor,
                at=at,
                data={"auto": body.auto},
            )
        # Either way the centre is now as asked; the row read before the update still says what was.
        return balance_view(session, centre=centre, rules=rules).model_copy(update={"auto": body.auto})

    return await write(request, work)


@operation(
    "GET",
    "/api/v1/centres/{centre}/counter-plan",
    summary="Each counter's own queue and backup, planned from the demand of the last weeks",
    tag="administration",
    query=CounterPlanQuery,
    responses={200: CounterPlanOut},
    errors=(401, 403, 409),
    security=("session",),
)
async def plan(request: Request, query: CounterPlanQuery) -> CounterPlanOut:
    """Supervisors of the centre and admins; 409 `no_plan` without tickets in those weeks."""
    creds, at, policy = credentials(request), now(request), session_policy(request)

    def work(session: Session) -> CounterPlanOut:
        centre = centre_of_path(session, request)
        manager_of(session, creds, at=at, rules=policy, centre_id=id_of(centre))
        return counter_plan(session, centre=centre, now=at, weeks=query.weeks)

    return await read(request, work, slow=True)


routes = [balance, move, auto, plan]
