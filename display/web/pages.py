"""Hall display and ticket tracker pages, and the spoken announcement of a call."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from config.web.context import now
from config.web.endpoints import operation
from config.web.errors import not_found
from config.web.pages import render
from config.web.threads import read
from display import announcements
from display.hall_messages import HallMessageOut, current_message
from organisation.catalogue import find_centre, list_centres
from organisation.models import Centre, Service
from organisation.snapshot import organisation
from queueing.models import Ticket
from queueing.service import COMMENT_MAX, LATE_PLACES, find_ticket, was_called


class AnnouncementQuery(BaseModel):
    counter: int = Field(ge=1, le=999)


@operation(
    "GET",
    "/api/v1/centres/{centre}/announcements/{number}.wav",
    summary="The spoken call of a number to a counter (chime, Arabic, English), as WAV",
    tag="display",
    query=AnnouncementQuery,
    responses={200: None},
)
async def announcement(request: Request, query: AnnouncementQuery) -> Response:
    """Only for a call made today: each audio is made once with espeak-ng, then served from a
    bounded cache, so nobody can fill the disk or the processor by asking for made-up calls."""
    code, number = request.path_params["centre"], request.path_params["number"]
    at = now(request)

    def call_made(session: Session) -> bool | None:
        centre = find_centre(session, code=code)
        if centre is None:
            return None
        # Checked before the query: a path may hold anything (PostgreSQL refuses a NUL in a text).
        if announcements.NUMBER.match(number) is None:
            return False
        return was_called(session, centre=centre, number=number, counter=query.counter, now=at)

    made = await read(request, call_made)
    if made is None:
        raise not_found(request, "centre", code)
    if not made:
        raise not_found(request, "ticket", number)
    settings = request.app.state.settings
    directory, keep = Path(settings.data_dir) / "audio", settings.announcement_cache_files
    audio = await run_in_threadpool(
        announcements.cached, number, query.counter, directory=directory, keep=keep
    )
    return Response(audio, media_type="audio/wav", headers={"Cache-Control": "public, max-age=86400"})


@operation(
    "GET",
    "/api/v1/centres/{centre}/hall-message/{seq}.wav",
    summary="The current hall message spoken (chime, Arabic, English), as WAV",
    tag="display",
    responses={200: None},
)
async def hall_message_audio(request: Request) -> Response:
    """Only the message the centre's displays show now (`seq`: its event in the log) is spoken, once
    made then from the announcements' bounded cache: nobody can have any text of theirs spoken."""
    code, raw = request.path_params["centre"], request.path_params["seq"]
    at = now(request)

    def shown(session: Session) -> HallMessageOut | None:
        centre = find_centre(session, code=code)
        if centre is None:
            raise not_found(request, "centre", code)
        return current_message(session, centre=centre, now=at)

    message = await read(request, shown)
    if message is None or raw != str(message.seq):
        raise not_found(request, "hall_message", raw)
    settings = request.app.state.settings
    directory, keep = Path(settings.data_dir) / "audio", settings.announcement_cache_files
    audio = await run_in_threadpool(
        announcements.cached_message, message.ar, message.en, directory=directory, keep=keep
    )
    return Response(audio, media_type="audio/wav", headers={"Cache-Control": "no-store"})


async def display_page(request: Request) -> Response:
    """The hall TV: `?lang=en` for English, `?digits=latin|arabic` for the digits (render), `?mute=1`."""
    code = request.path_params["centre"]
    centre = await read(request, lambda s: find_centre(s, code=code))
    if centre is None:
        return render(request, "not_found.html", {"what": code}, status=404)
    return render(
        request,
        "display.html",
        {
            "centre": centre,
            "muted": request.query_params.get("mute") == "1",
        },
    )


def _ticket_where(session: Session, token: str) -> tuple[Ticket, Centre, Service] | None:
    """The ticket with this token, its centre and its service."""
    ticket = find_ticket(session, token=token)
    if ticket is None:
        return None
    known = organisation(session)
    return ticket, known.centres_by_id[ticket.centre_id], known.services_by_id[ticket.service_id]


async def tracker_page(request: Request) -> Response:
    """Where a ticket's QR code and SMS lead: where to go (centre, address, service), status, place in
    line, estimated wait; running late; no personal data."""
    token = request.path_params["token"]
    found = await read(request, lambda session: _ticket_where(session, token))
    if found is None:
        return render(request, "not_found.html", {"what": ""}, status=404)
    ticket, centre, service = found
    context = {"token": token, "number": ticket.number, "centre": centre, "service": service}
    limits = {"late_places": LATE_PLACES, "comment_max": COMMENT_MAX}
    return render(request, "tracker.html", {**context, **limits})


async def find_page(request: Request) -> Response:
    """Find my ticket: a lost tracker link sent again to the phone that took the ticket (`?centre=`
    chooses the centre, as the centre's own pages link here)."""
    centres = await read(request, lambda session: list(list_centres(session)))
    chosen = request.query_params.get("centre")
    return render(request, "find.html", {"centres": centres, "chosen": chosen})


routes = [
    announcement,
    hall_message_audio,
    Route("/display/{centre}", display_page, methods=["GET"], name="display"),
    Route("/t/{token}", tracker_page, methods=["GET"], name="tracker"),
    Route("/find", find_page, methods=["GET"], name="find"),
]
