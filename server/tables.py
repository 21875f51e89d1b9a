"""Imports every package's tables so that SQLModel.metadata holds the whole schema."""

from booking import models as booking_models
from config import idempotency, throttle
from config import ticks as job_ticks
from eventlog import models as eventlog_models
from identity import models as identity_models
from node import models as node_models
from organisation import models as organisation_models
from queueing import models as queueing_models
from sms_gateway import models as sms_models

__all__ = [
    "booking_models",
    "eventlog_models",
    "idempotency",
    "identity_models",
    "job_ticks",
    "node_models",
    "organisation_models",
    "queueing_models",
    "sms_models",
    "throttle",
]
