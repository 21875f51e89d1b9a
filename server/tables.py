"""Imports every package's tables so that SQLModel.metadata holds the whole schema."""

from queueing import models as queueing_models

__all__ = ["queueing_models"]
