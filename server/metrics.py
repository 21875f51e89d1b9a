"""/metrics: this process's Prometheus metrics (config/metrics.py), with the SMS backlog and whether
the bus answers read now.

Open by default, like /healthz, for a Prometheus on the same network; with DOR_METRICS_TOKEN set it
asks for `Authorization: Bearer <token>` (what Prometheus's `authorization` setting sends).
"""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from config.metrics import BUS_UP, REGISTRY, SMS_BACKLOG
from config.web.threads import read
from eventlog.bus import answers
from sms_gateway.outbox import backlog


async def metrics(request: Request) -> Response:
    token = request.app.state.settings.metrics_token
    if token is not None:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, f"Bearer {token.get_secret_value()}".encode()):
            return PlainTextResponse("metrics need the bearer token\n", status_code=401)
    SMS_BACKLOG.set(await read(request, backlog))
    BUS_UP.set(await answers(request.app.state.bus))
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


route = Route("/metrics", metrics, methods=["GET"], include_in_schema=False)
