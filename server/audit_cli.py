"""`dor audit verify` and `dor audit export-heads`: the tamper-evident event log from a terminal."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config.db import Database
from config.settings import Settings
from server import schema
from supervision.audit import export_heads, read_heads, verify


def heads_file(settings: Settings) -> Path:
    """Where the daily job appends the heads (copy it off the machine: that is its point)."""
    return Path(settings.data_dir) / "audit" / "heads.txt"


def register(commands: Any) -> None:
    """Adds the `audit` subcommands."""
    audit = commands.add_parser("audit", help="the tamper-evident event log").add_subparsers(
        dest="action", required=True
    )
    check = audit.add_parser("verify", help="check every centre's chain; name the first bad entry")
    check.add_argument("--heads", type=Path, help="a heads file exported earlier, kept off the machine")
    export = audit.add_parser("export-heads", help="append each centre's chain head to a file")
    export.add_argument("--to", type=Path, help="the file (default: DOR_DATA_DIR/audit/heads.txt)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    """0 when every chain holds (or there is nothing to check), 1 when one is broken, 2 on bad input."""
    database = Database(settings.database_url)
    try:
        schema.ensure_current(database)
        if args.action == "export-heads":
            path = args.to or heads_file(settings)
            with database.read() as session:
                count = export_heads(session, path=path, now=datetime.now(UTC))
            print(f"exported the heads of {count} logs to {path}")
            return 0
        try:
            heads = read_heads(args.heads) if args.heads else {}
        except (OSError, ValueError) as exc:
            print(f"dor audit verify: {exc}", file=sys.stderr)
            return 2
        with database.read() as session:
            verdicts = verify(session, heads=heads)
    except schema.SchemaOutdated as exc:
        print(f"dor audit {args.action}: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    if not any(v.entries for v in verdicts):
        print("no audit entries yet: nothing to verify")
        return 0
    broken = [v for v in verdicts if v.broken is not None]
    for verdict in verdicts:
        if verdict.broken is None:
            print(f"{verdict.centre}: {verdict.entries:,} entries, chain intact")
        else:
            print(f"{verdict.centre}: BROKEN at entry {verdict.broken.seq}: {verdict.broken.reason}")
    return 1 if broken else 0
