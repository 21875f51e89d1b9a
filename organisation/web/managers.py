"""A centre's managers (its supervisors, and admins): the checks and transactions of the routes
they use, whichever package the route belongs to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlmodel import Session
from starlette.requests import Request

from config.i18n import N_
from config.schemas import UsageQuery
from config.sql import id_of
from config.web.context import now
from config.web.errors import ApiError, not_found
from config.web.threads import read, write
from organisation import catalogue
from organisation.accounts import SessionPolicy, SignedIn
from organisation.models import Centre, Role
from organisation.web.credentials import Credentials, credentials, require_role, require_staff, session_policy

SUPERVISING = (Role.SUPERVISOR, Role.ADMIN)


def manager_of(
    session: Session, creds: Credentials, *, at: datetime, rules: SessionPolicy, centre_id: int | None = None
) -> SignedIn:
    """The signed-in supervisor or admin (of `centre_id`, when given); 401/403 otherwise."""
    manager = require_staff(session, creds, now=at, policy=rules, centre_id=centre_id)
    require_role(manager, *SUPERVISING)
    return manager


def centre_of_path(session: Session, request: Request) -> Centre:
    code = request.path_params["centre"]
    centre = catalogue.find_centre(session, code=code)
    if centre is None:
        raise not_found(request, "centre", code)
    return centre


MAX_REPORT_DAYS = 366


T = TypeVar("T")


async def centre_report(request: Request, query: UsageQuery, compute: Callable[[Session, Centre], T]) -> T:
    """A report over a centre's local days for its supervisors and admins: `from` not after `to`
    and at most a year (422 naming the parameter), then `compute` in a read transaction."""
    if query.from_ > query.to:
        raise ApiError(422, "invalid_input", N_("query parameter 'from': must not be after 'to'"))
    if (query.to - query.from_).days >= MAX_REPORT_DAYS:
        raise ApiError(
            422, "invalid_input", N_("query parameter 'to': at most %(days)d days"), days=MAX_REPORT_DAYS
        )
    return await managed_read(request, compute)


async def managed_read(request: Request, compute: Callable[[Session, Centre], T]) -> T:
    """`compute` at the centre of the path, in a read transaction, for its manager (supervisors of the
    centre, admins; 401/403 otherwise)."""
    creds, at, rules = credentials(request), now(request), session_policy(request)

    def work(session: Session) -> T:
        centre = centre_of_path(session, request)
        manager_of(session, creds, at=at, rules=rules, centre_id=id_of(centre))
        return compute(session, centre)

    return await read(request, work, slow=True)


async def managed_change(request: Request, work_as: Callable[[Session, Centre, str], T]) -> T:
    """Runs `work_as(session, centre, actor)` at the centre of the path for its manager (supervisors
    of the centre, admins; 401/403 otherwise) in a write transaction; `actor` is who, for the log."""
    creds, at, rules = credentials(request), now(request), session_policy(request)

    def work(session: Session) -> T:
        centre = centre_of_path(session, request)
        who = manager_of(session, creds, at=at, rules=rules, centre_id=id_of(centre))
        return work_as(session, centre, f"staff:{who.staff.username}")

    return await write(request, work)
