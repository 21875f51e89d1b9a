"""GET /healthz: is this process able to reach its database, and its bus?"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from config.web.endpoints import operation
from config.web.threads import read
from eventlog.bus import answers

log = logging.getLogger(__name__)


class Health(BaseModel):
    """`status` is ok; degraded (still 200: requests are served, screens follow the database slower);
    or unavailable (503). The parts appear when one of them is not ok."""

    status: str
    database: Literal["ok", "unreachable"] | None = None
    bus: Literal["ok", "unreachable"] | None = None


@operation(
    "GET",
    "/healthz",
    summary="Liveness, database and bus check",
    tag="health",
    responses={200: Health, 503: Health},
)
async def route(request: Request) -> Response:
    """200 when the database answers (degraded if the bus does not), 503 otherwise."""
    database_ok, bus_ok = await asyncio.gather(_database_answers(request), answers(request.app.state.bus))
    if not database_ok:
        return _answer(Health(status="unavailable"), 503)
    if not bus_ok:
        # 200 all the same, so that a load balancer keeps the process: every request is still served.
        return _answer(Health(status="degraded", database="ok", bus="unreachable"))
    return _answer(Health(status="ok"))


def _answer(health: Health, status_code: int = 200) -> Response:
    return JSONResponse(health.model_dump(exclude_none=True), status_code=status_code)


async def _database_answers(request: Request) -> bool:
    try:
        # On the threads of the long reads, which a release surge leaves free: behind thousands of
        # queued listings the check would time out and take a busy process out of rotation.
        await read(request, lambda session: session.execute(text("SELECT 1")).scalar_one(), slow=True)
    except SQLAlchemyError as exc:
        log.warning("health check: database unreachable: %s", exc)
        return False
    return True
