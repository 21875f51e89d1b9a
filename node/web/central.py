"""The central's routes for centre nodes (docs/centre-node.md): the centre's log head, and the push
of what the node logged. A node's token names its centre: no path names one."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.requests import Request

from config.i18n import N_
from config.sql import id_of
from config.web.context import now
from config.web.endpoints import operation
from config.web.errors import ApiError
from config.web.threads import read, write
from eventlog.intake import LogRefused, log_head, touch
from node.appointments import export_appointments
from node.intake import PushRefused, take_in_push
from node.organisation import export
from node.schemas import (
    AppointmentsOut,
    AppointmentsQuery,
    LogHeadOut,
    LogQuery,
    OrganisationOut,
    OrganisationQuery,
    PushIn,
)
from organisation.accounts import find_device
from organisation.models import Centre, DeviceKind
from organisation.snapshot import organisation
from organisation.web.credentials import Credentials, credentials


def node_centre(session: Session, creds: Credentials) -> Centre:
    """The centre whose node holds the bearer token; 401 for any other token, or a revoked one."""
    device = find_device(session, token=creds.bearer) if creds.bearer else None
    if device is None or device.kind != DeviceKind.NODE.value:
        raise ApiError(
            401,
            "unauthorized",
            N_("a valid centre node token is required"),
            headers={"WWW-Authenticate": "Bearer"},
        )
    return organisation(session).centres_by_id[device.centre_id]


@operation(
    "GET",
    "/api/v1/node/log",
    summary="The central's head of the node's centre's log: the node sends what follows it",
    tag="centre nodes",
    query=LogQuery,
    responses={200: LogHeadOut},
    errors=(401,),
    security=("device",),
)
async def get_head(request: Request, query: LogQuery) -> LogHeadOut:
    """A centre node's call, with its own head: the link's sign of life, and how far behind the
    central's copy is."""
    creds, at = credentials(request), now(request)

    def work(session: Session) -> LogHeadOut:
        centre = node_centre(session, creds)
        head = log_head(session, centre_id=id_of(centre))
        reported = head.seq if query.head is None else query.head
        touch(session, centre_id=id_of(centre), node_seq=reported, now=at)
        return LogHeadOut(seq=head.seq, hash=head.hash)

    return await write(request, work)


@operation(
    "POST",
    "/api/v1/node/log",
    summary="Entries of the node's centre's log, with the rows they name; taken exactly once, in order",
    tag="centre nodes",
    body=PushIn,
    responses={200: LogHeadOut},
    errors=(401, 409),
    security=("device",),
)
async def push(request: Request, body: PushIn) -> LogHeadOut:
    """409 `log_gap` (with the seq expected), `log_diverged` or `log_broken` when the entries do not
    follow the central's log; 422 `push_refused` for rows the central does not take. Nothing of a
    refused push is kept."""
    creds, at = credentials(request), now(request)

    def work(session: Session) -> LogHeadOut:
        centre = node_centre(session, creds)
        try:
            head = take_in_push(session, centre=centre, push=body)
        except LogRefused as exc:
            raise ApiError(409, exc.code, str(exc), seq=exc.seq) from None
        except PushRefused as exc:
            raise ApiError(422, "push_refused", str(exc)) from None
        except IntegrityError:  # a row the database refuses (a token or a number taken): nothing kept
            raise ApiError(
                409, "push_conflict", "the push names rows that conflict with the central's"
            ) from None
        touch(session, centre_id=id_of(centre), node_seq=body.head, now=at)
        return LogHeadOut(seq=head.seq, hash=head.hash)

    return await write(request, work)


@operation(
    "GET",
    "/api/v1/node/organisation",
    summary="The organisation as the node's centre needs it: its centre, services, counters, staff, devices",
    tag="centre nodes",
    query=OrganisationQuery,
    responses={200: OrganisationOut},
    errors=(401,),
    security=("device",),
)
async def get_organisation(request: Request, query: OrganisationQuery) -> OrganisationOut:
    """Only the version when the node says it holds it (`known`)."""
    creds = credentials(request)

    def work(session: Session) -> OrganisationOut:
        centre = node_centre(session, creds)
        version = organisation(session).version or 0
        if query.known == version:
            return OrganisationOut(version=version, unchanged=True)
        return OrganisationOut(**export(session, centre=centre))

    return await read(request, work)


@operation(
    "GET",
    "/api/v1/node/appointments",
    summary="The node's centre's appointments from today for a week: booked or cancelled",
    tag="centre nodes",
    query=AppointmentsQuery,
    responses={200: AppointmentsOut},
    errors=(401,),
    security=("device",),
)
async def get_appointments(request: Request, query: AppointmentsQuery) -> AppointmentsOut:
    """Only the fingerprint when the node says it holds them (`known`)."""
    creds, at = credentials(request), now(request)

    def work(session: Session) -> AppointmentsOut:
        exported = export_appointments(session, centre=node_centre(session, creds), now=at)
        if query.known == exported["fingerprint"]:
            return AppointmentsOut(fingerprint=exported["fingerprint"], unchanged=True)
        return AppointmentsOut(**exported)

    return await read(request, work)


routes = [get_head, push, get_organisation, get_appointments]
