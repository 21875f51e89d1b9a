"""Supervisors' report routes: services, agents, exceptions, feedback and SMS usage; JSON, CSV or SVG."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from pydantic import BaseModel
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from config.schemas import UsageQuery
from config.sql import id_of
from config.web.context import now
from config.web.endpoints import operation
from config.web.pages import page_language
from organisation.models import Centre
from organisation.web.managers import centre_report
from sms_gateway.usage import daily_usage
from supervision.exceptions import AgentExceptionsOut, exceptions
from supervision.feedback import FeedbackQuery, FeedbackReportOut, feedback_report
from supervision.reports import AgentQuery, AgentRowOut, ReportQuery, ServiceRowOut, agent_rows, service_rows
from supervision.schemas import DayUsageOut
from supervision.web.report_charts import agents_chart, services_chart


@operation(
    "GET",
    "/api/v1/centres/{centre}/sms/usage",
    summary="SMS sent for a centre per local day: messages and segments (the cost)",
    tag="administration",
    query=UsageQuery,
    responses={200: list[DayUsageOut]},
    errors=(401, 403),
    security=("session",),
)
async def sms_usage(request: Request, query: UsageQuery) -> list[DayUsageOut]:
    """Supervisors of the centre and admins; at most a year at a time."""

    def usage(session: Session, centre: Centre) -> list[DayUsageOut]:
        days = daily_usage(
            session, centre_id=id_of(centre), first=query.from_, last=query.to, timezone=centre.timezone
        )
        return [DayUsageOut(**vars(day)) for day in days]

    return await centre_report(request, query, usage)


@operation(
    "GET",
    "/api/v1/centres/{centre}/reports/exceptions",
    summary="Per agent: out-of-order calls, transfers, no-shows and overrides, from the event log",
    tag="reports",
    query=UsageQuery,
    responses={200: list[AgentExceptionsOut]},
    errors=(401, 403),
    security=("session",),
)
async def exceptions_route(request: Request, query: UsageQuery) -> list[AgentExceptionsOut]:
    """Supervisors of the centre and admins; the centre's local days, at most a year at a time."""
    return await centre_report(
        request,
        query,
        lambda session, centre: exceptions(
            session, centre_id=id_of(centre), first=query.from_, last=query.to, timezone=centre.timezone
        ),
    )


def as_csv(rows: Sequence[BaseModel], *, name: str, header: Sequence[str] = ()) -> Response:
    """The rows as a CSV download (UTF-8 with a byte-order mark, so spreadsheets read Arabic); `header`
    heads a file with no row."""
    out = io.StringIO()
    writer: csv.DictWriter[str] | None = None
    if not rows and header:
        csv.writer(out).writerow(header)
    for row in rows:
        flat = {
            k: (";".join(f"{a}={b}" for a, b in v.items()) if isinstance(v, dict) else v)
            for k, v in row.model_dump(mode="json").items()
        }
        if writer is None:
            writer = csv.DictWriter(out, fieldnames=list(flat))
            writer.writeheader()
        writer.writerow(flat)
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@operation(
    "GET",
    "/api/v1/centres/{centre}/reports/services",
    summary="Per day or week and service: issued, served, no-shows, waits, service times, show rate",
    tag="reports",
    query=ReportQuery,
    responses={200: list[ServiceRowOut]},
    errors=(401, 403),
    security=("session",),
)
async def services_report(request: Request, query: ReportQuery) -> list[ServiceRowOut] | Response:
    """Supervisors of the centre and admins; at most a year; `format=csv` for a spreadsheet, `svg` for
    a chart of the served and the waits."""
    target_s = request.app.state.settings.wait_target_s

    def rows(session: Session, centre: Centre) -> list[ServiceRowOut]:
        return service_rows(
            session, centre=centre, first=query.from_, last=query.to, period=query.period, target_s=target_s
        )

    result = await centre_report(request, query, rows)
    if query.format == "svg":
        return services_chart(result, target_s=target_s, language=page_language(request))
    name = f"{request.path_params['centre']}-services-{query.from_}-{query.to}"
    return as_csv(result, name=name) if query.format == "csv" else result


@operation(
    "GET",
    "/api/v1/centres/{centre}/reports/agents",
    summary="Per agent: served, mean service time, open, idle and pause time by reason",
    tag="reports",
    query=AgentQuery,
    responses={200: list[AgentRowOut]},
    errors=(401, 403),
    security=("session",),
)
async def agents_report(request: Request, query: AgentQuery) -> list[AgentRowOut] | Response:
    """Supervisors of the centre and admins; at most a year; `format=csv` for a spreadsheet, `svg` for
    a chart of each agent's hours."""
    at = now(request)

    def rows(session: Session, centre: Centre) -> list[AgentRowOut]:
        return agent_rows(session, centre=centre, first=query.from_, last=query.to, until=at)

    result = await centre_report(request, query, rows)
    if query.format == "svg":
        return agents_chart(result, language=page_language(request))
    name = f"{request.path_params['centre']}-agents-{query.from_}-{query.to}"
    return as_csv(result, name=name) if query.format == "csv" else result


@operation(
    "GET",
    "/api/v1/centres/{centre}/reports/feedback",
    summary="What citizens said after service: answers and mean rating per service, counter and agent",
    tag="reports",
    query=FeedbackQuery,
    responses={200: FeedbackReportOut},
    errors=(401, 403),
    security=("session",),
)
async def feedback_route(request: Request, query: FeedbackQuery) -> FeedbackReportOut | Response:
    """Supervisors of the centre and admins; at most a year; the latest comments too; `format=csv`
    for the figures as a spreadsheet (one row per service, counter and agent)."""
    result = await centre_report(
        request,
        query,
        lambda session, centre: feedback_report(session, centre=centre, first=query.from_, last=query.to),
    )
    name = f"{request.path_params['centre']}-feedback-{query.from_}-{query.to}"
    return as_csv(result.rows, name=name) if query.format == "csv" else result


routes = [services_report, agents_report, exceptions_route, feedback_route, sms_usage]
