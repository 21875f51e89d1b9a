"""SMS routes: delivery reports from the providers, and in demo mode a page of the messages sent."""

from __future__ import annotations

import hmac
from typing import Literal

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from config.schemas import Strict
from config.web.endpoints import operation, path_number
from config.web.errors import ApiError
from config.web.pages import render
from config.web.threads import read, write
from sms_gateway.models import SmsMessage
from sms_gateway.outbox import REPORT_PATH, apply_report, report_signature

# Kannel's DLR types: 1 delivered to the phone, 2 not delivered, 16 rejected by the SMSC; the others
# (4 buffered, 8 accepted by the SMSC) are progress, not an outcome.
KANNEL_OUTCOMES = {1: True, 2: False, 16: False}
RECENT_ON_PAGE = 50


class KannelReportQuery(Strict):
    sig: str = Field(min_length=1, max_length=64)
    kannel: int = Field(ge=0, le=255, description="Kannel's DLR type (%d in dlr-url)")


class ReportQuery(Strict):
    sig: str = Field(min_length=1, max_length=64)


class ReportIn(Strict):
    status: Literal["delivered", "failed"]
    detail: str = Field(default="", max_length=500)


class ReportOut(BaseModel):
    status: str = Field(description="the message's status after the report")


async def _record(request: Request, sig: str, outcome: bool | None, detail: str) -> ReportOut:
    message_id = path_number(request.path_params["message"])
    secret: bytes = request.app.state.settings.secret
    # Compared as bytes: compare_digest refuses str with non-ASCII characters.
    expected = report_signature(secret, message_id).encode() if message_id is not None else b""
    if message_id is None or not hmac.compare_digest(sig.encode(), expected):
        raise ApiError(403, "bad_signature", "this delivery report is not signed for this message")
    at = request.app.state.clock()

    def work(session: Session) -> str:
        message = session.get(SmsMessage, message_id)
        if message is None:
            raise ApiError(404, "not_found", f"Unknown message: {message_id}")
        if outcome is not None:
            apply_report(session, message_id=message_id, delivered=outcome, detail=detail, now=at)
        return message.status

    return ReportOut(status=await write(request, work))


@operation(
    "GET",
    f"{REPORT_PATH}/{{message}}",
    summary="Kannel delivery report (the dlr-url Dor gives smsbox)",
    tag="sms",
    query=KannelReportQuery,
    responses={200: ReportOut},
    errors=(403, 404),
)
async def kannel_report(request: Request, query: KannelReportQuery) -> ReportOut:
    """Marks the message delivered or failed; progress reports change nothing."""
    outcome = KANNEL_OUTCOMES.get(query.kannel)
    return await _record(request, query.sig, outcome, f"kannel DLR type {query.kannel}")


@operation(
    "POST",
    f"{REPORT_PATH}/{{message}}",
    summary="Delivery report from an HTTP provider",
    tag="sms",
    query=ReportQuery,
    body=ReportIn,
    responses={200: ReportOut},
    errors=(403, 404),
)
async def http_report(request: Request, query: ReportQuery, body: ReportIn) -> ReportOut:
    """Marks the message delivered or failed."""
    return await _record(request, query.sig, body.status == "delivered", body.detail)


async def outbox_page(request: Request) -> Response:
    """Demo and development only: the latest messages, as the console backend 'sent' them."""
    settings = request.app.state.settings
    if not (settings.demo or settings.dev):
        return render(request, "not_found.html", status=404)

    def work(session: Session) -> list[SmsMessage]:
        query = select(SmsMessage).order_by(col(SmsMessage.id).desc()).limit(RECENT_ON_PAGE)
        return list(session.exec(query).all())

    return render(request, "sms_outbox.html", {"messages": await read(request, work)})


routes = [kannel_report, http_report, Route("/demo/sms", outbox_page, methods=["GET"])]
