"""A ticket on paper: the QR code of its tracker, the ticket as an image for the browser's print,
and the job for the kiosk's thermal printer (ESC/POS), all saying the same (queueing/printing.py)."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from config.i18n import N_
from config.web.context import now
from config.web.endpoints import operation
from config.web.errors import ApiError, not_found
from config.web.qr import qr_svg_response
from config.web.threads import read
from organisation.models import DeviceKind
from organisation.snapshot import organisation
from organisation.web.credentials import credentials, require_device
from queueing.models import Ticket
from queueing.printing import PaperTicket, PrinterError, render_escpos, render_png, send
from queueing.service import ticket_view
from queueing.tickets import find_ticket, tracking_url
from queueing.web.context import policy_config

log = logging.getLogger(__name__)


@operation(
    "GET",
    "/api/v1/tickets/{token}/qr.svg",
    summary="QR code of the tracking URL",
    tag="tickets",
    responses={200: None},
)
async def qr(request: Request) -> Response:
    """An SVG QR code that leads to the ticket's tracker page."""
    token = request.path_params["token"]
    base_url = request.app.state.settings.base_url
    found = await read(request, lambda session: find_ticket(session, token=token) is not None)
    if not found:
        raise not_found(request, "ticket", "…")
    return qr_svg_response(tracking_url(base_url, token))


def paper_ticket(session: Session, ticket: Ticket, *, request: Request) -> PaperTicket:
    """What the printed ticket says, in the centre's local time."""
    settings, policy, at = request.app.state.settings, policy_config(request), now(request)
    known = organisation(session)
    centre, service = known.centres_by_id[ticket.centre_id], known.services_by_id[ticket.service_id]
    view = ticket_view(session, ticket, centre=centre, policy=policy, base_url=settings.base_url, now=at)
    return PaperTicket(
        centre_ar=centre.name_ar,
        centre_en=centre.name_en,
        service_ar=service.name_ar,
        service_en=service.name_en,
        number=ticket.number,
        ahead=view.ahead,
        wait_minutes=None if view.estimated_wait_s is None else max(1, round(view.estimated_wait_s / 60)),
        issued=ticket.issued_at.astimezone(ZoneInfo(centre.timezone)),
        language=ticket.language,
        tracking_url=view.tracking_url,
    )


@operation(
    "GET",
    "/api/v1/tickets/{token}/ticket.png",
    summary="The paper ticket as an image (to look at, or to print from a browser)",
    tag="tickets",
    responses={200: None},
)
async def ticket_png(request: Request) -> Response:
    """The same layout as the thermal print: numbers and names only."""
    token = request.path_params["token"]

    def work(session: Session) -> PaperTicket | None:
        ticket = find_ticket(session, token=token)
        return None if ticket is None else paper_ticket(session, ticket, request=request)

    paper = await read(request, work)
    if paper is None:
        raise not_found(request, "ticket", "…")
    png = await run_in_threadpool(render_png, paper)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


class Printed(BaseModel):
    printer: str
    bytes: int


@operation(
    "POST",
    "/api/v1/tickets/{token}/print",
    summary="Print the ticket on the kiosk's thermal printer (ESC/POS)",
    tag="tickets",
    responses={202: Printed},
    errors=(401, 403, 409, 503),
    security=("device",),
)
async def print_ticket(request: Request) -> Response:
    """Sends the job to the printer configured for the calling kiosk; 409 when it has none."""
    token, creds = request.path_params["token"], credentials(request)

    def work(session: Session) -> tuple[str | None, PaperTicket]:
        ticket = find_ticket(session, token=token)
        if ticket is None:
            raise not_found(request, "ticket", "…")
        device = require_device(session, creds, kind=DeviceKind.KIOSK, centre_id=ticket.centre_id)
        return device.printer_url, paper_ticket(session, ticket, request=request)

    printer_url, paper = await read(request, work)
    if not printer_url:
        raise ApiError(409, "no_printer", N_("this kiosk has no printer configured; print from the browser"))
    job = await run_in_threadpool(render_escpos, paper)
    try:
        await run_in_threadpool(send, printer_url, job)
    except PrinterError as exc:
        log.warning("%s", exc)
        raise ApiError(
            503, "printer_unavailable", N_("the printer did not answer; print from the browser")
        ) from None
    return JSONResponse(Printed(printer=printer_url, bytes=len(job)).model_dump(), status_code=202)


routes = [qr, ticket_png, print_ticket]
