"""This process's Prometheus metrics (prometheus-client), served at /metrics (server/metrics.py).

Each `dor serve` process counts for itself; Prometheus scrapes every process and sums. Labels are
centre and service codes, channels and job names: nothing about a person.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

TICKETS_ISSUED = Counter(
    "dor_tickets_issued", "Tickets issued", ["centre", "service", "channel"], registry=REGISTRY
)
TICKETS_CALLED = Counter(
    "dor_tickets_called", "First calls of tickets", ["centre", "service"], registry=REGISTRY
)
WAIT_SECONDS = Histogram(
    "dor_ticket_wait_seconds",
    "From arrival to the first call",
    ["centre", "service"],
    buckets=(60, 300, 600, 1200, 1800, 2700, 3600, 5400, 7200),
    registry=REGISTRY,
)
WEBSOCKETS_OPEN = Gauge("dor_websockets_open", "Open websockets", ["kind"], registry=REGISTRY)
SMS_BACKLOG = Gauge(
    "dor_sms_outbox_backlog", "SMS waiting to be sent (read at each scrape)", registry=REGISTRY
)
JOB_RUNS = Counter("dor_job_runs", "Scheduler job runs by this process", ["job"], registry=REGISTRY)
JOB_FAILURES = Counter("dor_job_failures", "Scheduler job runs that raised", ["job"], registry=REGISTRY)
BUS_UP = Gauge("dor_bus_up", "1 when the bus answers a ping (read at each scrape), else 0", registry=REGISTRY)
BUS_PUBLISH_FAILURES = Counter(
    "dor_bus_publish_failures",
    "Events not rung on the bus (timeout, error, or dropped with the queue full); screens read the log",
    ["reason"],
    registry=REGISTRY,
)
SLOT_LISTINGS = Counter(
    "dor_slot_listings",
    "Slot listings answered from a snapshot of this process or computed from the database",
    ["answer"],
    registry=REGISTRY,
)
