"""Scenario files (config/scenarios/*.toml): what a simulated centre looks like, checked before a run."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Sequence
from datetime import datetime, time
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

NonNegative = Annotated[float, Field(ge=0)]
HH_MM = r"^([01]\d|2[0-3]):[0-5]\d$"


class ScenarioError(Exception):
    """A scenario file is malformed or describes a queue that never settles; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServiceSpec(_Strict):
    code: str = Field(pattern=r"^[A-Z]{2,8}$")
    prefix: str | None = Field(default=None, pattern=r"^[A-Z]$")
    mean_service_s: float = Field(gt=0)
    # Coefficient of variation of the service time (standard deviation / mean).
    cv: float = Field(default=0.6, ge=0)
    distribution: Literal["lognormal", "exponential"] = "lognormal"
    # Walk-ins per hour, hour by hour from opening; a single value holds all day.
    walk_ins_per_hour: list[NonNegative] = Field(min_length=1)
    # Booked appointments per hour, hour by hour from opening (one value: all day).
    appointments_per_hour: list[NonNegative] = [0.0]
    # Share of walk-ins in a priority class (elderly, disabled, pregnant), who get a head start.
    priority_share: float = Field(default=0.0, ge=0, le=1)


class CounterSpec(_Strict):
    count: int = Field(default=1, ge=1)
    services: dict[str, Annotated[float, Field(gt=0)]] = Field(min_length=1)
    # Breaks, centre-local ["10:30", "10:45"]: the counter pauses when its citizen in hand is done.
    breaks: list[tuple[str, str]] = []

    @field_validator("breaks")
    @classmethod
    def _spans(cls, breaks: list[tuple[str, str]]) -> list[tuple[str, str]]:
        for start, end in breaks:
            if not (re.match(HH_MM, start) and re.match(HH_MM, end)) or start >= end:
                raise ValueError(f"{[start, end]} is not a break like ['10:30', '10:45']")
        return breaks


class DaySpec(_Strict):
    date: dt.date = dt.date(2026, 11, 29)  # a Sunday: the centres work Sunday to Thursday
    timezone: str = "Asia/Damascus"
    opens: str = Field(pattern=HH_MM)
    closes: str = Field(pattern=HH_MM)  # walk-in intake stops; everyone in the hall is still served


class StationarySpec(_Strict):
    citizens: int = Field(ge=1)
    warm_up: int = Field(ge=0)  # the first citizens, whose waits start from an empty hall, not counted


class AppointmentSpec(_Strict):
    no_show_share: float = Field(default=0.3, ge=0, le=1)
    early_min: float = Field(default=10, ge=0)  # citizens arrive up to this early, uniformly


