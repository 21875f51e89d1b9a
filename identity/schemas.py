"""The public shapes of phone verification, as shared/API.md defines them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from config.schemas import Strict


class OtpIn(Strict):
    """POST /api/v1/otp"""

    phone: str = Field(min_length=1, max_length=32, description="any usual form; Arabic-Indic digits too")
    purpose: Literal["booking", "remote_ticket", "draw"]
    language: Literal["ar", "en"] = "ar"
    centre: str | None = Field(
        default=None, max_length=16, description="the centre the code is for, if known (its SMS budget)"
    )


class OtpOut(BaseModel):
    status: Literal["queued"]
    expires_in_s: int
