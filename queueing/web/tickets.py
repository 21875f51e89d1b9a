"""Ticket routes: issue (kiosk or remote), view, leave the queue, run late, rate the service, QR code; a
centre's public status."""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime, timedelta

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from config.i18n import N_
from config.sql import id_of
from config.throttle import Limit, take
from config.web.context import now
from config.web.endpoints import operation
from config.web.errors import ApiError, not_found
from config.web.threads import read, write
from identity.otp import Purpose, Verdict
from identity.web.otp import phone_field
from identity.web.verified import IDEMPOTENCY_HEADER, PhoneCode, retries, write_once
from organisation import catalogue
from organisation.hours import local_day
from organisation.models import Centre, DeviceKind
from organisation.snapshot import organisation
from organisation.web.credentials import credentials, require_device
from queueing.engine import cancel_ticket, issue_ticket, move_back
from queueing.feedback import give_feedback
from queueing.models import Ticket
from queueing.notifications import notify_near, send_tracker_link
from queueing.policy import Priority
from queueing.schemas import (
    CentreStatus,
    FeedbackIn,
    FindTicketIn,
    FindTicketOut,
    IssueTicketIn,
    TicketOut,
)
from queueing.service import centre_status, ticket_view, typed_number
from queueing.states import TicketStatus
from queueing.tickets import Channel, find_ticket
from queueing.waits import newcomer_standing, wait_model
from queueing.web.context import policy_config, queue_notices

log = logging.getLogger(__name__)


@operation(
    "POST",
    "/api/v1/centres/{centre}/tickets",
    summary="Take a ticket (kiosk device, or remote with phone and OTP)",
    tag="tickets",
    body=IssueTicketIn,
    responses={201: TicketOut},
    errors=(401, 403, 409),
    security=("device",),
    headers=(IDEMPOTENCY_HEADER,),
)
async def issue(request: Request, body: IssueTicketIn) -> Response:
    """Issues a ticket; a retry with the same Idempotency-Key gets the same ticket, as it stands now.

    One transaction issues the ticket and works out its place in line, which the ticket keeps as
    its promise; the answer is built from that place. A replay reads the ticket as it stands now.
    """
    code_of_centre = request.path_params["centre"]
    retry = retries(request, body)
    remote = body.channel == Channel.REMOTE
    if remote and not (body.phone and body.otp):
        raise ApiError(
            422,
            "otp_required",
            N_("remote tickets need 'phone' and 'otp': ask for a code with POST /api/v1/otp"),
        )
    if remote and body.priority != Priority.NONE:
        # A head start claimed from a phone could not be checked: it is given in the hall.
        raise ApiError(
            422, "invalid_input", N_("field 'priority': given at the kiosk or counter, not remotely")
        )
    phone = phone_field(body.phone) if body.phone else None
    creds = credentials(request)
    settings = request.app.state.settings
    policy, notices = policy_config(request), queue_notices(request)
    at = now(request)

    def work(session: Session) -> TicketOut | str | Verdict:
        known = organisation(session)  # read its rows, never change them
        centre = known.centres.get(code_of_centre)
        if centre is None:
            raise not_found(request, "centre", code_of_centre)
        if remote:
            assert phone is not None
            caller = f"phone:{phone}"
        else:
            device = require_device(session, creds, kind=DeviceKind.KIOSK, centre_id=id_of(centre))
            caller = f"device:{device.id}"
        once = retry.scoped(f"ticket:{caller}")
        stored = once.replayed(session)
        if stored is not None:
            return str(stored["token"])
        service = known.services.get(body.service)
        if service is None:
            raise not_found(request, "service", body.service)
        if remote:
            assert phone is not None and body.otp is not None
            if _holds_remote_ticket(session, centre=centre, phone=phone, now=at):
                raise ApiError(
                    409, "already_queued", N_("this phone already holds a remote ticket at this centre")
                )
            refused = PhoneCode(request, phone, Purpose.REMOTE_TICKET, body.otp).check(session, once, now=at)
            if refused is not None:
                return str(refused["token"]) if isinstance(refused, dict) else refused
        # What the promise needs is read before the issue locks the queue's number and the log.
        model = wait_model(session, centre=centre, now=at)
        place = newcomer_standing(
            session, model=model, service_id=id_of(service), priority=body.priority, policy=policy, now=at
        )
        ticket = issue_ticket(
            session,
            centre=centre,
            service=service,
            channel=body.channel,
            actor=caller,
            now=at,
            priority=body.priority,
            phone=phone,
            language=body.language,
            ignore_hours=settings.always_open,
            predicted_wait_s=place.forecast.model_s,
        )
        if phone is not None:
            # A newcomer joins behind the others and brings nobody nearer: only its own turn may
            # already be near.
            notify_near(session, centre=centre, service_id=id_of(service), notices=notices, now=at)
        once.remember(session, {"token": ticket.token}, now=at)
        return ticket_view(
            session, ticket, centre=centre, policy=policy, base_url=settings.base_url, now=at, place=place
        )

    outcome: TicketOut | str = await write_once(request, work)
    if isinstance(outcome, str):  # a replay
        token = outcome

        def answer(session: Session) -> TicketOut:
            ticket, centre = _ticket_and_centre(session, request, token)
            return ticket_view(
                session, ticket, centre=centre, policy=policy, base_url=settings.base_url, now=at
            )

        outcome = await read(request, answer)
    return JSONResponse(outcome.model_dump(mode="json"), status_code=201)


