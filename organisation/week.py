"""A centre's week of opening hours as people write it (the demo's TOML files, the hours screen and
its API): for each weekday, none, one or two spans of local time like ["08:00", "14:00"]. One model
validates both, and what it refuses is said in words the catalogues translate, the location naming
the day and the span (`week.sun.1.0` in the API, `hours.sun.1.0` in a file)."""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated

from pydantic import AfterValidator, Field

from config.i18n import N_
from config.schemas import Strict
from organisation.models import WEEKDAYS

# A working day with a break is two spans; the screen edits that many, and the slot engine treats
# the gap between them as the break (booking/slots.py).
MAX_SPANS = 2
# People may type Arabic-Indic (or Persian) digits (shared/API.md); times are kept in ASCII.
_ASCII_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def _clock_time(typed: str) -> str:
    value = typed.strip().translate(_ASCII_DIGITS)
    digits = value[:2] + value[3:]
    if len(value) != 5 or value[2] != ":" or not (digits.isascii() and digits.isdigit()):
        raise ValueError(N_("must be a time like 08:00"))
    if int(value[:2]) > 23 or int(value[3:]) > 59:
        raise ValueError(N_("must be a time like 08:00"))
    return value


def _ordered(span: tuple[str, str]) -> tuple[str, str]:
    if span[0] >= span[1]:  # "HH:MM" sorts as the times do
        raise ValueError(N_("an opening span starts before it ends, like 08:00 to 14:00"))
    return span


def _apart(spans: list[tuple[str, str]]) -> list[tuple[str, str]]:
    ordered = sorted(spans)
    if any(later[0] < earlier[1] for earlier, later in pairwise(ordered)):
        raise ValueError(N_("a day's opening spans must not overlap"))
    return ordered


ClockTime = Annotated[str, AfterValidator(_clock_time)]
Span = Annotated[tuple[ClockTime, ClockTime], AfterValidator(_ordered)]
DaySpans = Annotated[
    list[Span],
    Field(max_length=MAX_SPANS, description="the day's opening spans, local time; none: closed"),
    AfterValidator(_apart),
]


class Week(Strict):
    """The opening spans of each weekday; a day left out is closed."""

    mon: DaySpans = Field(default_factory=list)
    tue: DaySpans = Field(default_factory=list)
    wed: DaySpans = Field(default_factory=list)
    thu: DaySpans = Field(default_factory=list)
    fri: DaySpans = Field(default_factory=list)
    sat: DaySpans = Field(default_factory=list)
    sun: DaySpans = Field(default_factory=list)

    def opening_hours(self) -> dict[str, list[list[str]]]:
        """The week as a centre keeps it (`Centre.opening_hours`): its open days, spans in order."""
        return {day: [list(span) for span in getattr(self, day)] for day in WEEKDAYS if getattr(self, day)}
