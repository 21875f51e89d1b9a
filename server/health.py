"""GET /healthz: is this process able to reach its database?"""

from __future__ import annotations

import logging

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from config.http import operation, read

log = logging.getLogger(__name__)


class Health(BaseModel):
    status: str


@operation(
    "GET",
    "/healthz",
    summary="Liveness and database check",
    tag="health",
    responses={200: Health, 503: Health},
)
async def route(request: Request) -> Response | Health:
    """200 when the database answers, 503 otherwise."""
    try:
        # On the threads of the long reads, which a release surge leaves free: behind thousands of
        # queued listings the check would time out and take a busy process out of rotation.
        await read(request, lambda session: session.execute(text("SELECT 1")).scalar_one(), slow=True)
    except SQLAlchemyError as exc:
        log.warning("health check: database unreachable: %s", exc)
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return Health(status="ok")
