"""The periodic jobs of a Dor process (APScheduler 3, in a background thread). Every process
schedules every job; each run first claims its tick in the database (config/ticks.py), so a job runs
once per tick however many processes run, and goes on when one of them dies. The work itself is also
claimed row by row (outbox claims, conditional updates), so even an overlap would do no harm."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from booking.appointments import national_rules
from booking.draw_results import run_due_draws
from booking.upkeep import erase_personal_data, mark_no_shows, send_reminders
from booking.waiting_list import offer_freed_places
from config import idempotency, throttle
from config.clock import Clock
from config.db import Database
from config.metrics import JOB_FAILURES, JOB_RUNS
from config.settings import Settings
from config.ticks import KEEP_RUNS, claim_tick, forget_runs
from queueing.day_close import close_past_days
from scheduling.balancer import balance_all
from scheduling.balancing import BalanceRules
from server.audit_cli import heads_file
from sms_gateway.backends import SmsBackend
from sms_gateway.outbox import RetryPolicy, drain
from supervision.audit import export_heads

log = logging.getLogger(__name__)
UPKEEP_INTERVAL_S = 300  # reminders and no-shows
DAY_CLOSE_INTERVAL_S = 300  # yesterday's queue is closed within 5 minutes of local midnight
DRAWS_INTERVAL_S = 60  # a draw runs within a minute of its close; freed places are offered as fast
RETENTION_INTERVAL_S = 3600
AUDIT_HEADS_INTERVAL_S = 86400  # the chain heads, to a file that is meant to be copied elsewhere


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.sms_max_attempts,
        base_s=settings.sms_retry_base_s,
        cap_s=settings.sms_retry_cap_s,
    )


def balance_rules(settings: Settings) -> BalanceRules:
    return BalanceRules(
        boost_above_s=settings.balance_boost_above_s, release_below_s=settings.balance_release_below_s
    )


def once_per_tick(
    database: Database, clock: Clock, holder: str, name: str, interval_s: float, job: Callable[[], None]
) -> Callable[[], None]:
    """`job`, run only by the process that claims the current tick."""

    def run() -> None:
        with database.write() as session:
            claimed = claim_tick(session, name=name, interval_s=interval_s, holder=holder, now=clock())
        if claimed:
            JOB_RUNS.labels(job=name).inc()
            try:
                job()
            except Exception:
                JOB_FAILURES.labels(job=name).inc()
                raise

    return run


def start_jobs(
    *, settings: Settings, database: Database, sms: SmsBackend, clock: Clock
) -> BackgroundScheduler:
    """Starts the scheduler with the SMS outbox drain every `sms_drain_interval_s`."""
    retry = retry_policy(settings)

    def drain_outbox() -> None:
        drain(database, sms, clock=clock, retry=retry, base_url=settings.base_url, secret=settings.secret)

    # A centre node marks its centre's no-shows; reminders and draws are the central's (bookings are).
    node = settings.role == "node"

    def booking_upkeep() -> None:
        with database.write() as session:
            now = clock()
            mark_no_shows(session, now=now, grace=timedelta(seconds=settings.checkin_late_s))
            if not node:
                send_reminders(session, now=now, base_url=settings.base_url)

    def draws() -> None:
        now, booking = clock(), national_rules(settings)
        run_due_draws(database, rules=booking, base_url=settings.base_url, now=now)
        offer_freed_places(database, rules=booking, base_url=settings.base_url, now=now)

    def day_close() -> None:
        with database.write() as session:
            close_past_days(session, now=clock())

    def retention() -> None:
        with database.write() as session:
            now = clock()
            erase_personal_data(session, now=now, retention=timedelta(days=settings.retention_days))
            forget_runs(session, before=now - KEEP_RUNS)
            idempotency.forget(session, before=now - idempotency.KEEP)
            throttle.forget(
                session, before=now - max(throttle.KEEP, timedelta(seconds=settings.login_window_s))
            )

    def balance_counters() -> None:
        with database.write() as session:
            balance_all(session, rules=rules, now=clock())

    def audit_heads() -> None:
        with database.read() as session:
            export_heads(session, path=heads_file(settings), now=clock())

    rules = balance_rules(settings)
    scheduler = BackgroundScheduler(timezone="UTC")
    jobs = (
        (drain_outbox, settings.sms_drain_interval_s, "sms-outbox-drain"),
        (booking_upkeep, UPKEEP_INTERVAL_S, "booking-upkeep"),
        (draws, DRAWS_INTERVAL_S, "draws"),
        (day_close, DAY_CLOSE_INTERVAL_S, "day-close"),
        (balance_counters, settings.balance_interval_s, "counter-balance"),
        # Hourly, so that a process restarted every night still runs it; erasing twice is harmless.
        (retention, RETENTION_INTERVAL_S, "retention"),
        (audit_heads, AUDIT_HEADS_INTERVAL_S, "audit-heads"),
    )
    holder = f"{socket.gethostname()}:{os.getpid()}"
    for job, interval_s, name in jobs:
        if node and job is draws:
            continue
        scheduler.add_job(
            once_per_tick(database, clock, holder, name, interval_s, job),
            "interval",
            seconds=interval_s,
            id=name,
            max_instances=1,
            coalesce=True,
            # A process started just before opening closes yesterday's queue before the first call.
            **({"next_run_time": datetime.now(UTC)} if name == "day-close" else {}),
        )
    scheduler.start()
    log.info("jobs started: SMS outbox drain every %s s through %s", settings.sms_drain_interval_s, sms.name)
    return scheduler
