"""Imports every package's tables so that SQLModel.metadata holds the whole schema."""

from booking import models as booking_models
from config import ticks as job_ticks
from queueing import models as queueing_models
from sms_gateway import models as sms_models

__all__ = ["booking_models", "job_ticks", "queueing_models", "sms_models"]
