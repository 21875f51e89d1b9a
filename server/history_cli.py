"""`dor seed --demo --history [WEEKS]`: the demo centres' past weeks (scheduling/simulation/history.py),
with a line per day while it runs and one per centre at the end."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event

from config.db import Database
from scheduling.simulation.history import seed_history

HISTORY_WEEKS = 3
MAX_WEEKS = 52


def weeks(value: str) -> int:
    """`--history`'s value: a whole number of weeks, 1 to MAX_WEEKS."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_WEEKS:
        raise argparse.ArgumentTypeError(f"give a number of weeks from 1 to {MAX_WEEKS}, not {value!r}")
    return number


def run(database: Database, *, weeks: int) -> None:
    """Seeds the history and says what it wrote, or why it wrote nothing, at each centre."""
    if database.is_sqlite:

        @event.listens_for(database.engine, "connect")
        def _no_fsync(dbapi_connection: Any, _record: Any) -> None:
            # Runs after Database's own hook, for this command's connections only. Thousands of short
            # transactions, each fsynced, would double the time; a seed cut short by a power cut is
            # begun again from an empty database.
            dbapi_connection.execute("PRAGMA synchronous=OFF")

        database.engine.dispose()  # the connections the organisation's seed opened, fsyncing

    # Each of the past days' SMS would say so in the log.
    logging.getLogger("sms_gateway.outbox").setLevel(logging.WARNING)
    span = "the last week" if weeks == 1 else f"the last {weeks} weeks"
    print(f"demo history: {span} at each centre whose log is empty", flush=True)
    written = seed_history(database, weeks=weeks, now=datetime.now(UTC), progress=_progress)
    _progress("")
    for centre in written:
        if centre.skipped:
            print(f"  {centre.code}: nothing written: {centre.skipped}")
        else:
            print(
                f"  {centre.code}: {centre.days} open days, {centre.tickets} tickets, "
                f"{centre.served} served, {centre.no_shows} no-shows, {centre.ratings} ratings "
                f"({centre.seconds:.1f} s)"
            )


def _progress(day: str) -> None:
    """Redraws one line on a terminal (nothing elsewhere: `make run`'s log keeps the summary only)."""
    if sys.stderr.isatty():
        print(f"\r  {day:<40}", end="" if day else "\r", file=sys.stderr, flush=True)
