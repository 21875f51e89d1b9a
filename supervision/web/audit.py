"""The audit screen's routes: a centre's event log searched (JSON or CSV), its chain verified, and
the page /supervisor/audit."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from config.i18n import N_, Phrase, gettext_for
from config.sql import id_of
from config.web.endpoints import operation
from config.web.errors import ApiError, language
from organisation.models import Centre
from organisation.staff import find_staff
from organisation.web.managers import managed_read
from queueing.service import typed_number
from supervision.audit import verify_log
from supervision.audit_log import KIND_NAMES, MOST_A_PAGE, AuditPageOut, AuditQuery, search
from supervision.web.reports import as_csv
from supervision.web.wallboard import supervising

# A CSV is a page of its own, larger than the screen's: a busy day of a busy centre in one file.
MOST_A_FILE = 20_000


class AuditFileQuery(AuditQuery):
    limit: int = Field(default=MOST_A_FILE, ge=1, le=MOST_A_FILE)
    lang: Literal["ar", "en"] | None = Field(default=None, description="the language of the kinds' names")


class BreakOut(BaseModel):
    seq: int = Field(description="the first entry that is not what was written")
    reason: str = Field(description="what is wrong with it, in the request's language")


class VerdictOut(BaseModel):
    ok: bool
    entries: int = Field(description="the entries of the centre's log")
    broken: BreakOut | None


async def _page(request: Request, query: AuditQuery) -> tuple[Centre, AuditPageOut]:
    """The centre's entries the query asks for, for its managers; 422 naming a filter that is not one."""
    number = None
    if query.ticket is not None:
        number = typed_number(query.ticket)
        if number is None:
            raise ApiError(
                422, "invalid_input", N_("query parameter 'ticket': must be a ticket number like A-042")
            )

    def work(session: Session, centre: Centre) -> tuple[Centre, AuditPageOut]:
        actor = None
        if query.staff is not None:
            if find_staff(session, username=query.staff) is None:
                raise ApiError(
                    422,
                    "invalid_input",
                    N_("query parameter 'staff': no staff member has the username %(username)s"),
                    username=query.staff,
                )
            actor = f"staff:{query.staff}"
        page = search(
            session,
            centre=centre,
            day=query.day,
            ticket=number,
            actor=actor,
            kind=query.kind,
            after_seq=query.after_seq,
            limit=query.limit,
        )
        return centre, page

    return await managed_read(request, work)


@operation(
    "GET",
    "/api/v1/centres/{centre}/audit",
    summary="The centre's event log, newest first: by local day, ticket number, staff member and kind",
    tag="reports",
    query=AuditQuery,
    responses={200: AuditPageOut},
    errors=(401, 403),
    security=("session",),
)
async def audit_route(request: Request, query: AuditQuery) -> AuditPageOut:
    """Supervisors of the centre and admins; `after_seq` from `next_after_seq` for the next page."""
    return (await _page(request, query))[1]


class AuditRowOut(BaseModel):
    """An entry as a spreadsheet shows it: the centre's local time, the kind's name."""

    seq: int
    time: str
    kind: str
    kind_name: str
    actor: str
    ticket: str | None
    counter: int | None
    data: dict[str, object]


@operation(
    "GET",
    "/api/v1/centres/{centre}/audit.csv",
    summary="The same entries as a spreadsheet (UTF-8 with a byte-order mark), the centre's local time",
    tag="reports",
    query=AuditFileQuery,
    responses={200: None},
    errors=(401, 403),
    security=("session",),
)
async def audit_csv(request: Request, query: AuditFileQuery) -> Response:
    """Supervisors of the centre and admins; at most 20,000 entries a file, newest first."""
    centre, page = await _page(request, query)
    zone, gettext = ZoneInfo(centre.timezone), gettext_for(language(request))
    names = {kind.value: gettext(name) for kind, name in KIND_NAMES.items()}
    rows = [
        AuditRowOut(
            seq=entry.seq,
            time=entry.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
            kind=entry.kind,
            kind_name=names.get(entry.kind, entry.kind),
            actor=entry.actor,
            ticket=entry.ticket,
            counter=entry.counter,
            data=entry.data,
        )
        for entry in page.entries
    ]
    name = f"{centre.code}-audit{f'-{query.day}' if query.day else ''}"
    return as_csv(rows, name=name, header=list(AuditRowOut.model_fields))


@operation(
    "POST",
    "/api/v1/centres/{centre}/audit/verify",
    summary="Checks the centre's hash chain from its start: ok, or the first entry not as written",
    tag="reports",
    responses={200: VerdictOut},
    errors=(401, 403),
    security=("session",),
)
async def verify_route(request: Request) -> VerdictOut:
    """Supervisors of the centre and admins; what `dor audit verify` checks, for this centre only."""
    gettext = gettext_for(language(request))

    def work(session: Session, centre: Centre) -> VerdictOut:
        verdict = verify_log(session, centre_id=id_of(centre), code=centre.code)
        if verdict.broken is None:
            return VerdictOut(ok=True, entries=verdict.entries, broken=None)
        reason = Phrase(verdict.broken.template, verdict.broken.params).translated(gettext)
        return VerdictOut(
            ok=False, entries=verdict.entries, broken=BreakOut(seq=verdict.broken.seq, reason=reason)
        )

    return await managed_read(request, work)


async def audit_page(request: Request) -> Response:
    """The audit screen of one of the supervisor's centres."""
    return await supervising(request, "supervisor_audit.html", kinds=KIND_NAMES, most_a_page=MOST_A_PAGE)


routes = [
    audit_route,
    audit_csv,
    verify_route,
    Route("/supervisor/audit", audit_page, methods=["GET"], name="supervisor_audit"),
]
