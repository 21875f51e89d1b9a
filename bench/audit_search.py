"""The audit screen's searches on a year of a busy centre, without and with the indexes by staff member
and by kind, and what those indexes cost each append.

    .venv/bin/python bench/audit_search.py [--per-day 2500] [--days 365] [--appends 2000]

On a fresh PostgreSQL database (created and dropped), migrated to head and demo-seeded, it writes
`--per-day` x `--days` events into each of the 4 demo centres' logs (912,500 each, 3.65 million in
all by default) straight in SQL: mostly issued/called/started/finished by 12 agents, a few
`staff:supervisor1` entries (one in 50,000), `counter_paused` one in 1,000, `day_closed` one in
100,000, nothing by `staff:supervisor2` and no `hours_changed`. Then, at DAM-01, with
`ix_event_centre_actor_seq` and `ix_event_centre_type_seq` dropped (before) and created again
(after), the same run:

- each search as the audit screen makes it (`supervision.audit_log.search`, its first page of 100):
  the median of 5 after one unmeasured, and the indexes PostgreSQL's plan reads (EXPLAIN ANALYZE of
  the statement the search sent);
- `--appends` events appended one at a time through `eventlog.log.append_event`, a commit each (as a
  request does), in `--rounds` rounds without and with the indexes in turn: the mean time per
  append of each round, and the median round.

The day search (a day half a year back, served by `ix_event_centre_at`) is the baseline: the new
indexes do not change it.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, text  # noqa: E402
from sqlmodel import Session, select  # noqa: E402
from ticket_engine import database, markdown  # noqa: E402

from config.db import Database  # noqa: E402
from eventlog.log import append_event  # noqa: E402
from organisation.models import Centre  # noqa: E402
from organisation.seed import seed_demo  # noqa: E402
from server import schema  # noqa: E402
from supervision.audit_log import Kind, search  # noqa: E402

CENTRE = "DAM-01"
INDEXES = {
    "ix_event_centre_actor_seq": "(centre_id, actor, seq)",
    "ix_event_centre_type_seq": "(centre_id, type, seq)",
}
RUNS = 5

# One centre's year, in SQL: g numbers the centre's entries from 1; every choice is a function of g.
GENERATE = """
INSERT INTO event (centre_id, seq, type, ticket_id, counter_id, actor, at, data, hash)
SELECT :centre_id, g,
       CASE WHEN g % 100000 = 0 THEN 'day_closed'
            WHEN g % 1000 = 0 THEN 'counter_paused'
            ELSE (ARRAY['issued', 'called', 'started', 'finished'])[1 + g % 4] END,
       NULL, NULL,
       CASE WHEN g % 50000 = 0 THEN 'staff:supervisor1'
            WHEN g % 4 = 0 THEN 'device:1'
            ELSE 'staff:agent' || (1 + g % 12) END,
       :start + (g - 1) * make_interval(secs => :step), '{}', ''
FROM generate_series(1, :count) AS g
"""


def generate(db: Database, *, per_day: int, days: int, now: datetime) -> int:
    """Writes the year into every centre's log and moves each log's serial to its last entry."""
    count = per_day * days
    start = now - timedelta(days=days)
    with db.engine.begin() as connection:
        centres = connection.exec_driver_sql("SELECT id FROM centre ORDER BY id").scalars().all()
        for centre_id in centres:
            connection.execute(
                text(GENERATE),
                {"centre_id": centre_id, "start": start, "step": 86400 / per_day, "count": count},
            )
            connection.execute(
                text("INSERT INTO serial (name, last) VALUES (:name, :last)"),
                {"name": f"events:{centre_id}", "last": count},
            )
        connection.exec_driver_sql("ANALYZE event")
    return count * len(centres)


class LastStatement:
    """The last statement the engine sent, with its parameters, to EXPLAIN it again."""

    def __init__(self, db: Database) -> None:
        self.sql = ""
        self.params: Any = None
        event.listen(db.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, _many: bool) -> None:
        if not sql.startswith("EXPLAIN"):
            self.sql, self.params = sql, params


def explain(db: Database, last: LastStatement) -> tuple[float, str]:
    """The last statement's execution time in PostgreSQL (ms, EXPLAIN ANALYZE) and the event
    table's indexes (or its sequential scan) that its plan reads."""
    with db.engine.connect() as connection:
        plan = connection.exec_driver_sql(f"EXPLAIN ANALYZE {last.sql}", last.params).scalars().all()
    found: list[str] = []
    executed = 0.0
    for line in plan:
        for match in re.finditer(
            r"(Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan)( Backward)? (?:using|on) (\w+)", line
        ):
            if match.group(1) == "Seq Scan" and match.group(3) == "event":
                found.append("seq scan")
            elif match.group(3).startswith(("ix_event", "event_")):
                found.append(f"{match.group(3)}{' backward' if match.group(2) else ''}")
        if line.startswith("Execution Time:"):
            executed = float(line.split()[2])
        if os.environ.get("AUDIT_BENCH_PLANS"):
            print(line)
    return executed, ", ".join(dict.fromkeys(found)) or "-"


def measure(
    db: Database, last: LastStatement, run: Callable[[Session], int]
) -> tuple[float, int, float, str]:
    """Median milliseconds of `run` over RUNS (after one unmeasured), its rows, and its statement's
    execution time and indexes in PostgreSQL's plan."""
    times = []
    rows = 0
    for i in range(RUNS + 1):
        with Session(db.engine) as session:
            began = time.perf_counter()
            rows = run(session)
            if i:
                times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), rows, *explain(db, last)


