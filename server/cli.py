"""The `dor` command: serve, migrate, seed; staff and device administration (server/admin_cli.py);
the audit chain (server/audit_cli.py); the simulator (server/simulate_cli.py); re-running a published
draw (server/draw_cli.py)."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from starlette.routing import BaseRoute

from config.db import Database
from config.settings import Settings, SettingsError, load_settings
from organisation.seed import SeedError, seed_demo
from server import admin_cli, audit_cli, draw_cli, history_cli, schema, simulate_cli
from server.demo_draw import open_demo_draw
from server.history_cli import HISTORY_WEEKS
from server.home import served_pages

log = logging.getLogger("dor")
# Screens get a few hundred bytes per call over a local network: compressing each frame for each of
# thousands of screens costs more CPU and memory (~40 KiB a connection) than it saves. The sans-I/O
# websockets protocol delivers a call to 4,000 screens faster (docs/performance.md).
WEBSOCKET_OPTIONS: dict[str, Any] = {"ws": "websockets-sansio", "ws_per_message_deflate": False}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = argparse.ArgumentParser(prog="dor", description="Dor: queues and appointments.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the web application")
    commands.add_parser("migrate", help="bring the database schema up to date")
    seed = commands.add_parser("seed", help="load data into the database")
    seed.add_argument(
        "--demo", action="store_true", required=True, help="the demo centres, staff and devices"
    )
    seed.add_argument(
        "--history",
        type=history_cli.weeks,
        nargs="?",
        const=HISTORY_WEEKS,
        metavar="WEEKS",
        help=f"and this many weeks of past days (default {HISTORY_WEEKS}) at every centre whose log is "
        "empty, played through the real engine: tickets, calls, services, no-shows, feedback",
    )
    seed.add_argument(
        "--draw",
        action="store_true",
        help="and a demo draw for passports, open for applications a minute later (once)",
    )
    admin_cli.register(commands)
    audit_cli.register(commands)
    simulate_cli.register(commands)
    draw_cli.register(commands)
    args = parser.parse_args(argv)
    if args.command == "simulate":  # runs on a throwaway database: the settings play no part
        return simulate_cli.run(args)
    if args.command == "draw":  # reads a published record: no database, no settings
        return draw_cli.run(args)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"dor: bad setting: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # APScheduler logs every run of every job; Dor's jobs log what they did themselves.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if args.command == "seed":
        return seed_command(settings, history_weeks=args.history, draw=args.draw)
    handlers = {"serve": serve, "migrate": migrate}
    if args.command in handlers:
        return handlers[args.command](settings)
    if args.command == "audit":
        return audit_cli.run(settings, args)
    return admin_cli.run(settings, args)


def migrate(settings: Settings) -> int:
    """Applies pending migrations."""
    database = Database(settings.database_url)
    _ensure_sqlite_folder(database)
    schema.upgrade(database)
    print(f"database is at revision {schema.current_revision(database)}")
    database.dispose()
    return 0


def seed_command(settings: Settings, *, history_weeks: int | None = None, draw: bool = False) -> int:
    """Loads the demo organisation (idempotent), its past when asked (once per centre), and a demo draw
    when asked (once)."""
    database = Database(settings.database_url)
    try:
        schema.ensure_current(database)
        with database.write() as session:
            seed_demo(session, now=datetime.now(UTC))
        print("demo data loaded", flush=True)
        if history_weeks:
            history_cli.run(database, weeks=history_weeks)
        if draw:
            print(open_demo_draw(database, settings, now=datetime.now(UTC)), flush=True)
    except (schema.SchemaOutdated, SeedError) as exc:
        print(f"dor seed: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    return 0


# The collector's thresholds while serving: the young generations as Python's defaults, the oldest
# collected after 1,000 collections of the middle one, not 10. A full collection walks every live
# object, and a process holding 10,000 websockets holds about two million: each stops the loop for
# about a second. With the defaults one came every 20 s while calls fanned out to 20,000 subscribers
# (a call's last delivery p99 1.26 s); with these, about every 10 minutes. Cycles that outlive the
# young generations wait longer to be freed (docs/performance.md has both measured).
GC_THRESHOLDS = (700, 10, 1_000)


def serve(settings: Settings) -> int:
    """Runs the server until interrupted."""
    import uvicorn

    from server.app import create_app

    database = Database(settings.database_url)
    _ensure_sqlite_folder(database)
    if not settings.demo:
        try:
            schema.ensure_current(database)
        except schema.SchemaOutdated as exc:
            print(f"dor serve: {exc}", file=sys.stderr)
            return 1
    app = create_app(settings, database=database)
    if settings.demo:
        print(welcome(settings, app.routes), flush=True)
    # What start-up built (modules, routes, models, the ORM's mappings) lives as long as the process.
    # Frozen, the collector no longer walks it: at a booking release its full collections walked it
    # several times in the first seconds, ~150 ms each, while every request waited (docs/performance.md).
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        # After a restart thousands of screens and phones connect within seconds: a longer queue of
        # connections waiting to be accepted (the kernel caps it at net.core.somaxconn) spares them
        # the SYN retries, a second and more each, of a full one.
        backlog=4096,
        **WEBSOCKET_OPTIONS,
    )
    return 0


def welcome(settings: Settings, routes: Sequence[BaseRoute]) -> str:
    """What `make run` prints: where to point a browser, and the demo credentials."""
    base = settings.base_url
    links = [("Home", f"{base}/")]
    for title, path in served_pages(routes):
        # The demo kiosk signs in with its demo token on the first visit.
        token = "?token=demo-kiosk-DAM-01" if path.startswith("/kiosk/") else ""
        links.append((title, f"{base}{path.format(centre='DAM-01')}{token}"))
    links += [
        ("API document", f"{base}/openapi.json"),
        ("SMS (demo)", f"{base}/demo/sms   (no SMS leaves this machine; codes show here)"),
    ]
    width = max(len(title) for title, _ in links) + 2
    lines = ["", "Dor is running (demo mode). Point a browser at:"]
    lines += [f"  {title:<{width}}{url}" for title, url in links]
    lines += [
        "Demo credentials:",
        f"  {'Staff:':<{width}}admin, supervisor1, supervisor2, agent1 … agent13 — password: demo",
        f"  {'Kiosk tokens:':<{width}}demo-kiosk-<centre>, e.g. demo-kiosk-DAM-01",
        "",
    ]
    return "\n".join(lines)


def _ensure_sqlite_folder(database: Database) -> None:
    if database.is_sqlite and database.url.database:
        from pathlib import Path

        Path(database.url.database).parent.mkdir(parents=True, exist_ok=True)


if __name__ == "__main__":
    raise SystemExit(main())
