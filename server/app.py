"""create_app(settings): the whole of Dor as one ASGI application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from config.db import Database
from config.http import ApiError, error_response
from config.pages import make_environment
from config.settings import Settings
from queueing import api as queueing_api
from server import health, home, schema
from server.openapi import build_openapi

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent.parent / "config" / "static"
TEMPLATE_DIRS = [Path(__file__).parent / "templates"]
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}


def create_app(settings: Settings, *, database: Database | None = None) -> Starlette:
    """Builds the application; the database opens here and closes when the lifespan ends."""
    database = database or Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.demo:
            schema.upgrade(database)
        schema.ensure_current(database)
        log.info("Dor is serving on %s", settings.base_url)
        try:
            yield
        finally:
            database.dispose()

    routes: list[BaseRoute] = [
        *queueing_api.routes,
        health.route,
        Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
        Route("/", home.page, methods=["GET"], name="home"),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            ApiError: api_error,
            HTTPException: http_error,
            Exception: server_error,
        },
    )
    app.state.settings = settings
    app.state.database = database
    app.state.templates = make_environment(TEMPLATE_DIRS)
    app.state.openapi = build_openapi(routes, title="Dor", version="1")
    return app


async def openapi(request: Request) -> Response:
    """The OpenAPI document of every declared operation."""
    return JSONResponse(request.app.state.openapi)


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "internal error; it has been logged")