def _holds_remote_ticket(session: Session, *, centre: Centre, phone: str, now: datetime) -> bool:
    """Whether this phone holds a remote ticket of today at the centre, not yet served: one at a
    time, so a phone cannot hold places in every queue."""
    found = session.exec(
        select(Ticket.id).where(
            Ticket.centre_id == id_of(centre),
            Ticket.day == local_day(now, timezone=centre.timezone),
            Ticket.phone == phone,
            Ticket.channel == Channel.REMOTE,
            col(Ticket.status).in_([TicketStatus.WAITING.value, TicketStatus.CALLED.value]),
        )
    ).first()
    return found is not None


def _ticket_and_centre(session: Session, request: Request, token: str) -> tuple[Ticket, Centre]:
    ticket = find_ticket(session, token=token)
    if ticket is None:
        raise not_found(request, "ticket", "…")
    centre = organisation(session).centres_by_id[ticket.centre_id]  # read it, never change it
    return ticket, centre


# How often one phone, and one client address, may ask for a tracker link: enough for a citizen who
# mistypes, too few to try numbers against a phone or phones against a number.
FIND_PER_PHONE = Limit(5, timedelta(hours=1))
FIND_PER_ADDRESS = Limit(20, timedelta(hours=1))


def number_field(raw: str) -> str:
    """A typed ticket number ("a-12", "A-٠١٢", "A012") as the ticket shows it ("A-012"), or 422."""
    number = typed_number(raw.strip())
    if number is None:
        raise ApiError(422, "invalid_input", N_("field 'number': not a ticket number like A-012"))
    return number


@operation(
    "POST",
    "/api/v1/centres/{centre}/tickets/find",
    summary="Send a ticket's tracker link again, by SMS to the phone that took it",
    tag="tickets",
    body=FindTicketIn,
    responses={202: FindTicketOut},
    errors=(404, 422, 429),
)
async def find(request: Request, body: FindTicketIn) -> Response:
    """When today's waiting or called ticket with this number at the centre was taken with this phone,
    its tracker link goes to that phone in the ticket's language. The answer is the same whether or
    not one matched; each phone and each client address may ask a few times an hour (429)."""
    code = request.path_params["centre"]
    phone, number = phone_field(body.phone), number_field(body.number)
    settings, at = request.app.state.settings, now(request)
    address = request.client.host if request.client else "unknown"
    # The phone is kept (throttle key) and logged only as a keyed hash: least data.
    phone_hash = hmac.new(settings.secret, phone.encode(), hashlib.sha256).hexdigest()[:16]

    def work(session: Session) -> bool:
        centre = catalogue.find_centre(session, code=code)
        if centre is None:
            raise not_found(request, "centre", code)
        for key, limit in (
            (f"find:phone:{phone_hash}", FIND_PER_PHONE),
            (f"find:address:{address}", FIND_PER_ADDRESS),
        ):
            wait = take(session, key=key, limit=limit, now=at)
            if wait is not None:
                log.warning("tracker link refused at %s: %s asked too often", code, key.split(":")[1])
                raise ApiError(
                    429,
                    "too_many_requests",
                    N_("too many requests; try again in %(seconds)d s"),
                    headers={"Retry-After": str(wait)},
                    seconds=wait,
                )
        return send_tracker_link(
            session, centre=centre, number=number, phone=phone, base_url=settings.base_url, now=at
        )

    sent = await write(request, work)
    log.info(
        "tracker link asked at %s for %s by phone %s from %s: %s",
        code,
        number,
        phone_hash,
        address,
        "sent" if sent else "no such ticket",
    )
    return JSONResponse(FindTicketOut().model_dump(), status_code=202)


