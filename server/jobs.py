"""The periodic jobs of a Dor process (APScheduler 3, in a background thread). Each claims its work
in the database, so running them in every process is safe."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from config.clock import Clock
from config.db import Database
from config.settings import Settings
from sms_gateway.backends import SmsBackend
from sms_gateway.outbox import RetryPolicy, drain

log = logging.getLogger(__name__)


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.sms_max_attempts,
        base_s=settings.sms_retry_base_s,
        cap_s=settings.sms_retry_cap_s,
    )


def start_jobs(
    *, settings: Settings, database: Database, sms: SmsBackend, clock: Clock
) -> BackgroundScheduler:
    """Starts the scheduler with the SMS outbox drain every `sms_drain_interval_s`."""
    retry = retry_policy(settings)

    def drain_outbox() -> None:
        drain(database, sms, clock=clock, retry=retry, base_url=settings.base_url, secret=settings.secret)

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        drain_outbox,
        "interval",
        seconds=settings.sms_drain_interval_s,
        id="sms-outbox-drain",
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    log.info("jobs started: SMS outbox drain every %s s through %s", settings.sms_drain_interval_s, sms.name)
    return scheduler
