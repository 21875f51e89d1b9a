"""The public shapes of supervisors' controls."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from config.schemas import Strict


class IntakeIn(Strict):
    open: bool


class IntakeOut(BaseModel):
    centre: str
    service: str
    intake_open: bool


class DayUsageOut(BaseModel):
    day: date
    messages: int
    segments: int
    delivered: int
    failed: int