def searches(centre: Centre, half_year_back: date) -> list[tuple[str, Callable[[Session], int]]]:
    def page(**filters: Any) -> Callable[[Session], int]:
        return lambda session: len(search(session, centre=centre, **filters).entries)

    return [
        (f"day {half_year_back} (baseline)", page(day=half_year_back)),
        ("newest page, no filter", page()),
        ("staff agent3 (frequent)", page(actor="staff:agent3")),
        ("staff supervisor1 (rare)", page(actor="staff:supervisor1")),
        ("staff supervisor2 (none)", page(actor="staff:supervisor2")),
        ("kind finished (frequent)", page(kind=Kind.FINISHED)),
        ("staff supervisor1 + kind finished", page(actor="staff:supervisor1", kind=Kind.FINISHED)),
        ("kind day_closed (rare)", page(kind=Kind.DAY_CLOSED)),
        ("kind hours_changed (none)", page(kind=Kind.HOURS_CHANGED)),
        ("staff agent3 + kind day_closed", page(actor="staff:agent3", kind=Kind.DAY_CLOSED)),
    ]


def appends(db: Database, centre: Centre, count: int) -> float:
    """Mean milliseconds per append_event, one committed transaction each."""
    centre_id, code = centre.id, centre.code
    assert centre_id is not None
    began = time.perf_counter()
    for i in range(count):
        with Session(db.engine) as session:
            append_event(
                session,
                centre_id=centre_id,
                centre_code=code,
                type=Kind.COUNTER_PAUSED.value,
                actor=f"staff:agent{1 + i % 12}",
                at=datetime.now(UTC),
                data={"counter": 1},
            )
            session.commit()
    return (time.perf_counter() - began) * 1000 / count


def set_indexes(db: Database, *, present: bool) -> None:
    """Creates the two audit indexes (then refreshes the planner's statistics) or drops them."""
    with db.engine.begin() as connection:
        for name, columns in INDEXES.items():
            connection.exec_driver_sql(
                f"CREATE INDEX {name} ON event {columns}" if present else f"DROP INDEX {name}"
            )
        if present:
            connection.exec_driver_sql("ANALYZE event")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-day", type=int, default=2500)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--appends", type=int, default=1000, help="appends a round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with database("postgresql", Path()) as url:
        db = Database(url)
        schema.upgrade(db)
        now = datetime.now(UTC)
        with Session(db.engine) as session:
            seed_demo(session, now=now)
            session.commit()
        set_indexes(db, present=False)
        began = time.perf_counter()
        total = generate(db, per_day=args.per_day, days=args.days, now=now)
        print(
            f"{total:,} events ({args.per_day * args.days:,} at each centre)"
            f" in {time.perf_counter() - began:.0f} s"
        )
        with Session(db.engine) as session:
            centre = session.exec(select(Centre).where(Centre.code == CENTRE)).one()
            session.expunge(centre)
        last = LastStatement(db)
        half_year_back = (now - timedelta(days=args.days // 2)).date()
        before = [measure(db, last, run) for _, run in searches(centre, half_year_back)]

        began = time.perf_counter()
        set_indexes(db, present=True)
        built = time.perf_counter() - began
        after = [measure(db, last, run) for _, run in searches(centre, half_year_back)]
        with db.engine.connect() as connection:
            sizes = connection.exec_driver_sql(
                "SELECT relname, pg_size_pretty(pg_relation_size(oid)) FROM pg_class "
                "WHERE relname IN ('event', 'ix_event_centre_at', 'ix_event_centre_actor_seq', "
                "'ix_event_centre_type_seq') ORDER BY relname"
            ).all()
        appends(db, centre, 100)  # warms the connection pool and the log's pages, not measured
        # Rounds without and with the indexes, in turn: the machine's drift falls on both.
        without: list[float] = []
        with_them: list[float] = []
        for _ in range(args.rounds):
            set_indexes(db, present=False)
            without.append(appends(db, centre, args.appends))
            set_indexes(db, present=True)
            with_them.append(appends(db, centre, args.appends))
        db.engine.dispose()

    header = ["search at " + CENTRE, "rows", "before ms", "before SQL ms", "before reads"]
    header += ["after ms", "after SQL ms", "after reads"]
    rows = []
    for (name, _), (ms, count, sql, plan), (ms_after, _, sql_after, plan_after) in zip(
        searches(centre, half_year_back), before, after, strict=True
    ):
        rows.append([name, str(count), f"{ms:.1f}", f"{sql:.1f}", plan])
        rows[-1] += [f"{ms_after:.1f}", f"{sql_after:.1f}", plan_after]
    print(markdown(header, rows))
    print()
    baseline = statistics.median(without)
    print(
        markdown(
            [f"append_event at {CENTRE}, one commit each", "ms per append, each round", "median", "ratio"],
            [
                [
                    name,
                    " ".join(f"{ms:.2f}" for ms in times),
                    f"{statistics.median(times):.2f}",
                    f"{statistics.median(times) / baseline:.2f}",
                ]
                for name, times in (("without the 2 audit indexes", without), ("with them", with_them))
            ],
        )
    )
    print()
    print(f"both indexes built in {built:.0f} s; sizes: " + ", ".join(f"{n} {s}" for n, s in sizes))


if __name__ == "__main__":
    main()