@operation(
    "GET",
    "/api/v1/tickets/{token}",
    summary="A ticket's live status",
    tag="tickets",
    responses={200: TicketOut},
)
async def view(request: Request) -> TicketOut:
    """Status, position and estimated wait of the ticket with this token."""
    token = request.path_params["token"]
    settings, policy, at = request.app.state.settings, policy_config(request), now(request)

    def work(session: Session) -> TicketOut:
        ticket, centre = _ticket_and_centre(session, request, token)
        return ticket_view(session, ticket, centre=centre, policy=policy, base_url=settings.base_url, now=at)

    return await read(request, work)


@operation(
    "DELETE",
    "/api/v1/tickets/{token}",
    summary="Leave the queue",
    tag="tickets",
    responses={200: TicketOut},
    errors=(409,),
)
async def leave(request: Request) -> TicketOut:
    """The holder cancels a waiting or called ticket."""
    token = request.path_params["token"]
    settings, policy, at = request.app.state.settings, policy_config(request), now(request)
    notices = queue_notices(request)

    def work(session: Session) -> TicketOut:
        ticket, centre = _ticket_and_centre(session, request, token)
        cancel_ticket(session, ticket=ticket, centre=centre, actor="citizen", now=at)
        notify_near(session, centre=centre, service_id=ticket.service_id, notices=notices, now=at)
        return ticket_view(session, ticket, centre=centre, policy=policy, base_url=settings.base_url, now=at)

    return await write(request, work)


@operation(
    "POST",
    "/api/v1/tickets/{token}/late",
    summary="Running late: let the next few people go first (once per ticket)",
    tag="tickets",
    responses={200: TicketOut},
    errors=(404, 409),
)
async def late(request: Request) -> TicketOut:
    """The holder of a waiting ticket moves it back behind the next few people of its queue, once;
    409 `already_moved_back`, `ticket_not_waiting`, `appointment_keeps_its_time` or `nobody_behind`."""
    token = request.path_params["token"]
    settings, policy, at = request.app.state.settings, policy_config(request), now(request)
    notices = queue_notices(request)

    def work(session: Session) -> TicketOut:
        ticket, centre = _ticket_and_centre(session, request, token)
        move_back(session, ticket=ticket, centre=centre, policy=policy, actor="citizen", now=at)
        # Those it let go first are a place nearer: one of them may now be near enough for its SMS.
        notify_near(session, centre=centre, service_id=ticket.service_id, notices=notices, now=at)
        return ticket_view(session, ticket, centre=centre, policy=policy, base_url=settings.base_url, now=at)

    return await write(request, work)


@operation(
    "POST",
    "/api/v1/tickets/{token}/feedback",
    summary="Rate the service once it is done: 1 to 5, with an optional comment (once per ticket)",
    tag="tickets",
    body=FeedbackIn,
    responses={201: TicketOut},
    errors=(404, 409, 422),
)
async def feedback(request: Request, body: FeedbackIn) -> Response:
    """The holder of a served ticket rates the service; 409 `ticket_not_served` before it is done,
    `feedback_given` once it has been rated (two answers at once make one)."""
    token = request.path_params["token"]
    settings, policy, at = request.app.state.settings, policy_config(request), now(request)

    def work(session: Session) -> TicketOut:
        ticket, centre = _ticket_and_centre(session, request, token)
        give_feedback(session, ticket=ticket, rating=body.rating, comment=body.comment, now=at)
        return ticket_view(session, ticket, centre=centre, policy=policy, base_url=settings.base_url, now=at)

    rated = await write(request, work)
    return JSONResponse(rated.model_dump(mode="json"), status_code=201)


@operation(
    "GET",
    "/api/v1/centres/{centre}/status",
    summary="A centre's queues now: waiting, estimated waits, numbers being served",
    tag="catalogue",
    responses={200: CentreStatus},
)
async def status(request: Request) -> CentreStatus:
    """Public waiting counts and estimates; ticket numbers only, nothing personal."""
    code = request.path_params["centre"]
    settings, at = request.app.state.settings, now(request)

    def work(session: Session) -> CentreStatus | None:
        centre = catalogue.find_centre(session, code=code)
        if centre is None:
            return None
        return centre_status(session, centre=centre, now=at, always_open=settings.always_open)

    result = await read(request, work)
    if result is None:
        raise not_found(request, "centre", code)
    return result


routes = [issue, find, view, leave, late, feedback, status]
