"""create_app(settings): the whole of Dor as one ASGI application."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
from sqlalchemy.exc import DataError, OperationalError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from booking.listings import Listings
from booking.web import appointments, brokers, checkin, draw_admin, draw_pages, draws
from booking.web import pages as booking_pages
from config.clock import Clock, system_clock
from config.db import Database
from config.errors import Refused
from config.settings import Settings
from config.web.errors import ApiError, error_response, localise, refusal
from config.web.pages import make_environment
from display.hall import Snapshots
from display.hub import Hub
from display.trackers import TrackerViews
from display.web import pages as display_pages
from display.web import sockets
from display.web.sockets import Guard
from eventlog.bus import Publisher, bus_from_url
from eventlog.log import publishing
from identity.web import otp
from node.running import start_link
from node.web import central as node_central
from organisation.web import admin, catalogue, services, sign_in
from organisation.web import pages as organisation_pages
from queueing.web import counters, paper, remote_pages, tickets
from queueing.web import pages as queueing_pages
from queueing.web.context import build_policy
from scheduling.web import balance, recommendations
from server import health, home, metrics, schema
from server.jobs import balance_rules, start_jobs
from server.openapi import build_openapi
from sms_gateway.backends import backend_from_url
from sms_gateway.web import routes as sms_routes
from supervision.web import (
    audit,
    booking_settings,
    closures,
    controls,
    counter_controls,
    hall_messages,
    opening_hours,
    reports,
    transparency,
    wallboard,
)

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
# Each package's web part keeps its own templates and static files (served at /static/<package>/).
PACKAGES_WITH_PAGES = ("organisation", "queueing", "display", "booking", "supervision")
TEMPLATE_DIRS = [
    Path(__file__).parent / "templates",
    *(ROOT / name / "web" / "templates" for name in (*PACKAGES_WITH_PAGES, "sms_gateway")),
]
PACKAGE_STATIC = {name: ROOT / name / "web" / "static" for name in PACKAGES_WITH_PAGES}
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}


def create_app(
    settings: Settings,
    *,
    database: Database | None = None,
    clock: Clock = system_clock,
    central: httpx2.AsyncBaseTransport | None = None,
) -> Starlette:
    """Builds the application; the database and bus open here and close when the lifespan ends.
    A centre node reaches the central through `central` (tests), or else over the network."""
    database = database or Database(settings.database_url)
    bus = bus_from_url(settings.bus_url, timeout_s=settings.bus_timeout_s)
    publisher = Publisher(bus, queue_size=settings.bus_queue_size)
    hub = Hub(
        database=database,
        bus=bus,
        poll_s=settings.feed_poll_s,
        poll_when_bus_down_s=settings.feed_poll_when_bus_down_s,
    )

    sms = backend_from_url(settings.sms_url, sender=settings.sms_sender)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.demo:
            schema.upgrade(database)
        schema.ensure_current(database)
        # Every commit of this database in this process, a request's or a job's, rings the bus.
        stop_publishing = database.after_every_commit(publishing(publisher, asyncio.get_running_loop()))
        scheduler = (
            start_jobs(settings=settings, database=database, sms=sms, clock=clock) if settings.jobs else None
        )
        link = (
            await start_link(settings, database, clock, transport=central)
            if settings.role == "node"
            else None
        )
        app.state.node_link = link  # a centre node's link to the central (None elsewhere)
        log.info("Dor is serving on %s", settings.base_url)
        try:
            yield
        finally:
            if link is not None:
                await link.stop()
            if scheduler is not None:
                scheduler.shutdown(wait=True)
            stop_publishing()
            sms.close()
            await hub.close()
            await publisher.close()
            await bus.close()
            database.dispose()

    routes: list[BaseRoute] = [
        *catalogue.routes,
        *recommendations.routes,
        *tickets.routes,
        *paper.routes,
        *counters.routes,
        *sign_in.routes,
        *admin.routes,
        *services.routes,
        *balance.routes,
        *wallboard.routes,
        *audit.routes,
        *controls.routes,
        *closures.routes,
        *booking_settings.routes,
        *opening_hours.routes,
        *counter_controls.routes,
        *hall_messages.routes,
        *sockets.routes,
        *node_central.routes,
        *display_pages.routes,
        *checkin.routes,
        *appointments.routes,
        *transparency.routes,
        *reports.routes,
        *brokers.routes,
        *draws.routes,
        *draw_admin.routes,
        *otp.routes,
        *sms_routes.routes,
        health.route,
        metrics.route,
        Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
        *organisation_pages.routes,
        *queueing_pages.routes,
        *remote_pages.routes,
        *booking_pages.routes,
        *draw_pages.routes,
        Route("/", home.page, methods=["GET"], name="home"),
        *(Mount(f"/static/{name}", StaticFiles(directory=path)) for name, path in PACKAGE_STATIC.items()),
        Mount("/static", StaticFiles(directory=ROOT / "config" / "web" / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            ApiError: api_error,
            Refused: refused,
            OperationalError: database_busy,
            DataError: database_refused_value,
            HTTPException: http_error,
            Exception: server_error,
        },
    )
    app.state.settings = settings
    app.state.database = database
    app.state.bus = bus
    app.state.publisher = publisher
    app.state.sms = sms
    app.state.hub = hub
    app.state.listings = Listings()
    database.after_every_commit(app.state.listings.committed)
    app.state.socket_guard = Guard()
    app.state.clock = clock
    app.state.policy = build_policy(settings.priority_head_start_s, settings.max_wait_s)
    # What websockets send on connecting, read once for all who connect together (display/batched.py).
    app.state.snapshots = Snapshots(hub.read, clock=clock, always_open=settings.always_open)
    app.state.tracker_views = TrackerViews(
        hub.read, policy=app.state.policy, base_url=settings.base_url, clock=clock
    )
    app.state.balance_rules = balance_rules(settings)
    app.state.templates = make_environment(TEMPLATE_DIRS)
    return app


async def openapi(request: Request) -> Response:
    """The OpenAPI document of every declared operation."""
    state = request.app.state
    # Built on the first request rather than in create_app: it takes about 0.2 s, most of an app's start.
    document = getattr(state, "openapi", None)
    if document is None:
        document = state.openapi = build_openapi(request.app.routes, title="Dor", version="1")
    return JSONResponse(document)


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, localise(request, exc), exc.headers, field=exc.field)


async def refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    error = refusal(exc)
    return error_response(
        error.status, error.code, localise(request, error), error.headers, field=error.field
    )


async def database_busy(request: Request, exc: Exception) -> Response:
    """SQLite's write lock stayed busy past its timeout (or the database is briefly unreachable):
    nothing was done, and the client may simply try again."""
    log.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
    return error_response(
        503, "busy", "the server is busy; nothing was changed, try again", {"Retry-After": "1"}
    )


async def database_refused_value(request: Request, exc: Exception) -> Response:
    """A value the database cannot store (a NUL character in a text, a number out of range): the
    request is bad, not the server, and nothing was changed."""
    log.info("value refused by the database on %s %s: %s", request.method, request.url.path, exc)
    return error_response(
        422, "invalid_input", "the request contains a value that cannot be stored (e.g. a NUL character)"
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "internal error; it has been logged")
