"""`dor draw verify SOURCE`: re-runs a published draw from its record (a URL or a file) and says
whether it is the draw its committed seed and its list of applications give. Needs no database and no
settings: anyone can run it on a copy of the record."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

from booking.lottery import parse_record, verify

MAX_SHOWN = 20  # problems printed; the count says how many in all


def register(commands: Any) -> None:
    """Adds the `draw` subcommands."""
    draw = commands.add_parser("draw", help="draws for scarce places").add_subparsers(
        dest="action", required=True
    )
    check = draw.add_parser("verify", help="re-run a published draw from its record and compare")
    check.add_argument("source", help="the record's URL (…/api/v1/draws/CODE/record) or a file holding it")


def _read(source: str) -> Any:
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=60) as response:  # noqa: S310 (http or https only)
            return json.load(response)
    return json.loads(Path(source).read_text(encoding="utf-8"))


def run(args: argparse.Namespace) -> int:
    """0 when the draw checks out, 1 when it does not, 2 when the record cannot be read."""
    try:
        data = _read(args.source)
        record = parse_record(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"dor draw verify: cannot read a draw's record from {args.source}: {exc!r}", file=sys.stderr)
        return 2
    problems = verify(record)
    name = data.get("draw", "?")
    if problems:
        print(f"draw {name}: DOES NOT CHECK OUT ({len(problems):,} problems)")
        for problem in problems[:MAX_SHOWN]:
            print(f"  {problem}")
        return 1
    won = sum(1 for o in record.outcomes if o.waiting is None)
    excluded = len(data.get("excluded", []))
    print(
        f"draw {name}: verified. The seed matches the commitment {record.commitment}; re-run over "
        f"{len(record.applications):,} applications it gives the published results: {won:,} places won, "
        f"{len(record.outcomes) - won:,} on the waiting list ({excluded:,} excluded before the draw, listed"
        " with why)."
    )
    return 0