class Scenario(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    # The scenario says its queue settles: an offered load of 100% or more is refused before a run.
    stable: bool = False
    walk_s: float = Field(default=0, ge=0)  # from the call to the citizen reaching the counter
    day: DaySpec | None = None
    stationary: StationarySpec | None = None
    appointments: AppointmentSpec = AppointmentSpec()
    service: list[ServiceSpec] = Field(min_length=1)
    counter: list[CounterSpec] = Field(min_length=1)

    def hours(self) -> int:
        """Hours of intake from opening (the length of a full rate profile); 0 when stationary."""
        if self.day is None:
            return 0
        opens, closes = (datetime.strptime(t, "%H:%M") for t in (self.day.opens, self.day.closes))
        return -(-int((closes - opens).total_seconds()) // 3600)

    def counters(self) -> int:
        """How many counters the centre has."""
        return sum(spec.count for spec in self.counter)


def rate_at(rates: Sequence[float], hour: int) -> float:
    """The rate of an hourly profile in hour `hour` from opening (one value holds all day)."""
    return rates[0] if len(rates) == 1 else rates[hour]


def offered_loads(scenario: Scenario) -> list[float]:
    """Per hour of intake (one value when stationary): the offered load as a share of all counters."""
    hours = max(scenario.hours(), 1)
    return [
        sum(
            (rate_at(s.walk_ins_per_hour, h) + rate_at(s.appointments_per_hour, h)) * s.mean_service_s / 3600
            for s in scenario.service
        )
        / scenario.counters()
        for h in range(hours)
    ]


def load_scenario(path: Path) -> Scenario:
    """The scenario in this file, or ScenarioError naming the file, the line and the key at fault."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ScenarioError(_where(path, text, error["loc"]) + f": {error['msg']}") from None
    found = problems(scenario)
    if found:
        loc, message = found[0]
        raise ScenarioError(_where(path, text, loc) + f": {message}")
    return scenario


def problems(scenario: Scenario) -> list[tuple[tuple[str | int, ...], str]]:
    """What is wrong across the keys of a well-typed scenario: (where, what), first problem first."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    if (scenario.day is None) == (scenario.stationary is None):
        found.append(((), "give exactly one of [day] (a working day) or [stationary] (a long steady run)"))
        return found
    codes = [s.code for s in scenario.service]
    if len(set(codes)) != len(codes):
        found.append((("service",), f"service codes repeat: {codes}"))
    hours = scenario.hours()
    for index, spec in enumerate(scenario.service):
        if spec.distribution == "exponential" and spec.cv != 1:
            found.append((("service", index, "cv"), "an exponential service time has cv = 1"))
        for key in ("walk_ins_per_hour", "appointments_per_hour"):
            rates: list[float] = getattr(spec, key)
            if scenario.stationary is not None and len(rates) != 1:
                found.append((("service", index, key), "a stationary run takes one constant rate"))
            elif scenario.day is not None and len(rates) not in (1, hours):
                found.append((("service", index, key), f"give 1 value or one per hour of intake ({hours})"))
        if scenario.stationary is not None and any(spec.appointments_per_hour):
            found.append((("service", index, "appointments_per_hour"), "a stationary run has no bookings"))
    for index, counter in enumerate(scenario.counter):
        for code in counter.services:
            if code not in codes:
                found.append((("counter", index, "services", code), f"unknown service {code}"))
        if counter.breaks and scenario.day is None:
            found.append((("counter", index, "breaks"), "breaks belong to a [day] scenario"))
    if scenario.stationary is not None and scenario.stationary.warm_up >= scenario.stationary.citizens:
        found.append((("stationary", "warm_up"), "the warm-up must be shorter than the run"))
    if found:
        return found
    if scenario.stable or scenario.stationary is not None:
        found.extend(_instability(scenario))
    return found


def _instability(scenario: Scenario) -> list[tuple[tuple[str | int, ...], str]]:
    # Necessary conditions only: the whole centre, and each service on the counters that serve it, at
    # full weight. Counters shared by several services can still be overloaded together.
    for hour, load in enumerate(offered_loads(scenario)):
        if load >= 1:
            when = f" in hour {hour + 1} of intake" if scenario.day is not None else ""
            return [
                (
                    ("service",),
                    f"offered load is {load:.0%} of {scenario.counters()} counters{when}; "
                    "a scenario with stable = true (or [stationary]) needs less than 100%",
                )
            ]
    for index, spec in enumerate(scenario.service):
        serving = sum(c.count for c in scenario.counter if spec.code in c.services)
        for hour in range(max(scenario.hours(), 1)):
            work = (
                (rate_at(spec.walk_ins_per_hour, hour) + rate_at(spec.appointments_per_hour, hour))
                * spec.mean_service_s
                / 3600
            )
            if work >= serving:
                return [
                    (
                        ("service", index, "walk_ins_per_hour"),
                        f"{spec.code} needs {work:.2f} counters but {serving} serve it; "
                        "its queue grows without end",
                    )
                ]
    return []


def _where(path: Path, text: str, loc: Sequence[str | int]) -> str:
    """'file line N, key.path' for a pydantic-style location, found by reading the TOML text."""
    keys = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
    line = _line_of(text, loc)
    at = f" line {line}" if line else ""
    return f"{path}{at}, {keys}" if keys else f"{path}{at}"


def _line_of(text: str, loc: Sequence[str | int]) -> int | None:
    lines = text.splitlines()
    position, found = 0, None
    parts = list(loc)
    i = 0
    while i < len(parts):
        part = parts[i]
        if not isinstance(part, str):
            i += 1
            continue
        key = re.escape(part)
        nth = parts[i + 1] if i + 1 < len(parts) and isinstance(parts[i + 1], int) else None
        table = re.compile(rf"^\s*\[\[\s*{key}\s*\]\]" if nth is not None else rf"^\s*\[\[?\s*{key}\s*\]")
        headers = [n for n in range(position, len(lines)) if table.match(lines[n])]
        if nth is not None and isinstance(nth, int) and nth < len(headers):
            position = found = headers[nth]
            i += 2
            continue
        if nth is None and headers:
            position = found = headers[0]
        else:
            assignment = re.compile(rf"(^|[\s{{,]){key}\s*=")
            hit = next((n for n in range(position, len(lines)) if assignment.search(lines[n])), None)
            if hit is None:
                break
            position = found = hit
        i += 1
    return None if found is None else found + 1


def local_time(value: str) -> time:
    """'10:30' as a time."""
    return datetime.strptime(value, "%H:%M").time()
