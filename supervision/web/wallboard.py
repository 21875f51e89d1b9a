"""The supervisor's wallboard and the national view: their JSON routes and pages."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from config.sql import id_of
from config.web.context import now
from config.web.endpoints import operation
from config.web.pages import render
from config.web.threads import read
from organisation import catalogue, hours
from organisation.models import Role
from organisation.web.credentials import credentials, require_role, require_staff, session_policy
from organisation.web.managers import centre_of_path, manager_of
from organisation.web.pages import signed_in, to_login
from supervision.wallboard import CentreSummaryOut, WallboardOut, national, wallboard


@operation(
    "GET",
    "/api/v1/national",
    summary="Every centre side by side: waiting, longest wait, share within target, counters, alerts, link",
    tag="administration",
    responses={200: list[CentreSummaryOut]},
    errors=(401, 403),
    security=("session",),
)
async def national_route(request: Request) -> list[CentreSummaryOut]:
    """Admins only: the ministry's view."""
    creds, at, policy = credentials(request), now(request), session_policy(request)
    target_s = request.app.state.settings.wait_target_s

    def work(session: Session) -> list[CentreSummaryOut]:
        require_role(require_staff(session, creds, now=at, policy=policy), Role.ADMIN)
        return national(session, at=at, target_s=target_s)

    return await read(request, work, slow=True)


@operation(
    "GET",
    "/api/v1/centres/{centre}/wallboard",
    summary="The supervisor's view of a centre now: queues, counters, alerts, balancer moves, hours",
    tag="administration",
    responses={200: WallboardOut},
    errors=(401, 403),
    security=("session",),
)
async def wallboard_route(request: Request) -> WallboardOut:
    """Supervisors of the centre and admins."""
    creds, at, policy = credentials(request), now(request), session_policy(request)
    target_s, rules = request.app.state.settings.wait_target_s, request.app.state.balance_rules

    def work(session: Session) -> WallboardOut:
        centre = centre_of_path(session, request)
        manager_of(session, creds, at=at, rules=policy, centre_id=id_of(centre))
        return wallboard(session, centre=centre, at=at, target_s=target_s, rules=rules)

    return await read(request, work, slow=True)


async def supervising(request: Request, template: str, **extra: object) -> Response:
    """`template` for one of the signed-in supervisor's centres (`?centre=`; an admin may pick any),
    with `extra` in its context."""
    me = await signed_in(request)
    if me is None:
        return to_login(request)
    if me.role not in (Role.SUPERVISOR, Role.ADMIN):
        return RedirectResponse("/counter", status_code=303)
    centres = await read(request, lambda session: list(catalogue.list_centres(session)))
    mine = [c for c in centres if me.may_act_in(id_of(c))]
    chosen = request.query_params.get("centre", "")
    centre = next((c for c in mine if c.code == chosen), mine[0] if mine else None)
    if centre is None:
        return RedirectResponse("/counter", status_code=303)
    today = hours.local_day(now(request), timezone=centre.timezone)
    return render(
        request,
        template,
        {
            "me": me.staff,
            "centre": centre,
            "centres": mine,
            "national": me.role == Role.ADMIN,
            "today": today,
            "week_ago": today - timedelta(days=6),
            **extra,
        },
    )


async def supervisor_page(request: Request) -> Response:
    """The wallboard of one of the supervisor's centres."""
    return await supervising(request, "supervisor.html")


async def reports_page(request: Request) -> Response:
    """Reports as charts and CSV, the bookings flagged as a broker's, and the blocks."""
    return await supervising(request, "supervisor_reports.html")


routes = [
    national_route,
    wallboard_route,
    Route("/supervisor", supervisor_page, methods=["GET"], name="supervisor"),
    Route("/supervisor/reports", reports_page, methods=["GET"], name="supervisor_reports"),
]
