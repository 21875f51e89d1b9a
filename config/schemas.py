"""Request shapes shared by every package: strict bodies, and the days and instants a request may name."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """Base of request bodies: unknown fields are an error, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")


# The days and instants a request may name. Python's dates end at years 1 and 9999, and a day near
# either end overflows once the code goes a day, a week or a time-zone offset beyond it (500s that
# were found: `9999-12-31T23:59:59-14:00`, `from=0001-01-01`). Nothing Dor keeps is near these bounds.
FIRST_DAY = date(1900, 1, 1)


LAST_DAY = date(2999, 12, 31)


Day = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]


Instant = Annotated[
    AwareDatetime,
    Field(ge=datetime(1900, 1, 1, tzinfo=UTC), le=datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)),
]


class UsageQuery(Strict):
    from_: Day = Field(alias="from")
    to: Day
