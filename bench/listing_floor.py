"""A slot listing served from its snapshot, against its floor: a bare Starlette route that answers the
same bytes from a dict. Both are called in this process as ASGI apps, one request at a time, with no
network and no client, so what is left is what the web stack and Dor's listing path cost a request.

    .venv/bin/python bench/listing_floor.py [--requests 5000] [--profile]

Dor runs on a fresh SQLite database (`server.cli migrate`, `seed --demo`); the listing is DAM-01's CR
for a week, as bench/booking_surge.py asks for it. Its snapshot is computed once and never ages here
(the listings' monotonic clock is held still). `--profile` prints Dor's requests' cProfile, by the
time spent in each function itself.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from ticket_engine import ROOT, dor, markdown

PATH = "/api/v1/centres/DAM-01/services/CR/slots"
QUERY = "from=2026-12-14&days=7"
Asgi = Any  # an ASGI application


async def call(app: Asgi) -> bytes:
    """One GET of the listing; its body."""
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": QUERY.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    await app(scope, receive, send)
    if sent[0]["status"] != 200:
        raise SystemExit(f"the listing answered {sent[0]['status']}: {sent[1:]}")
    return bytes(sent[1]["body"])


def floor(answers: dict[tuple[str, ...], bytes]) -> Asgi:
    """The bare route: path and query looked up in a dict."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def listing(request: Request) -> Response:
        p, q = request.path_params, request.query_params
        body = answers[(p["centre"], p["service"], q["from"], q["days"])]
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/api/v1/centres/{centre}/services/{service}/slots", listing)])


async def timed(app: Asgi, requests: int) -> float:
    """Microseconds a request."""
    began = time.perf_counter()
    for _ in range(requests):
        await call(app)
    return 1e6 * (time.perf_counter() - began) / requests


async def run(url: str, requests: int, profile: bool) -> None:
    from config.settings import Settings
    from server.app import create_app

    app = create_app(Settings(database_url=url, dev=True, jobs=False))
    async with app.router.lifespan_context(app):
        app.state.listings.monotonic = lambda: 0.0
        body = await call(app)
        bare = floor({("DAM-01", "CR", "2026-12-14", "7"): body})
        for warm in (app, bare):
            await timed(warm, requests // 10)
        rounds = [(await timed(bare, requests), await timed(app, requests)) for _ in range(3)]
        bare_us = min(r[0] for r in rounds)
        dor_us = min(r[1] for r in rounds)
        print(f"\nA week's listing, {len(body)} bytes; best of 3 rounds of {requests} requests\n")
        rows = [
            ["floor (bare route, bytes from a dict)", f"{bare_us:.0f}", "1.0"],
            ["Dor (its snapshot)", f"{dor_us:.0f}", f"{dor_us / bare_us:.1f}"],
        ]
        print(markdown(["server", "µs a request", "x floor"], rows))
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            await timed(app, requests)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="dor-listing-floor-") as folder:
        url = f"sqlite:///{Path(folder) / 'dor.sqlite3'}"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("DOR_")}}
        env |= {"DOR_DATABASE_URL": url, "DOR_DEV": "1", "DOR_LOG_LEVEL": "WARNING"}
        dor(["migrate"], env)
        dor(["seed", "--demo"], env)
        asyncio.run(run(url, args.requests, args.profile))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
